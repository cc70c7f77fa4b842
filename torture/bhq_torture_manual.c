// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_torture lifetime mode "manual": a manual context that other tasks
 * flush, sync-cancel and destroy while its owner polls it (rules (3) and
 * (4) of include/linux/bhq.h).  Documentation/torture.rst describes it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include <linux/bhq.h>
#include "bhq_torture_lifetime.h"

/* The owner's BHs and each helper's; the callbacks' nesting. */
#define BHQT_MANUAL_OWNER_BHS		4
#define BHQT_MANUAL_HELPER_BHS		2
#define BHQT_MANUAL_MAX_BHS		(BHQT_MANUAL_OWNER_BHS + 8 * BHQT_MANUAL_HELPER_BHS)
#define BHQT_MANUAL_MAX_NEST		3
/* Length of a round, in ms. */
#define BHQT_MANUAL_ROUND_MS		20

/* ---- manual: a manual context flushed, cancelled, destroyed ---- */

struct bhqt_manual_round;

/**
 * struct bhqt_manual_bh - a BH of a manual round, with its bookkeeping
 * @lock: serializes its schedules, cancels and the starts and ends of its
 *	callbacks
 * @bh: the bhq BH
 * @r: its round
 * @stamps: schedules made
 * @armed: the stamp of the schedule not run yet, 0: none (it is
 *	scheduled only while 0, so none coalesces)
 * @done: the highest stamp whose callback returned
 * @cancels: bhq_bh_cancel_sync() calls begun
 * @running: its callbacks on the poller's stack
 * @cancelling: a bhq_bh_cancel_sync() call has begun and not returned
 * @synced: bhq_bh_cancel_sync() returned, not scheduled since
 * @sleepy: its callback sleeps, so that cancel_sync meets it running
 * @helper: its scheduler: a helper's index, or -1 for the owner
 */
struct bhqt_manual_bh {
	raw_spinlock_t lock;
	struct bhq_bh *bh;
	struct bhqt_manual_round *r;
	u64 stamps;
	u64 armed;
	u64 done;
	unsigned int cancels;
	unsigned int running;
	bool cancelling;
	bool synced;
	bool sleepy;
	int helper;
};

/**
 * struct bhqt_manual_round - one manual round
 * @ctx: its context
 * @bhs: the owner's BHs, then BHQT_MANUAL_HELPER_BHS per helper
 * @nr_bhs: entries in @bhs
 * @go: the BH of the owner's last poll, which lets the destroyer go
 * @stack_lock: protects @depth, @bottom and @next_id
 * @depth: callbacks on the stack of the task polling @ctx
 * @bottom: the id of the outermost one
 * @next_id: the last id given out
 * @rnd: random state of the callbacks (one poller at a time)
 * @closing: the helpers stop
 * @helpers_busy: helpers not stopped yet
 * @destroyer: the helper that destroys @ctx
 * @go_done: @go's callback started
 * @destroyed: the destroyer is done
 * @destroy_returned: bhq_ctx_destroy() returned
 */
struct bhqt_manual_round {
	struct bhq_ctx *ctx;
	struct bhqt_manual_bh bhs[BHQT_MANUAL_MAX_BHS];
	unsigned int nr_bhs;
	struct bhq_bh *go;
	raw_spinlock_t stack_lock;
	unsigned int depth;
	u64 bottom;
	u64 next_id;
	struct rnd_state rnd;
	bool closing;
	atomic_t helpers_busy;
	unsigned int destroyer;
	struct completion go_done;
	struct completion destroyed;
	bool destroy_returned;
};

/**
 * struct bhqt_flush_snap - a BH as a flush found it before its call
 * @armed: its outstanding stamp
 * @cancels: its cancel count
 */
struct bhqt_flush_snap {
	u64 armed;
	unsigned int cancels;
};

/**
 * struct bhqt_helper - a kthread that flushes, cancels and destroys
 * @task: the kthread
 * @idx: its index, selects its BHs
 * @rnd: random state
 * @snap: the BHs before a flush
 */
struct bhqt_helper {
	struct task_struct *task;
	unsigned int idx;
	struct rnd_state rnd;
	struct bhqt_flush_snap snap[BHQT_MANUAL_MAX_BHS];
};

/**
 * struct bhqt_manual_mode - the manual mode
 * @owner: the kthread that creates, schedules and polls the contexts
 * @helpers: the helpers
 * @nr_helpers: entries in @helpers
 * @wq: the helpers wait here for a round
 * @gen: rounds started
 * @round: the current round
 * @prev: the previous round, freed one round late (see bhqt_destroy.prev)
 * @rnd: the owner's random state
 * @stuck: a wait timed out; the mode stopped, its round is leaked
 */
struct bhqt_manual_mode {
	struct task_struct *owner;
	struct bhqt_helper *helpers;
	unsigned int nr_helpers;
	wait_queue_head_t wq;
	unsigned int gen;
	struct bhqt_manual_round *round;
	struct bhqt_manual_round *prev;
	struct rnd_state rnd;
	bool stuck;
};

static struct bhqt_manual_mode bhqt_manual;

/* Who schedules @b, for reports. */
static const char *bhqt_manual_whose(struct bhqt_manual_bh *b)
{
	return b->helper < 0 ? "the owner" : "a helper";
}

/* A callback starts on the poller's stack; the outermost gets an id. */
static void bhqt_manual_push(struct bhqt_manual_round *r)
{
	raw_spin_lock(&r->stack_lock);
	if (!r->depth++)
		r->bottom = ++r->next_id;
	raw_spin_unlock(&r->stack_lock);
}

static void bhqt_manual_pop(struct bhqt_manual_round *r)
{
	raw_spin_lock(&r->stack_lock);
	r->depth--;
	raw_spin_unlock(&r->stack_lock);
}

/* The id of the outermost callback running, 0 if none. */
static u64 bhqt_manual_bottom(struct bhqt_manual_round *r)
{
	u64 bottom;

	raw_spin_lock(&r->stack_lock);
	bottom = r->depth ? r->bottom : 0;
	raw_spin_unlock(&r->stack_lock);
	return bottom;
}

/*
 * Schedule @b unless a schedule of it has not run yet, or the load is held
 * off (the schedule would wait the delay out under our lock).
 */
static void bhqt_manual_arm(struct bhqt_manual_bh *b, bool idle)
{
	if (bhqt_held())
		return;
	raw_spin_lock(&b->lock);
	if (!b->armed) {
		b->armed = ++b->stamps;
		b->synced = false;
		if (idle)
			bhq_bh_schedule_idle(b->bh);
		else
			bhq_bh_schedule(b->bh);
		bhqt_life_inc(BHQT_LIFE_OPS);
		bhqt_life_inc(BHQT_MANUAL_SCHEDULES);
	}
	raw_spin_unlock(&b->lock);
}

/* A callback schedules its own BH again. */
static void bhqt_manual_reschedule(struct bhqt_manual_bh *b)
{
	bool cancelling;

	raw_spin_lock(&b->lock);
	cancelling = b->cancelling;
	raw_spin_unlock(&b->lock);
	bhqt_manual_arm(b, false);
	bhqt_life_inc(BHQT_MANUAL_SELF_RESCHEDULES);
	if (cancelling)
		bhqt_life_inc(BHQT_MANUAL_RESCHEDULES_IN_CANCEL);
}

static bool bhqt_manual_armed(struct bhqt_manual_bh *b)
{
	bool armed;

	raw_spin_lock(&b->lock);
	armed = b->armed;
	raw_spin_unlock(&b->lock);
	return armed;
}

static void bhqt_manual_fn(void *opaque)
{
	struct bhqt_manual_bh *b = opaque;
	struct bhqt_manual_round *r = b->r;
	u64 stamp;
	u32 rnd;

	bhqt_manual_push(r);
	bhqt_life_inc(BHQT_MANUAL_RUNS);
	if (current != bhqt_manual.owner)
		bhqt_life_inc(BHQT_MANUAL_RUNS_BY_HELPER);
	raw_spin_lock(&b->lock);
	bhqt_life_inc(BHQT_LIFE_CHECKS);
	if (READ_ONCE(r->destroy_returned))
		bhqt_life_violation(BHQT_LIFE_V_AFTER_DESTROY,
				    "manual: a callback ran after bhq_ctx_destroy() returned");
	if (b->synced)
		bhqt_life_violation(BHQT_LIFE_V_CANCEL_SYNC,
				    "manual: a BH of %s ran after bhq_bh_cancel_sync() returned, not scheduled since",
				    bhqt_manual_whose(b));
	else if (!b->armed)
		bhqt_life_violation(BHQT_LIFE_V_SPURIOUS,
				    "manual: a BH of %s ran without a schedule",
				    bhqt_manual_whose(b));
	stamp = b->armed;
	b->armed = 0;
	b->running++;
	raw_spin_unlock(&b->lock);

	rnd = prandom_u32_state(&r->rnd);
	if (b->sleepy)
		usleep_range(100, 400);
	if (rnd % 4 == 0 && READ_ONCE(r->depth) < BHQT_MANUAL_MAX_NEST) {
		bhq_poll(r->ctx);
		bhqt_life_inc(BHQT_MANUAL_NESTED_POLLS);
	}

	raw_spin_lock(&b->lock);
	b->running--;
	b->done = max(b->done, stamp);
	raw_spin_unlock(&b->lock);
	/*
	 * Half the time a helper's BH schedules itself again ("poll until
	 * done"); a cancel_sync under way must make that schedule back out,
	 * and its check ("synced") sees a run that it let through.
	 */
	if (b->helper >= 0 && rnd & 0x100)
		bhqt_manual_reschedule(b);
	bhqt_manual_pop(r);
}

/*
 * The callback of the owner's last poll: delete its own BH, let the
 * destroyer go, and keep the poll going a little (sleep, or poll again),
 * so that the destroy meets it.
 */
static void bhqt_manual_go_fn(void *opaque)
{
	struct bhqt_manual_round *r = opaque;
	u32 rnd = prandom_u32_state(&r->rnd);

	bhqt_manual_push(r);
	bhq_bh_delete(r->go);
	complete(&r->go_done);
	switch (rnd % 4) {
	case 0:
		break;
	case 1:
		usleep_range(20, 50);
		break;
	case 2:
		usleep_range(500, 2000);
		break;
	default:
		bhq_poll(r->ctx);
		usleep_range(100, 500);
		break;
	}
	bhqt_life_inc(BHQT_LIFE_CHECKS);
	if (READ_ONCE(r->destroy_returned))
		bhqt_life_violation(BHQT_LIFE_V_DESTROY,
				    "manual: bhq_ctx_destroy() returned while the owner's last poll ran a callback");
	bhqt_manual_pop(r);
}

static void bhqt_manual_owner_poll(struct bhqt_manual_round *r)
{
	bhq_poll(r->ctx);
	bhqt_life_inc(BHQT_LIFE_OPS);
	bhqt_life_inc(BHQT_MANUAL_POLLS);
}

/**
 * bhqt_manual_flush() - a helper's checked bhq_ctx_flush()
 * @h: the helper
 * @r: the round
 *
 * See "flush" in Documentation/torture.rst.  A BH cancelled meanwhile is not
 * checked; a callback that started after the snapshot is not waited for.
 */
static void bhqt_manual_flush(struct bhqt_helper *h, struct bhqt_manual_round *r)
{
	unsigned int i;
	u64 bottom;

	for (i = 0; i < r->nr_bhs; i++) {
		struct bhqt_manual_bh *b = &r->bhs[i];

		/* A schedule that a cancel under way may undo is not checked. */
		raw_spin_lock(&b->lock);
		h->snap[i].armed = b->cancelling ? 0 : b->armed;
		h->snap[i].cancels = b->cancels;
		raw_spin_unlock(&b->lock);
	}
	bottom = bhqt_manual_bottom(r);
	if (bottom)
		bhqt_life_inc(BHQT_MANUAL_FLUSH_WAITED);

	bhq_ctx_flush(r->ctx);
	bhqt_life_inc(BHQT_LIFE_OPS);
	bhqt_life_inc(BHQT_MANUAL_FLUSHES);

	for (i = 0; i < r->nr_bhs; i++) {
		struct bhqt_manual_bh *b = &r->bhs[i];
		u64 armed = h->snap[i].armed;

		raw_spin_lock(&b->lock);
		bhqt_life_inc(BHQT_LIFE_CHECKS);
		if (armed && b->cancels == h->snap[i].cancels && b->done < armed)
			bhqt_life_violation(BHQT_LIFE_V_FLUSH,
					    "manual: flush returned before a BH of %s had run for a schedule made before it (stamp %llu, done %llu)",
					    bhqt_manual_whose(b), armed, b->done);
		raw_spin_unlock(&b->lock);
	}
	bhqt_life_inc(BHQT_LIFE_CHECKS);
	if (bottom && bhqt_manual_bottom(r) == bottom)
		bhqt_life_violation(BHQT_LIFE_V_FLUSH,
				    "manual: flush returned while a callback running before it still ran");
}

/**
 * bhqt_manual_cancel() - a helper's checked bhq_bh_cancel_sync() of its own BH
 * @h: the helper
 * @r: the round
 *
 * Only @h schedules its BHs, so when the call returns the callback must
 * not run, and it must not start until @h schedules the BH again.  Half
 * the time the BH is scheduled first and, if its callback sleeps, the
 * cancel waits until the callback started.
 */
static void bhqt_manual_cancel(struct bhqt_helper *h, struct bhqt_manual_round *r)
{
	u32 rnd = prandom_u32_state(&h->rnd);
	struct bhqt_manual_bh *b = &r->bhs[BHQT_MANUAL_OWNER_BHS + h->idx * BHQT_MANUAL_HELPER_BHS +
				   rnd % BHQT_MANUAL_HELPER_BHS];
	unsigned long end;
	bool running;

	if (rnd & 0x100)
		bhqt_manual_arm(b, rnd & 0x200);
	if (b->sleepy && rnd & 0x400) {
		end = jiffies + msecs_to_jiffies(20);
		while (bhqt_manual_armed(b) && time_before(jiffies, end))
			usleep_range(20, 50);
	}
	raw_spin_lock(&b->lock);
	b->cancels++;
	b->cancelling = true;
	running = b->running;
	raw_spin_unlock(&b->lock);

	bhq_bh_cancel_sync(b->bh);
	bhqt_life_inc(BHQT_LIFE_OPS);
	bhqt_life_inc(BHQT_MANUAL_CANCEL_SYNCS);
	if (running)
		bhqt_life_inc(BHQT_MANUAL_CANCEL_WAITED);

	raw_spin_lock(&b->lock);
	bhqt_life_inc(BHQT_LIFE_CHECKS);
	if (b->running)
		bhqt_life_violation(BHQT_LIFE_V_CANCEL_SYNC,
				    "manual: bhq_bh_cancel_sync() of a BH of helper %u returned while its callback ran",
				    h->idx);
	b->armed = 0;
	b->cancelling = false;
	b->synced = true;
	raw_spin_unlock(&b->lock);
}

/*
 * The destroyer: once the owner's last poll runs its go callback, destroy
 * the context while that poll still runs (or returns); it must wait.
 */
static void bhqt_manual_destroy(struct bhqt_manual_round *r)
{
	bool busy;

	if (!wait_for_completion_timeout(&r->go_done, bhqt_stall_jiffies())) {
		/* The owner reports the stall; nothing of the round is freed. */
		return;
	}
	busy = bhqt_manual_bottom(r);
	if (busy)
		bhqt_life_inc(BHQT_MANUAL_DESTROY_WAITED);
	bhq_ctx_destroy(r->ctx);
	bhqt_life_inc(BHQT_LIFE_OPS);
	/* The go callback's check reads the flag after its own work. */
	smp_store_mb(r->destroy_returned, true);
	bhqt_life_inc(BHQT_LIFE_CHECKS);
	if (bhqt_manual_bottom(r))
		bhqt_life_violation(BHQT_LIFE_V_DESTROY,
				    "manual: bhq_ctx_destroy() returned while a poll of the context ran a callback");
	complete(&r->destroyed);
}

static int bhqt_manual_helper_fn(void *arg)
{
	struct bhqt_helper *h = arg;
	unsigned int gen = 0;
	struct bhqt_manual_round *r;

	for (;;) {
		wait_event_idle(bhqt_manual.wq, READ_ONCE(bhqt_manual.gen) != gen ||
				kthread_should_stop());
		if (kthread_should_stop())
			break;
		/* Pairs with bhqt_manual_run_round(): the round is set. */
		gen = smp_load_acquire(&bhqt_manual.gen);
		r = READ_ONCE(bhqt_manual.round);
		/* Rounds end only when the helpers stop: no stop check here. */
		while (!READ_ONCE(r->closing)) {
			if (prandom_u32_state(&h->rnd) % 2)
				bhqt_manual_flush(h, r);
			else
				bhqt_manual_cancel(h, r);
			usleep_range(50, 300);
		}
		atomic_dec(&r->helpers_busy);
		if (r->destroyer == h->idx)
			bhqt_manual_destroy(r);
	}
	return 0;
}

static void bhqt_manual_round_free(struct bhqt_manual_round *r)
{
	kfree(r);
}

static void bhqt_manual_round_abort(struct bhqt_manual_round *r)
{
	unsigned int i;

	for (i = 0; i < r->nr_bhs; i++)
		bhq_bh_delete(r->bhs[i].bh);
	bhq_bh_delete(r->go);
	bhq_ctx_destroy(r->ctx);
	bhqt_manual_round_free(r);
}

static struct bhqt_manual_round *bhqt_manual_round_new(void)
{
	struct bhqt_manual_round *r = kzalloc(sizeof(*r), GFP_KERNEL);
	unsigned int i;

	if (!r)
		goto fail;
	raw_spin_lock_init(&r->stack_lock);
	prandom_seed_state(&r->rnd, get_random_u64());
	atomic_set(&r->helpers_busy, bhqt_manual.nr_helpers);
	init_completion(&r->go_done);
	init_completion(&r->destroyed);
	r->ctx = bhq_ctx_create("bhqt-mc", BHQ_CTX_MANUAL);
	if (IS_ERR(r->ctx)) {
		kfree(r);
		goto fail;
	}
	r->go = bhq_bh_new(r->ctx, bhqt_manual_go_fn, r);
	if (!r->go)
		goto fail_abort;
	r->nr_bhs = BHQT_MANUAL_OWNER_BHS + bhqt_manual.nr_helpers * BHQT_MANUAL_HELPER_BHS;
	for (i = 0; i < r->nr_bhs; i++) {
		struct bhqt_manual_bh *b = &r->bhs[i];

		raw_spin_lock_init(&b->lock);
		b->r = r;
		b->helper = i < BHQT_MANUAL_OWNER_BHS ? -1 :
			    (i - BHQT_MANUAL_OWNER_BHS) / BHQT_MANUAL_HELPER_BHS;
		b->sleepy = i % 2;
		b->bh = bhq_bh_new(r->ctx, bhqt_manual_fn, b);
		if (!b->bh) {
			r->nr_bhs = i;
			goto fail_abort;
		}
	}
	return r;
fail_abort:
	bhqt_manual_round_abort(r);
fail:
	bhqt_life_inc(BHQT_LIFE_ALLOC_FAILURES);
	return NULL;
}

static void bhqt_manual_stall(const char *what)
{
	bhqt_life_violation(BHQT_LIFE_V_STALL,
			    "manual: %s within %u ms; mode stopped, its round leaked",
			    what, bhqt_stall_ms);
	bhqt_manual.stuck = true;
}

static bool bhqt_manual_helpers_done(struct bhqt_manual_round *r)
{
	return !atomic_read(&r->helpers_busy);
}

static bool bhqt_manual_quiet(struct bhqt_manual_round *r)
{
	unsigned int i;

	for (i = 0; i < r->nr_bhs; i++) {
		if (bhqt_manual_armed(&r->bhs[i]))
			return false;
	}
	return true;
}

/* Poll until @done, at most stall_ms. */
static bool bhqt_manual_poll_until(struct bhqt_manual_round *r,
				   bool (*done)(struct bhqt_manual_round *r))
{
	unsigned long end = jiffies + bhqt_stall_jiffies();

	while (!done(r)) {
		if (time_after(jiffies, end))
			return false;
		bhqt_manual_owner_poll(r);
		usleep_range(50, 100);
	}
	return true;
}

/* The owner between two polls: schedule some of its BHs, maybe pause. */
static void bhqt_manual_owner_step(struct bhqt_manual_round *r)
{
	u32 rnd = prandom_u32_state(&bhqt_manual.rnd);
	unsigned int k;

	for (k = 0; k < BHQT_MANUAL_OWNER_BHS; k++) {
		if (rnd & BIT(k))
			bhqt_manual_arm(&r->bhs[k], rnd & BIT(8 + k));
	}
	bhqt_manual_owner_poll(r);
	/* A pause: the helpers' flushes and cancels poll for us meanwhile. */
	if ((rnd >> 16) % 16 == 0)
		usleep_range(1000, 2000);
	else
		usleep_range(50, 100);
}

/* One round; false if it got stuck. */
static bool bhqt_manual_run_round(void)
{
	unsigned long end;
	struct bhqt_manual_round *r;
	unsigned int i, ms;

	r = bhqt_manual_round_new();
	if (!r) {
		msleep(20);
		return true;
	}
	bhqt_life_inc(BHQT_MANUAL_ROUNDS);
	r->destroyer = prandom_u32_state(&bhqt_manual.rnd) % bhqt_manual.nr_helpers;
	WRITE_ONCE(bhqt_manual.round, r);
	/* Pairs with the helpers' acquire: they see the round. */
	smp_store_release(&bhqt_manual.gen, bhqt_manual.gen + 1);
	wake_up_all(&bhqt_manual.wq);

	ms = BHQT_MANUAL_ROUND_MS / 2 +
	     prandom_u32_state(&bhqt_manual.rnd) % BHQT_MANUAL_ROUND_MS;
	end = jiffies + msecs_to_jiffies(ms);
	while (time_before(jiffies, end))
		bhqt_manual_owner_step(r);

	/* Keep polling: a helper's flush may wait for us to poll. */
	WRITE_ONCE(r->closing, true);
	if (!bhqt_manual_poll_until(r, bhqt_manual_helpers_done)) {
		bhqt_manual_stall("a helper did not stop");
		return false;
	}
	if (!bhqt_manual_poll_until(r, bhqt_manual_quiet)) {
		bhqt_manual_stall("a scheduled callback did not run");
		return false;
	}
	for (i = 0; i < r->nr_bhs; i++)
		bhq_bh_delete(r->bhs[i].bh);
	bhqt_life_add(BHQT_LIFE_OPS, r->nr_bhs);
	bhq_bh_schedule(r->go);
	/* The last poll: its go callback lets the destroyer go. */
	bhqt_manual_owner_poll(r);
	if (!wait_for_completion_timeout(&r->destroyed, 2 * bhqt_stall_jiffies())) {
		bhqt_manual_stall("the context was not destroyed");
		return false;
	}
	bhqt_misuse_check();
	bhqt_manual_round_free(bhqt_manual.prev);
	bhqt_manual.prev = r;
	return true;
}

static int bhqt_manual_owner_fn(void *unused)
{
	while (!kthread_should_stop()) {
		if (READ_ONCE(bhqt_life.stopping) || bhqt_manual.stuck || !bhqt_manual_run_round())
			schedule_timeout_idle(HZ);
		else
			usleep_range(500, 1000);
	}
	return 0;
}

int bhqt_manual_init(void)
{
	unsigned int i;

	init_waitqueue_head(&bhqt_manual.wq);
	prandom_seed_state(&bhqt_manual.rnd, get_random_u64());
	bhqt_manual.helpers = kcalloc(bhqt_manual_helpers,
				      sizeof(*bhqt_manual.helpers), GFP_KERNEL);
	if (!bhqt_manual.helpers)
		return -ENOMEM;
	bhqt_manual.nr_helpers = bhqt_manual_helpers;
	for (i = 0; i < bhqt_manual.nr_helpers; i++) {
		struct bhqt_helper *h = &bhqt_manual.helpers[i];

		h->idx = i;
		prandom_seed_state(&h->rnd, get_random_u64());
		h->task = kthread_create(bhqt_manual_helper_fn, h, "bhqt-mh/%u", i);
		if (IS_ERR(h->task)) {
			h->task = NULL;
			return -ENOMEM;
		}
	}
	bhqt_manual.owner = kthread_create(bhqt_manual_owner_fn, NULL, "bhqt-mo");
	if (IS_ERR(bhqt_manual.owner)) {
		bhqt_manual.owner = NULL;
		return -ENOMEM;
	}
	return 0;
}

void bhqt_manual_start(void)
{
	unsigned int i;

	if (!bhqt_manual.owner)
		return;
	for (i = 0; i < bhqt_manual.nr_helpers; i++)
		wake_up_process(bhqt_manual.helpers[i].task);
	wake_up_process(bhqt_manual.owner);
}

void bhqt_manual_exit(void)
{
	unsigned int i;

	/* The owner ends its round, with the helpers, before it stops. */
	if (bhqt_manual.owner)
		kthread_stop(bhqt_manual.owner);
	bhqt_manual.owner = NULL;
	for (i = 0; bhqt_manual.helpers && i < bhqt_manual.nr_helpers; i++) {
		if (bhqt_manual.helpers[i].task)
			kthread_stop(bhqt_manual.helpers[i].task);
	}
	kfree(bhqt_manual.helpers);
	bhqt_manual.helpers = NULL;
	if (!bhqt_manual.stuck)
		bhqt_manual_round_free(bhqt_manual.prev);
	bhqt_manual.prev = NULL;
}
