// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_torture lifetime mode "selfdel": BHs that delete themselves while
 * their idle schedules are still returning (rule (1) of include/linux/bhq.h).
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

/* BHs per scheduler and batch. */
#define BHQT_SELFDEL_BHS_PER_WORKER	4

/* ---- selfdel: BHs that delete themselves under returning schedules ---- */

struct bhqt_selfdel_batch;

/**
 * struct bhqt_selfdel_bh - a self-deleting BH
 * @bh: the bhq BH, deleted by its own callback
 * @w: its scheduler
 * @runs: callbacks started
 * @shot: scheduled by the SHOT (its worker writes before)
 */
struct bhqt_selfdel_bh {
	struct bhq_bh *bh;
	struct bhqt_worker *w;
	atomic_t runs;
	bool shot;
};

/**
 * struct bhqt_selfdel_batch - one selfdel batch
 * @ctx: its context
 * @manual: @ctx is the manual one
 * @bhs: BHQT_SELFDEL_BHS_PER_WORKER per worker, the first of each for the SHOT if the
 *	worker fires it, else for the REST
 * @nr_bhs: entries in @bhs
 * @gate: polls the threaded context during the shot
 * @gate_in: the gate's callback started
 * @gate_done: the gate's callback is done
 */
struct bhqt_selfdel_batch {
	struct bhq_ctx *ctx;
	bool manual;
	struct bhqt_selfdel_bh *bhs;
	unsigned int nr_bhs;
	struct bhq_bh *gate;
	bool gate_in;
	bool gate_done;
};

/**
 * struct bhqt_selfdel_mode - the selfdel mode
 * @crew: the schedulers
 * @control: the thread that makes the batches
 * @poller: polls the manual context during its batches
 * @ctx: the threaded and the manual context
 * @live: their live counts at creation
 * @batch: the current batch, for the crew
 * @ewma_us: time from a delayed shot to its frees, averaged
 * @stuck: a wait timed out; the mode stopped, its batch is leaked
 */
struct bhqt_selfdel_mode {
	struct bhqt_crew crew;
	struct task_struct *control;
	struct bhqt_poller poller;
	struct bhq_ctx *ctx[2];
	u64 live[2];
	struct bhqt_selfdel_batch *batch;
	unsigned int ewma_us;
	bool stuck;
};

static struct bhqt_selfdel_mode bhqt_selfdel;

static void bhqt_selfdel_fn(void *opaque)
{
	struct bhqt_selfdel_bh *b = opaque;
	int runs = atomic_inc_return(&b->runs);

	bhqt_life_inc(BHQT_LIFE_CHECKS);
	if (runs > 1) {
		bhqt_life_violation(BHQT_LIFE_V_SPURIOUS,
				    "selfdel: BH ran %d times for one schedule", runs);
		return;
	}
	if (READ_ONCE(b->shot) && !READ_ONCE(b->w->shot_returned))
		bhqt_life_inc(BHQT_SELFDEL_RAN_BEFORE_RETURN);
	/* Rule (1): our schedule may still be returning. */
	bhq_bh_delete(b->bh);
	bhqt_life_inc(BHQT_LIFE_OPS);
}

static bool bhqt_selfdel_shots_ran(struct bhqt_selfdel_batch *s)
{
	unsigned int i;

	for (i = 0; i < bhqt_selfdel.crew.nr_workers; i++) {
		if (bhqt_crew_fires(&bhqt_selfdel.crew.workers[i]) &&
		    !atomic_read(&s->bhs[i * BHQT_SELFDEL_BHS_PER_WORKER].runs))
			return false;
	}
	return true;
}

static bool bhqt_selfdel_all_ran(struct bhqt_selfdel_batch *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_bhs; i++) {
		if (!atomic_read(&s->bhs[i].runs))
			return false;
	}
	return true;
}

/*
 * Poll (nested) until the shot's BHs ran, deleted themselves and were
 * freed: a BH deleted by its callback in one poll is freed by the next.
 * Then count the shot's schedules still returning.
 */
static void bhqt_selfdel_gate_fn(void *opaque)
{
	struct bhqt_selfdel_batch *s = opaque;
	unsigned long end = jiffies + bhqt_stall_jiffies();
	unsigned int after = 0;

	WRITE_ONCE(s->gate_in, true);
	while (after < 2 && time_before(jiffies, end)) {
		bhq_poll(s->ctx);
		if (after || bhqt_selfdel_shots_ran(s))
			after++;
		cond_resched();
	}
	if (after == 2)
		bhqt_life_add(BHQT_SELFDEL_FREED_BEFORE_RETURN,
			      bhqt_crew_returning(&bhqt_selfdel.crew));
	/* Pairs with bhqt_selfdel_shot(): the count above is done. */
	smp_store_release(&s->gate_done, true);
}

static void bhqt_selfdel_schedule(struct bhqt_selfdel_bh *b)
{
	bhq_bh_schedule_idle(b->bh);
	bhqt_life_inc(BHQT_LIFE_OPS);
	bhqt_life_inc(b->w->hardirq ? BHQT_SELFDEL_IRQ_BHS : BHQT_SELFDEL_BHS);
}

/*
 * SHOT: the first BH of the worker's share; REST: the others, waiting
 * while the load is held off (another mode's shot).
 */
static bool bhqt_selfdel_serve(struct bhqt_worker *w, enum bhqt_cmd cmd)
{
	struct bhqt_selfdel_batch *s = READ_ONCE(bhqt_selfdel.batch);
	struct bhqt_selfdel_bh *b = &s->bhs[w->idx * BHQT_SELFDEL_BHS_PER_WORKER];

	if (cmd == BHQT_CMD_SHOT) {
		if (bhqt_crew_fires(w)) {
			WRITE_ONCE(b->shot, true);
			bhqt_selfdel_schedule(b);
			w->rest_next = 1;
		}
		WRITE_ONCE(w->shot_returned, true);
		return true;
	}
	for (; w->rest_next < BHQT_SELFDEL_BHS_PER_WORKER; w->rest_next++) {
		if (bhqt_held())
			return false;
		bhqt_selfdel_schedule(b + w->rest_next);
	}
	return true;
}

static void bhqt_selfdel_batch_free(struct bhqt_selfdel_batch *s)
{
	kfree(s->bhs);
	kfree(s);
}

static struct bhqt_selfdel_batch *bhqt_selfdel_batch_new(bool manual)
{
	struct bhqt_selfdel_batch *s = kzalloc(sizeof(*s), GFP_KERNEL);
	unsigned int i;

	if (!s)
		goto fail;
	s->manual = manual;
	s->ctx = bhqt_selfdel.ctx[manual];
	s->nr_bhs = bhqt_selfdel.crew.nr_workers * BHQT_SELFDEL_BHS_PER_WORKER;
	s->bhs = kcalloc(s->nr_bhs, sizeof(*s->bhs), GFP_KERNEL);
	if (!s->bhs)
		goto fail_free;
	if (!manual) {
		s->gate = bhq_bh_new(s->ctx, bhqt_selfdel_gate_fn, s);
		if (!s->gate)
			goto fail_free;
	}
	for (i = 0; i < s->nr_bhs; i++) {
		struct bhqt_selfdel_bh *b = &s->bhs[i];

		b->w = &bhqt_selfdel.crew.workers[i / BHQT_SELFDEL_BHS_PER_WORKER];
		atomic_set(&b->runs, 0);
		b->bh = bhq_bh_new(s->ctx, bhqt_selfdel_fn, b);
		if (!b->bh) {
			while (i--)
				bhq_bh_delete(s->bhs[i].bh);
			bhq_bh_delete(s->gate);
			goto fail_free;
		}
	}
	return s;
fail_free:
	bhqt_selfdel_batch_free(s);
fail:
	bhqt_life_inc(BHQT_LIFE_ALLOC_FAILURES);
	return NULL;
}

static void bhqt_selfdel_stall(const char *what)
{
	bhqt_life_violation(BHQT_LIFE_V_STALL,
			    "selfdel: %s within %u ms; mode stopped, its batch leaked",
			    what, bhqt_stall_ms);
	bhqt_selfdel.stuck = true;
	bhqt_crew_stop_timer(&bhqt_selfdel.crew);
}

/*
 * The shot: each scheduler's first BH; they run, delete themselves and
 * are freed while their idle schedules may still be returning.  Polled
 * by the gate (threaded) or the poller (manual).
 */
static bool bhqt_selfdel_shot(struct bhqt_selfdel_batch *s, unsigned int n)
{
	unsigned int delay_us;
	unsigned long polls;
	u64 t0;
	bool ok;

	if (!s->manual) {
		bhq_bh_schedule(s->gate);
		if (!bhqt_wait_until(READ_ONCE(s->gate_in))) {
			bhqt_selfdel_stall("the gate did not run");
			return false;
		}
	}
	/* A delayed shot is fired by one scheduler: see bhqt_destroy_run_round(). */
	t0 = ktime_get_ns();
	delay_us = bhqt_delay_pick(n, bhqt_selfdel.ewma_us);
	if (delay_us)
		bhqt_delay_begin(delay_us);
	bhqt_crew_order(&bhqt_selfdel.crew, BHQT_CMD_SHOT,
			delay_us ? (n / 3) % bhqt_selfdel.crew.nr_workers : -1);
	ok = bhqt_wait_until(bhqt_selfdel_shots_ran(s));
	if (delay_us)
		bhqt_delay_end();
	if (!ok) {
		bhqt_selfdel_stall("a self-deleting BH did not run");
		return false;
	}
	if (s->manual) {
		/* Two more polls: the one that ran the last, the one freeing it. */
		polls = READ_ONCE(bhqt_selfdel.poller.polls);
		ok = bhqt_wait_until(READ_ONCE(bhqt_selfdel.poller.polls) - polls >= 2);
		if (ok)
			bhqt_life_add(BHQT_SELFDEL_FREED_BEFORE_RETURN,
				      bhqt_crew_returning(&bhqt_selfdel.crew));
	} else {
		/* Pairs with the gate's release. */
		ok = bhqt_wait_until(smp_load_acquire(&s->gate_done));
	}
	if (!ok) {
		bhqt_selfdel_stall("the shot's BHs were not freed");
		return false;
	}
	if (delay_us)
		bhqt_ewma(&bhqt_selfdel.ewma_us, t0);
	if (!bhqt_crew_wait(&bhqt_selfdel.crew)) {
		bhqt_selfdel_stall("an idle schedule did not return");
		return false;
	}
	return true;
}

/* One batch; false if it got stuck. */
static bool bhqt_selfdel_run_batch(unsigned int n)
{
	bool manual = n % 2;
	struct bhq_stats st;
	struct bhqt_selfdel_batch *s;

	s = bhqt_selfdel_batch_new(manual);
	if (!s) {
		msleep(20);
		return true;
	}
	bhqt_life_inc(BHQT_SELFDEL_BATCHES);
	WRITE_ONCE(bhqt_selfdel.batch, s);
	if (manual)
		bhqt_poller_on(&bhqt_selfdel.poller, s->ctx);
	if (!bhqt_selfdel_shot(s, n))
		return false;

	/* The rest run after the idle timeout, or in the poller's polls. */
	bhqt_crew_order(&bhqt_selfdel.crew, BHQT_CMD_REST, -1);
	if (!bhqt_wait_until(bhqt_selfdel_all_ran(s))) {
		bhqt_selfdel_stall("a self-deleting BH did not run");
		return false;
	}
	if (!bhqt_crew_wait(&bhqt_selfdel.crew)) {
		bhqt_selfdel_stall("an idle schedule did not return");
		return false;
	}
	bhqt_crew_stop_timer(&bhqt_selfdel.crew);
	bhq_bh_delete(s->gate);
	/* Frees what was deleted before it (a manual one: with the poller). */
	bhq_ctx_flush(s->ctx);
	if (manual && !bhqt_poller_off(&bhqt_selfdel.poller)) {
		bhqt_selfdel.stuck = true;
		return false;
	}
	bhq_ctx_get_stats(s->ctx, &st);
	bhqt_life_inc(BHQT_LIFE_CHECKS);
	if (st.live != bhqt_selfdel.live[manual])
		bhqt_life_violation(BHQT_LIFE_V_LIVE,
				    "selfdel: %s context has %llu live BHs after a flushed batch, %llu before",
				    manual ? "manual" : "threaded", st.live,
				    bhqt_selfdel.live[manual]);
	bhqt_selfdel_batch_free(s);
	return true;
}

static int bhqt_selfdel_control_fn(void *unused)
{
	unsigned int n = 0;

	while (!kthread_should_stop()) {
		if (READ_ONCE(bhqt_life.stopping) || bhqt_selfdel.stuck ||
		    !bhqt_selfdel_run_batch(n++))
			schedule_timeout_idle(HZ);
		else
			usleep_range(500, 1000);
	}
	return 0;
}

int bhqt_selfdel_init(void)
{
	static const char * const names[] = { "bhqt-sd", "bhqt-sdm" };
	struct bhq_stats st;
	unsigned int i;
	int err;

	for (i = 0; i < 2; i++) {
		bhqt_selfdel.ctx[i] = bhq_ctx_create(names[i], i ? BHQ_CTX_MANUAL : 0);
		if (IS_ERR(bhqt_selfdel.ctx[i])) {
			err = PTR_ERR(bhqt_selfdel.ctx[i]);
			bhqt_selfdel.ctx[i] = NULL;
			pr_err("cannot create context %s: %d\n", names[i], err);
			return err;
		}
		bhq_ctx_get_stats(bhqt_selfdel.ctx[i], &st);
		bhqt_selfdel.live[i] = st.live;
	}
	err = bhqt_crew_init(&bhqt_selfdel.crew, bhqt_selfdel_threads, "bhqt-sd",
			     bhqt_selfdel_serve);
	err = err ?: bhqt_poller_init(&bhqt_selfdel.poller, "bhqt-sdp");
	if (err)
		return err;
	bhqt_selfdel.control = kthread_create(bhqt_selfdel_control_fn, NULL, "bhqt-sd");
	if (IS_ERR(bhqt_selfdel.control)) {
		bhqt_selfdel.control = NULL;
		return -ENOMEM;
	}
	return 0;
}

void bhqt_selfdel_start(void)
{
	if (!bhqt_selfdel.control)
		return;
	bhqt_crew_start(&bhqt_selfdel.crew);
	wake_up_process(bhqt_selfdel.poller.task);
	wake_up_process(bhqt_selfdel.control);
}

void bhqt_selfdel_exit(void)
{
	unsigned int i;

	if (bhqt_selfdel.control)
		kthread_stop(bhqt_selfdel.control);
	bhqt_selfdel.control = NULL;
	bhqt_crew_exit(&bhqt_selfdel.crew);
	bhqt_poller_exit(&bhqt_selfdel.poller);
	/* A stuck batch keeps its context: a callback may still come. */
	for (i = 0; i < 2 && !bhqt_selfdel.stuck; i++) {
		bhq_ctx_destroy(bhqt_selfdel.ctx[i]);
		bhqt_selfdel.ctx[i] = NULL;
	}
}
