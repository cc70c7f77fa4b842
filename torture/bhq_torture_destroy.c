// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_torture lifetime mode "destroy": contexts destroyed while schedules
 * of their BHs are still returning (rules (1) and (2) of include/linux/bhq.h).
 * Documentation/torture.rst describes it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include <linux/bhq.h>
#include "bhq_torture_lifetime.h"

/* BHs per scheduler and round. */
#define BHQT_DESTROY_BHS_PER_WORKER	3
/* Length of a round's free run, in ms. */
#define BHQT_DESTROY_RUN_MS		4

/* ---- destroy: contexts destroyed under returning schedules ---- */

struct bhqt_destroy_round;

/**
 * struct bhqt_destroy_bh - a BH of a destroy round
 * @bh: the bhq BH
 * @r: its round
 * @w: its scheduler, the only one to schedule it
 * @intents: schedules announced (its scheduler writes)
 * @runs: callbacks started
 * @shot: the SHOT schedules it
 */
struct bhqt_destroy_bh {
	struct bhq_bh *bh;
	struct bhqt_destroy_round *r;
	struct bhqt_worker *w;
	unsigned int intents;
	atomic_t runs;
	bool shot;
};

/**
 * struct bhqt_destroy_round - one destroy round
 * @ctx: its context
 * @manual: polled by bhqt_destroy.poller, not by a thread
 * @bhs: BHQT_DESTROY_BHS_PER_WORKER per worker
 * @nr_bhs: entries in @bhs
 * @gate: the BH that keeps a threaded context's thread polling
 * @gate_open: the gate keeps polling
 * @gate_in: the gate's callback started
 * @oneshots_made: oneshots scheduled
 * @oneshots_ran: their callbacks
 * @destroyed: bhq_ctx_destroy() returned
 */
struct bhqt_destroy_round {
	struct bhq_ctx *ctx;
	bool manual;
	struct bhqt_destroy_bh *bhs;
	unsigned int nr_bhs;
	struct bhq_bh *gate;
	bool gate_open;
	bool gate_in;
	atomic_t oneshots_made;
	atomic_t oneshots_ran;
	bool destroyed;
};

/**
 * struct bhqt_destroy_mode - the destroy mode
 * @crew: the schedulers
 * @control: the thread that makes the rounds
 * @poller: polls the manual rounds' contexts
 * @round: the current round, for the crew
 * @prev: the previous round, freed one round late: a callback that runs
 *	after its context's destroy finds it and reports
 * @ewma_us: time from a delayed shot to the end of the destroy, averaged
 * @stuck: a wait timed out; the mode stopped, its round is leaked
 */
struct bhqt_destroy_mode {
	struct bhqt_crew crew;
	struct task_struct *control;
	struct bhqt_poller poller;
	struct bhqt_destroy_round *round;
	struct bhqt_destroy_round *prev;
	unsigned int ewma_us;
	bool stuck;
};

static struct bhqt_destroy_mode bhqt_destroy;

/* Callbacks started for every schedule announced? */
static bool bhqt_destroy_all_ran(struct bhqt_destroy_round *r)
{
	unsigned int i;

	for (i = 0; i < r->nr_bhs; i++) {
		if (atomic_read(&r->bhs[i].runs) != READ_ONCE(r->bhs[i].intents))
			return false;
	}
	return true;
}

static bool bhqt_destroy_all_last(void)
{
	unsigned int i;

	for (i = 0; i < bhqt_destroy.crew.nr_workers; i++) {
		/* Pairs with bhqt_destroy_serve(): the shot's count is visible. */
		if (!smp_load_acquire(&bhqt_destroy.crew.workers[i].shot_announced))
			return false;
	}
	return true;
}

static void bhqt_destroy_check_destroyed(struct bhqt_destroy_round *r, const char *what)
{
	bhqt_life_inc(BHQT_LIFE_CHECKS);
	if (READ_ONCE(r->destroyed))
		bhqt_life_violation(BHQT_LIFE_V_AFTER_DESTROY,
				    "destroy: %s ran after bhq_ctx_destroy() returned",
				    what);
}

/*
 * A schedule happens before its callback (as for queue_work()), so the
 * announced count, written before the schedule, covers this run.
 */
static void bhqt_destroy_fn(void *opaque)
{
	struct bhqt_destroy_bh *b = opaque;
	int runs = atomic_inc_return(&b->runs);

	bhqt_life_inc(BHQT_DESTROY_RUNS);
	bhqt_destroy_check_destroyed(b->r, "a BH");
	bhqt_life_inc(BHQT_LIFE_CHECKS);
	if (runs > READ_ONCE(b->intents))
		bhqt_life_violation(BHQT_LIFE_V_SPURIOUS,
				    "destroy: BH of scheduler %u ran %d times for %u schedules",
				    b->w->idx, runs, READ_ONCE(b->intents));
	if (READ_ONCE(b->shot) && !READ_ONCE(b->w->shot_returned))
		bhqt_life_inc(BHQT_DESTROY_RAN_BEFORE_RETURN);
}

static void bhqt_destroy_oneshot_fn(void *opaque)
{
	struct bhqt_destroy_round *r = opaque;

	bhqt_destroy_check_destroyed(r, "a oneshot");
	atomic_inc(&r->oneshots_ran);
}

/*
 * Keep the thread polling (nested) while the shot's schedules wait in
 * their delay: their own wakeups come only after it.  Scheduling nothing
 * itself, the gate is not delayed.
 */
static void bhqt_destroy_gate_fn(void *opaque)
{
	struct bhqt_destroy_round *r = opaque;
	unsigned long end = jiffies + bhqt_stall_jiffies();

	WRITE_ONCE(r->gate_in, true);
	while (READ_ONCE(r->gate_open) && time_before(jiffies, end)) {
		bhq_poll(r->ctx);
		cond_resched();
	}
}

/* An unarmed BH of @w (its callback started for its last schedule). */
static struct bhqt_destroy_bh *bhqt_destroy_pick(struct bhqt_destroy_round *r,
						 struct bhqt_worker *w, u32 rnd)
{
	unsigned int i;

	for (i = 0; i < BHQT_DESTROY_BHS_PER_WORKER; i++) {
		unsigned int k = (rnd + i) % BHQT_DESTROY_BHS_PER_WORKER;
		struct bhqt_destroy_bh *b;

		b = &r->bhs[w->idx * BHQT_DESTROY_BHS_PER_WORKER + k];

		/* Pairs with the increment: the dequeue came before it. */
		if (atomic_read_acquire(&b->runs) == b->intents)
			return b;
	}
	return NULL;
}

static void bhqt_destroy_schedule(struct bhqt_destroy_bh *b, bool idle)
{
	if (idle)
		bhq_bh_schedule_idle(b->bh);
	else
		bhq_bh_schedule(b->bh);
	bhqt_life_inc(BHQT_LIFE_OPS);
	bhqt_life_inc(b->w->hardirq ? BHQT_DESTROY_IRQ_SCHEDULES : BHQT_DESTROY_SCHEDULES);
}

/* A oneshot from @w, or from the control thread (NULL). */
static void bhqt_destroy_oneshot(struct bhqt_destroy_round *r, struct bhqt_worker *w)
{
	/* No allocation in hard interrupt context on PREEMPT_RT. */
	if (IS_ENABLED(CONFIG_PREEMPT_RT) && w && w->hardirq)
		return;
	atomic_inc(&r->oneshots_made);
	if (bhq_schedule_oneshot(r->ctx, bhqt_destroy_oneshot_fn, r,
				 w && w->hardirq ? GFP_ATOMIC : GFP_KERNEL)) {
		atomic_dec(&r->oneshots_made);
		bhqt_life_inc(BHQT_LIFE_ALLOC_FAILURES);
		return;
	}
	bhqt_life_inc(BHQT_LIFE_OPS);
	bhqt_life_inc(BHQT_DESTROY_ONESHOTS);
}

/*
 * RUN: schedule an unarmed BH or make a oneshot, unless the load is held
 * off.  SHOT: announce the last schedule (the control thread then waits
 * for its callback), make it, and say when it returned: by then the
 * context may be gone.
 */
static bool bhqt_destroy_serve(struct bhqt_worker *w, enum bhqt_cmd cmd)
{
	struct bhqt_destroy_round *r = READ_ONCE(bhqt_destroy.round);
	u32 rnd = prandom_u32_state(&w->rnd);
	struct bhqt_destroy_bh *b = bhqt_destroy_pick(r, w, rnd);

	if (cmd == BHQT_CMD_RUN) {
		if (bhqt_held())
			return true;
		if (rnd % 8 == 0) {
			bhqt_destroy_oneshot(r, w);
		} else if (b) {
			WRITE_ONCE(b->intents, b->intents + 1);
			bhqt_destroy_schedule(b, rnd & 0x100);
		}
		return true;
	}
	if (!bhqt_crew_fires(w))
		b = NULL;
	if (b) {
		WRITE_ONCE(b->shot, true);
		WRITE_ONCE(b->intents, b->intents + 1);
	}
	/* Pairs with bhqt_destroy_all_last(): the count is visible before. */
	smp_store_release(&w->shot_announced, true);
	if (b)
		bhqt_destroy_schedule(b, rnd & 0x100);
	WRITE_ONCE(w->shot_returned, true);
	return true;
}

static void bhqt_destroy_round_free(struct bhqt_destroy_round *r)
{
	if (r)
		kfree(r->bhs);
	kfree(r);
}

/* Delete the BHs of a round whose context could not be made. */
static void bhqt_destroy_round_abort(struct bhqt_destroy_round *r)
{
	unsigned int i;

	for (i = 0; i < r->nr_bhs; i++)
		bhq_bh_delete(r->bhs[i].bh);
	bhq_bh_delete(r->gate);
	bhq_ctx_destroy(r->ctx);
	bhqt_destroy_round_free(r);
}

static struct bhqt_destroy_round *bhqt_destroy_round_new(bool manual)
{
	struct bhqt_destroy_round *r = kzalloc(sizeof(*r), GFP_KERNEL);
	unsigned int i;

	if (!r)
		return NULL;
	r->manual = manual;
	r->gate_open = true;
	atomic_set(&r->oneshots_made, 0);
	atomic_set(&r->oneshots_ran, 0);
	r->nr_bhs = bhqt_destroy.crew.nr_workers * BHQT_DESTROY_BHS_PER_WORKER;
	r->bhs = kcalloc(r->nr_bhs, sizeof(*r->bhs), GFP_KERNEL);
	r->ctx = bhq_ctx_create("bhqt-ld", manual ? BHQ_CTX_MANUAL : 0);
	if (IS_ERR(r->ctx)) {
		r->ctx = NULL;
		r->nr_bhs = 0;
		goto fail;
	}
	if (!r->bhs) {
		r->nr_bhs = 0;
		goto fail;
	}
	for (i = 0; i < r->nr_bhs; i++) {
		struct bhqt_destroy_bh *b = &r->bhs[i];

		b->r = r;
		b->w = &bhqt_destroy.crew.workers[i / BHQT_DESTROY_BHS_PER_WORKER];
		atomic_set(&b->runs, 0);
		b->bh = bhq_bh_new(r->ctx, bhqt_destroy_fn, b);
		if (!b->bh)
			goto fail;
	}
	if (!manual) {
		r->gate = bhq_bh_new(r->ctx, bhqt_destroy_gate_fn, r);
		if (!r->gate)
			goto fail;
	}
	return r;
fail:
	bhqt_life_inc(BHQT_LIFE_ALLOC_FAILURES);
	bhqt_destroy_round_abort(r);
	return NULL;
}

/* Each BH ran exactly once per schedule, each oneshot once. */
static void bhqt_destroy_check(struct bhqt_destroy_round *r)
{
	int made = atomic_read(&r->oneshots_made);
	int ran = atomic_read(&r->oneshots_ran);
	unsigned int i;

	for (i = 0; i < r->nr_bhs; i++) {
		struct bhqt_destroy_bh *b = &r->bhs[i];
		int runs = atomic_read(&b->runs);

		bhqt_life_inc(BHQT_LIFE_CHECKS);
		if (runs < b->intents)
			bhqt_life_violation(BHQT_LIFE_V_LOST,
					    "destroy: BH of scheduler %u ran %d times for %u schedules",
					    b->w->idx, runs, b->intents);
		else if (runs > b->intents)
			bhqt_life_violation(BHQT_LIFE_V_SPURIOUS,
					    "destroy: BH of scheduler %u ran %d times for %u schedules",
					    b->w->idx, runs, b->intents);
	}
	bhqt_life_inc(BHQT_LIFE_CHECKS);
	if (ran != made)
		bhqt_life_violation(BHQT_LIFE_V_LOST,
				    "destroy: %d of %d oneshots ran before the destroy returned",
				    ran, made);
}

/*
 * The callbacks of every schedule have started: delete the BHs and
 * destroy the context at once, while the shot's schedules may still be
 * returning (counted before and after).  A few oneshots go first: they
 * are likely still pending at the destroy, which must run them (the
 * crew's ran before the shot, in FIFO order).
 */
static void bhqt_destroy_destroy(struct bhqt_destroy_round *r, unsigned int oneshots)
{
	unsigned int i;

	for (i = 0; i < oneshots; i++)
		bhqt_destroy_oneshot(r, NULL);
	bhqt_life_add(BHQT_DESTROY_RETURNING, bhqt_crew_returning(&bhqt_destroy.crew));
	bhqt_life_add(BHQT_DESTROY_DRAINED, atomic_read(&r->oneshots_made) -
			     atomic_read(&r->oneshots_ran));
	for (i = 0; i < r->nr_bhs; i++)
		bhq_bh_delete(r->bhs[i].bh);
	bhq_bh_delete(r->gate);
	bhqt_life_add(BHQT_LIFE_OPS, r->nr_bhs + 1);
	bhq_ctx_destroy(r->ctx);
	/* Orders the destroy's end before the callbacks' check of the flag. */
	smp_store_mb(r->destroyed, true);
	bhqt_life_add(BHQT_DESTROY_OUTLIVED, bhqt_crew_returning(&bhqt_destroy.crew));
}

static void bhqt_destroy_stall(const char *what)
{
	bhqt_life_violation(BHQT_LIFE_V_STALL,
			    "destroy: %s within %u ms; mode stopped, its round leaked",
			    what, bhqt_stall_ms);
	bhqt_destroy.stuck = true;
	bhqt_crew_order(&bhqt_destroy.crew, BHQT_CMD_NONE, -1);
	bhqt_crew_stop_timer(&bhqt_destroy.crew);
}

/*
 * The shot of round @n, then the destroy: false if it got stuck.  A
 * delayed shot is fired by one scheduler (in turn): each one waits the
 * delay out on its CPU, and the gate and we need CPUs meanwhile.
 */
static bool bhqt_destroy_shot(struct bhqt_destroy_round *r, unsigned int n)
{
	unsigned int delay_us;
	bool ran;
	u64 t0;

	/* The gate first, it is not to be delayed. */
	if (!r->manual) {
		bhq_bh_schedule(r->gate);
		if (!bhqt_wait_until(READ_ONCE(r->gate_in))) {
			bhqt_destroy_stall("the gate did not run");
			return false;
		}
	}
	t0 = ktime_get_ns();
	delay_us = bhqt_delay_pick(n, bhqt_destroy.ewma_us);
	if (delay_us)
		bhqt_delay_begin(delay_us);
	bhqt_crew_order(&bhqt_destroy.crew, BHQT_CMD_SHOT,
			delay_us ? (n / 3) % bhqt_destroy.crew.nr_workers : -1);
	ran = bhqt_wait_until(bhqt_destroy_all_last()) &&
	      bhqt_wait_until(bhqt_destroy_all_ran(r));
	if (delay_us)
		bhqt_delay_end();
	WRITE_ONCE(r->gate_open, false);
	if (!ran) {
		bhqt_destroy_stall("a scheduled callback did not run");
		return false;
	}
	if (r->manual && !bhqt_poller_off(&bhqt_destroy.poller)) {
		bhqt_destroy.stuck = true;
		return false;
	}
	bhqt_destroy_destroy(r, n % 4);
	if (delay_us)
		bhqt_ewma(&bhqt_destroy.ewma_us, t0);
	return true;
}

/* One round; false if it got stuck. */
static bool bhqt_destroy_run_round(unsigned int n)
{
	bool manual = n % 4 == 3;
	struct bhqt_destroy_round *r;

	r = bhqt_destroy_round_new(manual);
	if (!r) {
		msleep(20);
		return true;
	}
	bhqt_life_inc(manual ? BHQT_DESTROY_MANUAL_ROUNDS : BHQT_DESTROY_ROUNDS);
	WRITE_ONCE(bhqt_destroy.round, r);
	if (manual)
		bhqt_poller_on(&bhqt_destroy.poller, r->ctx);
	bhqt_crew_order(&bhqt_destroy.crew, BHQT_CMD_RUN, -1);
	usleep_range(1000, BHQT_DESTROY_RUN_MS * 1000);

	if (!bhqt_destroy_shot(r, n))
		return false;
	if (!bhqt_crew_wait(&bhqt_destroy.crew)) {
		bhqt_destroy_stall("a schedule did not return");
		return false;
	}
	bhqt_crew_stop_timer(&bhqt_destroy.crew);
	bhqt_destroy_check(r);
	bhqt_destroy_round_free(bhqt_destroy.prev);
	bhqt_destroy.prev = r;
	return true;
}

static int bhqt_destroy_control_fn(void *unused)
{
	unsigned int n = 0;

	while (!kthread_should_stop()) {
		if (READ_ONCE(bhqt_life.stopping) || bhqt_destroy.stuck ||
		    !bhqt_destroy_run_round(n++))
			schedule_timeout_idle(HZ);
		else
			usleep_range(500, 1000);
	}
	return 0;
}

int bhqt_destroy_init(void)
{
	int err;

	err = bhqt_crew_init(&bhqt_destroy.crew, bhqt_destroy_threads, "bhqt-ld",
			     bhqt_destroy_serve);
	err = err ?: bhqt_poller_init(&bhqt_destroy.poller, "bhqt-ldp");
	if (err)
		return err;
	bhqt_destroy.control = kthread_create(bhqt_destroy_control_fn, NULL, "bhqt-ld");
	if (IS_ERR(bhqt_destroy.control)) {
		bhqt_destroy.control = NULL;
		return -ENOMEM;
	}
	return 0;
}

void bhqt_destroy_start(void)
{
	if (!bhqt_destroy.control)
		return;
	bhqt_crew_start(&bhqt_destroy.crew);
	wake_up_process(bhqt_destroy.poller.task);
	wake_up_process(bhqt_destroy.control);
}

void bhqt_destroy_exit(void)
{
	if (bhqt_destroy.control)
		kthread_stop(bhqt_destroy.control);
	bhqt_destroy.control = NULL;
	bhqt_crew_exit(&bhqt_destroy.crew);
	bhqt_poller_exit(&bhqt_destroy.poller);
	/* A stuck round is leaked: its callbacks may still come. */
	if (!bhqt_destroy.stuck)
		bhqt_destroy_round_free(bhqt_destroy.prev);
	bhqt_destroy.prev = NULL;
}
