// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for bhq's lifetimes and ownership: where one party's life
 * ends while another is still inside bhq.  A schedule that is still
 * returning when its callback runs and the context is destroyed, or the
 * BH deleted; a second task flushing or destroying a manual context while
 * its owner polls; a destroy against a callback that never stops
 * scheduling; a sync cancel against a callback that sleeps.
 *
 * A schedule is made to stay in the race window with CONFIG_BHQ_DEBUG's
 * hold right after it published its BH (cases that need it are skipped
 * without it).  What the
 * old code did wrong here was a use after free that only KASAN sees (make
 * kunit-qemu), a hang (every wait here is bounded, and a case that would
 * hang fails instead), or a false misuse warning (counted).
 */

#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/task.h>

#include "../kmod/bhq_internal.h"

#define LT_WAIT			(10 * HZ)
/*
 * The hold cases need the knob, and a second CPU: on one CPU nothing
 * else runs while a schedule spins in its hold (make kunit-qemu).
 */
static void lt_need_debug(struct kunit *test)
{
	if (!IS_ENABLED(CONFIG_BHQ_DEBUG))
		kunit_skip(test, "needs CONFIG_BHQ_DEBUG");
	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs");
}

#ifdef CONFIG_BHQ_DEBUG
/*
 * Hold the next schedule right after its publish, then start @scheduler;
 * true once its schedule is held: it is certainly still returning.
 */
static bool lt_hold_next_schedule(struct task_struct *scheduler)
{
	unsigned long end = jiffies + LT_WAIT;

	bhq_debug_hold_next_publish();
	wake_up_process(scheduler);
	while (!bhq_debug_publish_held()) {
		if (time_after(jiffies, end))
			return false;
		usleep_range(100, 200);
	}
	return true;
}

static void lt_release(void)
{
	bhq_debug_release_publish();
}
#else
static bool lt_hold_next_schedule(struct task_struct *scheduler)
{
	return false;
}

static void lt_release(void)
{
}
#endif

/*
 * Every case lets a held schedule go, even after a failed assertion, and
 * leaves the test task free to run anywhere again.
 */
static void lt_exit(struct kunit *test)
{
	lt_release();
	set_cpus_allowed_ptr(current, cpu_possible_mask);
}

/* Start a kthread running @fn(@arg) and keep a reference to it. */
static struct task_struct *lt_run(struct kunit *test, int (*fn)(void *),
				  void *arg, const char *name)
{
	struct task_struct *t = kthread_create(fn, arg, "%s", name);

	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	get_task_struct(t);
	wake_up_process(t);
	return t;
}

static void lt_reap(struct task_struct *t)
{
	kthread_stop(t);
	put_task_struct(t);
}

/* Wait (bounded) until a BH is on @ctx's pending list. */
static bool lt_wait_pending(struct bhq_ctx *ctx)
{
	unsigned long end = jiffies + LT_WAIT;

	while (llist_empty(&ctx->pending)) {
		if (time_after(jiffies, end))
			return false;
		usleep_range(100, 200);
	}
	return true;
}

/* A kthread's body that returns only when told to stop. */
static void lt_park_until_stopped(void)
{
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
}

/* --- 1. a schedule still returning ------------------------------------ */

/*
 * The context's thread runs on one CPU (with the test) and the scheduler
 * on another.  The thread is kept in a gate callback until the scheduler
 * has published its BH, then runs it at once in a nested poll, without
 * being woken: while the schedule call is held after its publish.
 *
 * Hardirq schedulers are left to the torture's destroy mode (an hrtimer
 * producer, under KASAN on the debug kernel): holding a schedule in
 * hardirq here keeps its CPU's interrupts off, and the destroy that waits
 * for it (lockdep's key removal) then stalled for tens of seconds after
 * the release under TCG, which this case cannot tell from a bug.
 */
struct lt_returning {
	struct bhq_ctx *ctx;
	struct bhq_bh *bh;
	bool idle;
	struct completion gate_up;	/* the gate runs: it waits for the BH */
	struct completion ran;
	struct completion scheduled;	/* the schedule call returned */
	struct completion destroyed;	/* bhq_ctx_destroy() returned */
};

static void lt_gate_fn(void *opaque)
{
	struct lt_returning *r = opaque;

	complete(&r->gate_up);
	if (!lt_wait_pending(r->ctx))
		return;
	bhq_poll(r->ctx);
	/* A BH its callback deleted is freed here, not after a timer. */
	bhq_poll(r->ctx);
}

static void lt_ran_fn(void *opaque)
{
	struct lt_returning *r = opaque;

	complete(&r->ran);
}

static int lt_scheduler_thread(void *arg)
{
	struct lt_returning *r = arg;

	if (r->idle)
		bhq_bh_schedule_idle(r->bh);
	else
		bhq_bh_schedule(r->bh);
	complete(&r->scheduled);
	lt_park_until_stopped();
	return 0;
}

/* A threaded context, a gate that holds its thread, a BH calling @fn. */
static void lt_returning_init(struct kunit *test, struct lt_returning *r,
			      const char *name, bhq_func_t fn)
{
	unsigned int cpu;

	init_completion(&r->gate_up);
	init_completion(&r->ran);
	init_completion(&r->scheduled);
	init_completion(&r->destroyed);
	r->ctx = bhq_ctx_create(name, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(r->ctx));
	cpu = cpumask_first(cpu_online_mask);
	KUNIT_ASSERT_EQ(test, set_cpus_allowed_ptr(current, cpumask_of(cpu)), 0);
	KUNIT_ASSERT_EQ(test, set_cpus_allowed_ptr(r->ctx->thread,
						   cpumask_of(cpu)), 0);
	r->bh = bhq_bh_new(r->ctx, fn, r);
	KUNIT_ASSERT_NOT_NULL(test, r->bh);
	KUNIT_ASSERT_EQ(test, bhq_schedule_oneshot(r->ctx, lt_gate_fn, r,
						   GFP_KERNEL), 0);
}

/* Start the scheduler on the next CPU, its schedule held after publish. */
static struct task_struct *lt_returning_start(struct kunit *test,
					      struct lt_returning *r)
{
	unsigned int cpu = cpumask_next(cpumask_first(cpu_online_mask),
					cpu_online_mask);
	struct task_struct *t;

	/*
	 * The gate must be waiting before the BH is published: a poll that
	 * carved the gate and the BH together would leave the gate waiting
	 * for a pending list that stays empty, for LT_WAIT, and the BH would
	 * run only after the hold expired (seen on the debug kernel).
	 */
	KUNIT_ASSERT_GT(test,
			wait_for_completion_timeout(&r->gate_up, LT_WAIT), 0);
	t = kthread_create(lt_scheduler_thread, r, "bhq-lt-sched");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	kthread_bind(t, cpu);
	get_task_struct(t);
	if (!lt_hold_next_schedule(t))
		KUNIT_FAIL(test, "the schedule was not held");
	return t;
}

static int lt_destroy_returning_thread(void *arg)
{
	struct lt_returning *r = arg;

	bhq_ctx_destroy(r->ctx);
	complete(&r->destroyed);
	lt_park_until_stopped();
	return 0;
}

struct lt_returning_case {
	const char *name;
	bool idle;
};

static const struct lt_returning_case lt_returning_cases[] = {
	{ "non-idle", false },
	{ "idle", true },
};

KUNIT_ARRAY_PARAM_DESC(lt_returning, lt_returning_cases, name);

/*
 * The callback runs while its schedule call is still returning; its owner
 * then deletes the BH and destroys the context, as a user who waits for
 * the callback may.  The returning schedule must not touch the freed
 * context or BH (under KASAN the old code reported a use after free of
 * the context here).
 */
static void bhq_lifetime_destroy_while_schedule_returns(struct kunit *test)
{
	const struct lt_returning_case *c = test->param_value;
	struct lt_returning r = { .idle = c->idle };
	struct task_struct *scheduler, *destroyer;

	lt_need_debug(test);
	lt_returning_init(test, &r, "kunit-returning", lt_ran_fn);
	scheduler = lt_returning_start(test, &r);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&r.ran, LT_WAIT), 0);
	/* The callback ran, and its schedule is still held after the publish. */
	KUNIT_EXPECT_FALSE(test, completion_done(&r.scheduled));
	bhq_bh_delete(r.bh);
	/*
	 * Destroy from another task, and let the schedule return once destroy
	 * has returned, or after a while if it waits for the schedule (a
	 * grace period: lockdep's key removal makes one).
	 */
	destroyer = lt_run(test, lt_destroy_returning_thread, &r,
			   "bhq-lt-destroy");
	wait_for_completion_timeout(&r.destroyed, 2 * HZ);
	lt_release();
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&r.destroyed,
							  3 * LT_WAIT), 0);
	lt_reap(destroyer);

	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&r.scheduled,
							  LT_WAIT), 0);
	lt_reap(scheduler);
}

/*
 * The callback of an idle schedule deletes its own BH, and the thread's
 * next poll frees it, while the idle schedule is still returning: its
 * re-read of the BH's flags (bhq_nonidle_while_adding()) must read a
 * struct bhq_bh, not freed memory (under KASAN the old code reported it).
 */
static void lt_delete_self_fn(void *opaque)
{
	struct lt_returning *r = opaque;

	bhq_bh_delete(r->bh);
	complete(&r->ran);
}

/* Wait (bounded) until every BH of @ctx is freed. */
static bool lt_wait_no_live(struct bhq_ctx *ctx)
{
	unsigned long end = jiffies + LT_WAIT;
	struct bhq_stats s;

	for (;;) {
		bhq_ctx_get_stats(ctx, &s);
		if (!s.live)
			return true;
		if (time_after(jiffies, end))
			return false;
		usleep_range(100, 200);
	}
}

static void bhq_lifetime_self_delete_while_idle_schedule_returns(struct kunit *test)
{
	struct lt_returning r = { .idle = true };
	struct task_struct *scheduler;
	long misuse = bhq_misuse_count();

	lt_need_debug(test);
	lt_returning_init(test, &r, "kunit-selfdel", lt_delete_self_fn);
	scheduler = lt_returning_start(test, &r);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&r.ran, LT_WAIT), 0);
	/* The gate (a oneshot) and the deleted BH are freed ... */
	KUNIT_EXPECT_TRUE(test, lt_wait_no_live(r.ctx));
	/* ... while the schedule is still returning. */
	KUNIT_EXPECT_FALSE(test, completion_done(&r.scheduled));
	lt_release();

	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&r.scheduled,
							  LT_WAIT), 0);
	lt_reap(scheduler);
	KUNIT_EXPECT_EQ(test, bhq_misuse_count(), misuse);
	bhq_ctx_destroy(r.ctx);
}

/* --- 2. a manual context and a second task ----------------------------- */

/* The owner's rounds: at most this many, for at most LT_OWNER_TIME. */
#define LT_OWNER_ROUNDS	5000
#define LT_OWNER_TIME	(2 * HZ)

struct lt_manual {
	struct bhq_ctx *ctx;
	struct bhq_bh *bh;
	atomic_t runs;
	unsigned int gen;		/* owner writes before each schedule */
	unsigned int rounds;		/* the owner's schedules */
	unsigned int seen_gen;		/* the callback's view of it */
	atomic_t flushes;
	bool owner_done;
	struct completion flusher_done;
	struct completion owner_exit;
	struct completion inside;	/* a blocking callback started */
	struct completion nested;	/* its nested poll returned */
	struct completion release;	/* let it return */
	struct completion finished;	/* the blocking callback returned */
	struct completion started;	/* the second task is about to call */
	struct completion returned;	/* the second task's call returned */
	bool finished_at_return;
	bool nested_met_barrier;	/* lt_nest_fn() saw the barrier pending */
	void (*call)(struct lt_manual *m);	/* the second task's call */
};

static void lt_count_fn(void *opaque)
{
	struct lt_manual *m = opaque;

	WRITE_ONCE(m->seen_gen, READ_ONCE(m->gen));
	atomic_inc(&m->runs);
}

/*
 * The owner: schedule and poll, then keep polling (without scheduling)
 * until the flusher is done, so that a flusher that depends on the owner
 * to run its barrier is never left waiting by this test.
 */
static int lt_owner_thread(void *arg)
{
	struct lt_manual *m = arg;
	unsigned long end = jiffies + LT_OWNER_TIME;
	unsigned int i;

	for (i = 1; i <= LT_OWNER_ROUNDS && time_before(jiffies, end); i++) {
		WRITE_ONCE(m->gen, i);
		bhq_bh_schedule(m->bh);
		bhq_poll(m->ctx);
		if (i % 64 == 0)
			cond_resched();
	}
	m->rounds = i - 1;
	WRITE_ONCE(m->owner_done, true);
	end = jiffies + LT_WAIT;
	while (!completion_done(&m->flusher_done) && time_before(jiffies, end)) {
		bhq_poll(m->ctx);
		usleep_range(50, 100);
	}
	complete(&m->owner_exit);
	lt_park_until_stopped();
	return 0;
}

static int lt_flusher_thread(void *arg)
{
	struct lt_manual *m = arg;

	while (!READ_ONCE(m->owner_done)) {
		bhq_ctx_flush(m->ctx);
		atomic_inc(&m->flushes);
		cond_resched();
	}
	complete(&m->flusher_done);
	lt_park_until_stopped();
	return 0;
}

static struct lt_manual *lt_manual_new(struct kunit *test, const char *name,
				       bhq_func_t fn, unsigned int flags)
{
	struct lt_manual *m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, m);
	init_completion(&m->flusher_done);
	init_completion(&m->owner_exit);
	init_completion(&m->inside);
	init_completion(&m->nested);
	init_completion(&m->release);
	init_completion(&m->finished);
	init_completion(&m->started);
	init_completion(&m->returned);
	m->ctx = bhq_ctx_create(name, flags);
	KUNIT_ASSERT_FALSE(test, IS_ERR(m->ctx));
	m->bh = bhq_bh_new(m->ctx, fn, m);
	KUNIT_ASSERT_NOT_NULL(test, m->bh);
	return m;
}

/*
 * One task polls a manual context in a tight loop while another flushes
 * it in a loop.  No false misuse warning, every schedule ran exactly once
 * (none twice, the last one not lost), and the context's poll state is
 * empty afterwards.  The old code read ctx->innermost before it owned the
 * context: a flusher chained its frame to the owner's dead stack frame
 * and left that pointer behind; and it warned of misuse.
 */
static void bhq_lifetime_owner_polls_while_another_task_flushes(struct kunit *test)
{
	struct lt_manual *m = lt_manual_new(test, "kunit-ownflush", lt_count_fn,
					   BHQ_CTX_MANUAL);
	long misuse = bhq_misuse_count();
	struct task_struct *owner, *flusher;
	struct bhq_stats s;

	flusher = lt_run(test, lt_flusher_thread, m, "bhq-lt-flush");
	owner = lt_run(test, lt_owner_thread, m, "bhq-lt-owner");
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&m->owner_exit,
							  6 * LT_WAIT), 0);
	KUNIT_EXPECT_TRUE_MSG(test, completion_done(&m->flusher_done),
			      "poller %lx owner_waits %d depth %u pending %d",
			      READ_ONCE(m->ctx->poller),
			      READ_ONCE(m->ctx->owner_waits), m->ctx->depth,
			      !llist_empty(&m->ctx->pending));
	lt_reap(owner);
	if (!completion_done(&m->flusher_done))
		bhq_poll(m->ctx);	/* free the flusher, then fail */
	lt_reap(flusher);
	bhq_ctx_flush(m->ctx);

	KUNIT_EXPECT_EQ(test, bhq_misuse_count(), misuse);
	kunit_info(test, "%u rounds of the owner, %d flushes", m->rounds,
		   atomic_read(&m->flushes));
	KUNIT_EXPECT_GT(test, m->rounds, 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(m->seen_gen), m->rounds);
	bhq_ctx_get_stats(m->ctx, &s);
	/* Every run is a schedule that did not coalesce, and vice versa. */
	KUNIT_EXPECT_EQ(test, s.scheduled - atomic_read(&m->flushes) - 1,
			(u64)m->rounds);
	KUNIT_EXPECT_EQ(test, s.executed - atomic_read(&m->flushes) - 1,
			(u64)atomic_read(&m->runs));
	KUNIT_EXPECT_EQ(test, atomic_read(&m->runs), m->rounds);
	KUNIT_EXPECT_EQ(test, s.coalesced, 0);
	KUNIT_EXPECT_EQ(test, s.scheduled - s.coalesced, s.executed);
	KUNIT_EXPECT_GT(test, atomic_read(&m->flushes), 0);
	/* Nothing of a poll is left behind. */
	KUNIT_EXPECT_NULL(test, m->ctx->innermost);
	KUNIT_EXPECT_EQ(test, m->ctx->depth, 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&m->ctx->slices));
	KUNIT_EXPECT_FALSE(test, m->ctx->sliced);
	KUNIT_EXPECT_EQ(test, READ_ONCE(m->ctx->poller), 0);
	bhq_bh_delete(m->bh);
	bhq_ctx_destroy(m->ctx);
}

/*
 * The owner polls in a tight loop while two tasks flush in loops: the
 * owner gets the role after at most two borrowed polls per bhq_poll()
 * call ("Ownership" in kmod/bhq_poll.c: one per flushing task that read
 * ctx->owner_waits before the owner set it), however long the flushes go
 * on.  The old owner cleared the flag before each retry, so the flushes
 * could take the role from it again and again.  CONFIG_BHQ_DEBUG counts
 * the borrowed polls an owner waited through.
 */
static void bhq_lifetime_owner_waits_for_two_flushers_bounded(struct kunit *test)
{
	struct task_struct *owner, *flusher[2];
	long misuse = bhq_misuse_count();
	unsigned int i, borrows = 0;
	struct lt_manual *m;

	if (!IS_ENABLED(CONFIG_BHQ_DEBUG))
		kunit_skip(test, "needs CONFIG_BHQ_DEBUG");
	m = lt_manual_new(test, "kunit-ownbound", lt_count_fn, BHQ_CTX_MANUAL);
	for (i = 0; i < ARRAY_SIZE(flusher); i++)
		flusher[i] = lt_run(test, lt_flusher_thread, m, "bhq-lt-bflush");
	owner = lt_run(test, lt_owner_thread, m, "bhq-lt-bowner");
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&m->owner_exit,
							  6 * LT_WAIT), 0);
	lt_reap(owner);
	for (i = 0; i < ARRAY_SIZE(flusher); i++) {
		/* One completion each; a flusher left waits for a poll. */
		if (!wait_for_completion_timeout(&m->flusher_done, LT_WAIT)) {
			KUNIT_FAIL(test, "a flusher did not return");
			bhq_poll(m->ctx);
		}
	}
	for (i = 0; i < ARRAY_SIZE(flusher); i++)
		lt_reap(flusher[i]);
	KUNIT_EXPECT_EQ(test, bhq_misuse_count(), misuse);
	KUNIT_EXPECT_EQ(test, atomic_read(&m->runs), m->rounds);
#ifdef CONFIG_BHQ_DEBUG
	borrows = READ_ONCE(m->ctx->debug_max_borrows);
#endif
	kunit_info(test, "%u rounds, %d flushes, at most %u borrowed polls waited for",
		   m->rounds, atomic_read(&m->flushes), borrows);
	KUNIT_EXPECT_LE(test, borrows, 2);
	bhq_bh_delete(m->bh);
	bhq_ctx_destroy(m->ctx);
	if (!borrows)
		kunit_skip(test, "the owner never met a borrowed poll");
}

static void lt_block_fn(void *opaque)
{
	struct lt_manual *m = opaque;

	complete(&m->inside);
	wait_for_completion_timeout(&m->release, LT_WAIT);
	atomic_inc(&m->runs);
	complete(&m->finished);
}

/* The owner polls once: its callback blocks until released. */
static int lt_poll_once_thread(void *arg)
{
	struct lt_manual *m = arg;

	bhq_poll(m->ctx);
	complete(&m->owner_exit);
	lt_park_until_stopped();
	return 0;
}

/*
 * The second task: make its call (flush, destroy, sync cancel), then note
 * whether the blocking callback had returned by the time the call did.
 */
static int lt_second_task_thread(void *arg)
{
	struct lt_manual *m = arg;

	complete(&m->started);
	m->call(m);
	WRITE_ONCE(m->finished_at_return, completion_done(&m->finished));
	complete(&m->returned);
	lt_park_until_stopped();
	return 0;
}

static void lt_call_flush(struct lt_manual *m)
{
	bhq_ctx_flush(m->ctx);
}

static void lt_call_destroy(struct lt_manual *m)
{
	bhq_ctx_destroy(m->ctx);
}

static void lt_call_cancel_sync(struct lt_manual *m)
{
	bhq_bh_cancel_sync(m->bh);
}

/*
 * A flush from a second task while the owner is inside its last poll:
 * it waits for the owner's callback, then, as the owner never polls
 * again, runs its barrier itself.  The old code warned of misuse and
 * then waited for a poll that never came.
 */
static void bhq_lifetime_flush_from_second_task_after_last_poll(struct kunit *test)
{
	struct lt_manual *m = lt_manual_new(test, "kunit-lastpoll", lt_block_fn,
					   BHQ_CTX_MANUAL);
	struct task_struct *owner, *flusher;
	long misuse = bhq_misuse_count();

	bhq_bh_schedule(m->bh);
	owner = lt_run(test, lt_poll_once_thread, m, "bhq-lt-once");
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&m->inside, LT_WAIT), 0);
	m->call = lt_call_flush;
	flusher = lt_run(test, lt_second_task_thread, m, "bhq-lt-flush1");
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&m->started, LT_WAIT), 0);
	msleep(20);
	/* The callback it waits for has not returned. */
	KUNIT_EXPECT_FALSE(test, completion_done(&m->returned));
	complete(&m->release);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&m->owner_exit,
							  LT_WAIT), 0);

	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&m->returned,
							  LT_WAIT), 0);
	if (!completion_done(&m->returned))
		bhq_poll(m->ctx);	/* run its barrier, then fail */
	KUNIT_EXPECT_TRUE(test, READ_ONCE(m->finished_at_return));
	KUNIT_EXPECT_EQ(test, bhq_misuse_count(), misuse);
	KUNIT_EXPECT_EQ(test, atomic_read(&m->runs), 1);
	lt_reap(owner);
	lt_reap(flusher);
	bhq_bh_delete(m->bh);
	bhq_ctx_destroy(m->ctx);
}

/* A callback that polls again (nested) once a flush barrier is pending. */
static void lt_nest_fn(void *opaque)
{
	struct lt_manual *m = opaque;

	complete(&m->inside);
	/* The flusher's barrier is pending: the nested poll carves it. */
	WRITE_ONCE(m->nested_met_barrier, lt_wait_pending(m->ctx));
	bhq_poll(m->ctx);
	complete(&m->nested);
	wait_for_completion_timeout(&m->release, LT_WAIT);
	atomic_inc(&m->runs);
	complete(&m->finished);
}

/*
 * A flush from a second task while the owner is in a callback that polls
 * again (nested): the nested poll meets the flush barrier, but the flush
 * must also wait for the outer callback to return.  The old code warned
 * of misuse and let the barrier run in the nested poll, so the flush
 * returned while the callback still ran.
 */
static void bhq_lifetime_flush_waits_for_outer_callback(struct kunit *test)
{
	struct lt_manual *m = lt_manual_new(test, "kunit-nestflush", lt_nest_fn,
					   BHQ_CTX_MANUAL);
	struct task_struct *owner, *flusher;
	long misuse = bhq_misuse_count();

	bhq_bh_schedule(m->bh);
	owner = lt_run(test, lt_poll_once_thread, m, "bhq-lt-nest");
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&m->inside, LT_WAIT), 0);
	m->call = lt_call_flush;
	flusher = lt_run(test, lt_second_task_thread, m, "bhq-lt-flush2");
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&m->nested, LT_WAIT), 0);
	/* Else the nested poll met no barrier: not the case it is about. */
	KUNIT_EXPECT_TRUE(test, READ_ONCE(m->nested_met_barrier));
	msleep(20);
	KUNIT_EXPECT_FALSE(test, completion_done(&m->returned));
	complete(&m->release);

	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&m->returned,
							  LT_WAIT), 0);
	if (!completion_done(&m->returned))
		bhq_poll(m->ctx);
	KUNIT_EXPECT_TRUE(test, READ_ONCE(m->finished_at_return));
	KUNIT_EXPECT_EQ(test, bhq_misuse_count(), misuse);
	KUNIT_EXPECT_EQ(test, atomic_read(&m->runs), 1);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&m->owner_exit,
							  LT_WAIT), 0);
	lt_reap(owner);
	lt_reap(flusher);
	bhq_bh_delete(m->bh);
	bhq_ctx_destroy(m->ctx);
}

/*
 * Destroy of a manual context from a second task while the owner's poll
 * is inside a callback: destroy waits for the poll to return before it
 * drains and frees.  The old code's drain gave up (with a misuse warning)
 * and freed the context under the poller (KASAN: use after free).
 */
static void bhq_lifetime_destroy_waits_for_poller(struct kunit *test)
{
	struct lt_manual *m = lt_manual_new(test, "kunit-destroypoll",
					    lt_block_fn, BHQ_CTX_MANUAL);
	struct task_struct *owner, *destroyer;
	long misuse = bhq_misuse_count();

	bhq_bh_schedule(m->bh);
	owner = lt_run(test, lt_poll_once_thread, m, "bhq-lt-polled");
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&m->inside, LT_WAIT), 0);
	/* The BH is deleted by its owner before destroy, as it must be. */
	bhq_bh_delete(m->bh);
	m->call = lt_call_destroy;
	destroyer = lt_run(test, lt_second_task_thread, m, "bhq-lt-destroy");
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&m->started, LT_WAIT), 0);
	msleep(20);
	KUNIT_EXPECT_FALSE(test, completion_done(&m->returned));
	complete(&m->release);

	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&m->owner_exit,
							  LT_WAIT), 0);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&m->returned,
							  LT_WAIT), 0);
	KUNIT_EXPECT_TRUE(test, READ_ONCE(m->finished_at_return));
	KUNIT_EXPECT_EQ(test, bhq_misuse_count(), misuse);
	KUNIT_EXPECT_EQ(test, atomic_read(&m->runs), 1);
	lt_reap(owner);
	lt_reap(destroyer);
}

/* --- 3. destroy terminates --------------------------------------------- */

struct lt_forever {
	struct bhq_bh *bh;
	struct bhq_ctx *ctx;
	bool stop;
	atomic_t runs;
	struct completion returned;
};

static void lt_forever_fn(void *opaque)
{
	struct lt_forever *f = opaque;

	atomic_inc(&f->runs);
	if (!READ_ONCE(f->stop))
		bhq_bh_schedule(f->bh);
}

static int lt_destroy_forever_thread(void *arg)
{
	struct lt_forever *f = arg;

	bhq_ctx_destroy(f->ctx);
	complete(&f->returned);
	lt_park_until_stopped();
	return 0;
}

/*
 * Destroy of a threaded context whose BH re-schedules itself non-idle
 * from its callback forever: destroy must return, naming the callback,
 * rather than hang (the old thread's busy loop never looked at
 * kthread_should_stop(), and its drain had no bound).  The BH, never
 * deleted, is then reported as leaked, and deleting it frees it.
 */
static void bhq_lifetime_destroy_bounds_a_rescheduling_callback(struct kunit *test)
{
	struct lt_forever f = {};
	struct task_struct *destroyer;
	long misuse = bhq_misuse_count();
	bool returned;

	init_completion(&f.returned);
	f.ctx = bhq_ctx_create("kunit-forever", 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(f.ctx));
	f.bh = bhq_bh_new(f.ctx, lt_forever_fn, &f);
	KUNIT_ASSERT_NOT_NULL(test, f.bh);
	bhq_bh_schedule(f.bh);

	kunit_info(test, "BHQ-EXPECTED-WARNING-BEGIN a destroy that cannot drain");
	destroyer = lt_run(test, lt_destroy_forever_thread, &f, "bhq-lt-forever");
	returned = wait_for_completion_timeout(&f.returned, 3 * LT_WAIT);
	if (!returned) {
		/* Let the old code's destroy finish, and fail. */
		WRITE_ONCE(f.stop, true);
		wait_for_completion(&f.returned);
	}
	kunit_info(test, "BHQ-EXPECTED-WARNING-END");
	KUNIT_EXPECT_TRUE_MSG(test, returned, "destroy did not return");
	/* "not drained" and "destroyed with live BH". */
	KUNIT_EXPECT_EQ(test, bhq_misuse_count() - misuse, 2);
	KUNIT_EXPECT_GE(test, atomic_read(&f.runs), 1000);
	lt_reap(destroyer);
	bhq_bh_delete(f.bh);
}

/* --- 4. bhq_bh_cancel_sync() ------------------------------------------- */

/*
 * A callback that sleeps on one CPU; cancel from another.  The plain
 * cancel returns while it runs; the sync cancel returns only once it has
 * returned.  On a threaded and on a manual context.
 */
static void lt_cancel_sync_while_running(struct kunit *test, unsigned int flags)
{
	struct lt_manual *m = lt_manual_new(test, "kunit-cancelsync",
					    lt_block_fn, flags);
	struct task_struct *owner = NULL, *canceller;

	bhq_bh_schedule(m->bh);
	if (flags & BHQ_CTX_MANUAL)
		owner = lt_run(test, lt_poll_once_thread, m, "bhq-lt-cspoll");
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&m->inside, LT_WAIT), 0);

	bhq_bh_cancel(m->bh);
	KUNIT_EXPECT_FALSE(test, completion_done(&m->finished));
	m->call = lt_call_cancel_sync;
	canceller = lt_run(test, lt_second_task_thread, m, "bhq-lt-cancel");
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&m->started, LT_WAIT), 0);
	msleep(20);
	KUNIT_EXPECT_FALSE(test, completion_done(&m->returned));
	complete(&m->release);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&m->returned,
							  LT_WAIT), 0);
	KUNIT_EXPECT_TRUE(test, READ_ONCE(m->finished_at_return));
	KUNIT_EXPECT_EQ(test, atomic_read(&m->runs), 1);
	lt_reap(canceller);
	if (owner) {
		KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&m->owner_exit,
								  LT_WAIT), 0);
		lt_reap(owner);
	}
	bhq_bh_delete(m->bh);
	bhq_ctx_destroy(m->ctx);
}

static void bhq_lifetime_cancel_sync_threaded(struct kunit *test)
{
	lt_cancel_sync_while_running(test, 0);
}

static void bhq_lifetime_cancel_sync_manual(struct kunit *test)
{
	lt_cancel_sync_while_running(test, BHQ_CTX_MANUAL);
}

/*
 * A pending BH that nobody polls: the sync cancel returns at once (it
 * does not run the context's other BHs), and the BH does not run later.
 */
static void bhq_lifetime_cancel_sync_pending(struct kunit *test)
{
	struct lt_manual *m = lt_manual_new(test, "kunit-cspending", lt_count_fn,
					   BHQ_CTX_MANUAL);
	struct bhq_bh *other;
	struct bhq_stats s;

	other = bhq_bh_new(m->ctx, lt_count_fn, m);
	KUNIT_ASSERT_NOT_NULL(test, other);
	bhq_bh_schedule(m->bh);
	bhq_bh_schedule(other);
	bhq_bh_cancel_sync(m->bh);
	KUNIT_EXPECT_EQ(test, atomic_read(&m->runs), 0);
	KUNIT_EXPECT_TRUE(test, bhq_poll(m->ctx));
	KUNIT_EXPECT_EQ(test, atomic_read(&m->runs), 1);
	bhq_ctx_get_stats(m->ctx, &s);
	KUNIT_EXPECT_EQ(test, s.executed, 1);
	KUNIT_EXPECT_EQ(test, s.cancelled, 1);
	bhq_bh_delete(other);
	bhq_bh_delete(m->bh);
	bhq_ctx_destroy(m->ctx);
}

/* --- 5. cancel_sync owns the BH while it waits ------------------------ */

/* The kinds of context cancel_sync is checked on. */
struct lt_kind {
	const char *name;
	unsigned int flags;
	bool per_cpu;
};

static const struct lt_kind lt_kinds[] = {
	{ "threaded", 0, false },
	{ "manual", BHQ_CTX_MANUAL, false },
	{ "per-CPU", 0, true },
};

KUNIT_ARRAY_PARAM_DESC(lt_kind, lt_kinds, name);

/* Schedules of the BH from the test task while cancel_sync waits. */
#define LT_RACING_SCHEDULES	5
/* The run of the self-rescheduling BH that blocks until released. */
#define LT_BLOCKING_RUN		3

struct lt_resched {
	struct bhq_ctx *ctx;
	struct bhq_bh *bh;
	atomic_t runs;
	bool active;		/* the callback runs */
	bool stop;		/* the callback no longer reschedules */
	bool active_at_return;	/* seen by the canceller as it returned */
	int runs_at_return;
	struct completion inside;	/* the blocking run started */
	struct completion release;	/* let it go on */
	struct completion returned;	/* cancel_sync returned */
};

/* A BH that reschedules itself until told to stop ("poll until done"). */
static void lt_resched_fn(void *opaque)
{
	struct lt_resched *r = opaque;

	WRITE_ONCE(r->active, true);
	if (atomic_inc_return(&r->runs) == LT_BLOCKING_RUN) {
		complete(&r->inside);
		wait_for_completion_timeout(&r->release, LT_WAIT);
	}
	if (!READ_ONCE(r->stop))
		bhq_bh_schedule(r->bh);
	WRITE_ONCE(r->active, false);
}

static int lt_resched_cancel_thread(void *arg)
{
	struct lt_resched *r = arg;

	bhq_bh_cancel_sync(r->bh);
	WRITE_ONCE(r->active_at_return, READ_ONCE(r->active));
	WRITE_ONCE(r->runs_at_return, atomic_read(&r->runs));
	complete(&r->returned);
	lt_park_until_stopped();
	return 0;
}

/* A manual context's owner: polls until stopped. */
static int lt_resched_owner_thread(void *arg)
{
	struct lt_resched *r = arg;

	while (!kthread_should_stop()) {
		bhq_poll(r->ctx);
		usleep_range(50, 100);
	}
	return 0;
}

/* Wait (bounded) until a sync cancel holds @bh disabled. */
static bool lt_wait_disabled(struct bhq_bh *bh)
{
	unsigned long end = jiffies + LT_WAIT;

	while (!(atomic_read(&bh->flags) & BHQ_BH_DISABLE_MASK)) {
		if (time_after(jiffies, end))
			return false;
		usleep_range(100, 200);
	}
	return true;
}

/*
 * A BH that reschedules itself from its callback, cancelled with
 * bhq_bh_cancel_sync() while its third run is inside the callback, and
 * scheduled LT_RACING_SCHEDULES times by the test task while the cancel
 * waits.  Every one of those schedules, and the callback's own, backs
 * out: when cancel_sync returns the callback is not running, ran exactly
 * three times, and does not run again (50 ms), the BH's flags are all
 * clear, and the refused counter says 1 + LT_RACING_SCHEDULES.  A
 * schedule after the return runs the BH once more.  The old cancel_sync
 * cleared SCHEDULED once: the callback's reschedule queued the BH behind
 * the flush barrier, so it ran a fourth time after cancel_sync returned.
 */
static void bhq_lifetime_cancel_sync_self_rescheduling(struct kunit *test)
{
	const struct lt_kind *kind = test->param_value;
	struct task_struct *owner = NULL, *canceller;
	struct lt_resched *r;
	struct bhq_stats before, s;
	unsigned int i;

	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	init_completion(&r->inside);
	init_completion(&r->release);
	init_completion(&r->returned);
	if (kind->per_cpu) {
		r->ctx = bhq_cpu_ctx(cpumask_last(cpu_online_mask));
	} else {
		r->ctx = bhq_ctx_create("kunit-csresched", kind->flags);
		KUNIT_ASSERT_FALSE(test, IS_ERR(r->ctx));
	}
	r->bh = bhq_bh_new(r->ctx, lt_resched_fn, r);
	KUNIT_ASSERT_NOT_NULL(test, r->bh);
	bhq_ctx_get_stats(r->ctx, &before);

	bhq_bh_schedule(r->bh);
	if (kind->flags & BHQ_CTX_MANUAL)
		owner = lt_run(test, lt_resched_owner_thread, r, "bhq-lt-rsown");
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&r->inside, LT_WAIT), 0);
	canceller = lt_run(test, lt_resched_cancel_thread, r, "bhq-lt-rscancel");
	KUNIT_EXPECT_TRUE(test, lt_wait_disabled(r->bh));
	for (i = 0; i < LT_RACING_SCHEDULES; i++)
		bhq_bh_schedule(r->bh);
	/* The cancel waits for the running callback. */
	KUNIT_EXPECT_FALSE(test, completion_done(&r->returned));
	complete(&r->release);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&r->returned,
							  LT_WAIT), 0);

	KUNIT_EXPECT_FALSE(test, READ_ONCE(r->active_at_return));
	KUNIT_EXPECT_EQ(test, READ_ONCE(r->runs_at_return), LT_BLOCKING_RUN);
	msleep(50);
	KUNIT_EXPECT_EQ(test, atomic_read(&r->runs), LT_BLOCKING_RUN);
	KUNIT_EXPECT_EQ(test, atomic_read(&r->bh->flags), 0);
	bhq_ctx_get_stats(r->ctx, &s);
	KUNIT_EXPECT_EQ(test, s.refused - before.refused,
			(u64)(1 + LT_RACING_SCHEDULES));

	/* A schedule after the return works as usual. */
	WRITE_ONCE(r->stop, true);
	bhq_bh_schedule(r->bh);
	bhq_ctx_flush(r->ctx);
	KUNIT_EXPECT_EQ(test, atomic_read(&r->runs), LT_BLOCKING_RUN + 1);

	lt_reap(canceller);
	if (owner)
		lt_reap(owner);
	bhq_bh_delete(r->bh);
	if (!kind->per_cpu)
		bhq_ctx_destroy(r->ctx);
	else
		bhq_ctx_flush(r->ctx);
}

/* --- 6. tearing down a manual context: the rule, and its check -------- */

#ifdef CONFIG_BHQ_DEBUG
struct lt_teardown {
	struct bhq_ctx *ctx;
	bool polled;			/* what the held owner's poll returned */
	struct completion go;		/* the callback lets the destroyer go */
	struct completion owner_done;
	struct completion flushed;
	struct completion destroyed;
};

/* Wait (bounded) until destroy has poisoned @ctx as dead. */
static bool lt_wait_dead(struct bhq_ctx *ctx)
{
	unsigned long end = jiffies + LT_WAIT;

	while (READ_ONCE(ctx->debug_state) != BHQ_DEBUG_CTX_DEAD) {
		if (time_after(jiffies, end))
			return false;
		usleep_range(100, 200);
	}
	return true;
}

static void lt_go_fn(void *opaque)
{
	struct lt_teardown *t = opaque;

	complete(&t->go);
	/* The destroy starts while this flush is under way. */
	msleep(20);
}

static int lt_teardown_owner_thread(void *arg)
{
	struct lt_teardown *t = arg;

	WRITE_ONCE(t->polled, bhq_poll(t->ctx));
	complete(&t->owner_done);
	lt_park_until_stopped();
	return 0;
}

static int lt_teardown_flusher_thread(void *arg)
{
	struct lt_teardown *t = arg;

	bhq_ctx_flush(t->ctx);
	complete(&t->flushed);
	lt_park_until_stopped();
	return 0;
}

static int lt_teardown_destroyer_thread(void *arg)
{
	struct lt_teardown *t = arg;

	wait_for_completion_timeout(&t->go, LT_WAIT);
	bhq_ctx_destroy(t->ctx);
	complete(&t->destroyed);
	lt_park_until_stopped();
	return 0;
}

/*
 * The window note (4) of include/linux/bhq.h rules out: the owner has
 * called bhq_poll() but not yet taken the role (held at the top of the
 * poll), a flush from another task polls in its place, and a callback of
 * that flush lets a destroyer go.  Destroy then starts while the flush is
 * under way, and the owner's poll goes on after the destroy returned.
 * CONFIG_BHQ_DEBUG reports both, exactly once each, and the owner's poll
 * returns false without touching the context (poisoned as dead until its
 * grace period, which the held poll's read-side section holds back).  The
 * old code had neither check: the owner read the context after its free,
 * a use after free that KASAN reported (make kunit-qemu).
 */
static void lt_destroy_while_owner_enters(struct kunit *test)
{
	struct task_struct *owner, *flusher, *destroyer;
	struct lt_teardown *t;
	unsigned long end;
	long misuse;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	init_completion(&t->go);
	init_completion(&t->owner_done);
	init_completion(&t->flushed);
	init_completion(&t->destroyed);
	t->ctx = bhq_ctx_create("kunit-teardown", BHQ_CTX_MANUAL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(t->ctx));
	KUNIT_ASSERT_EQ(test, bhq_schedule_oneshot(t->ctx, lt_go_fn, t,
						   GFP_KERNEL), 0);
	misuse = bhq_misuse_count();

	bhq_debug_hold_next_poll();
	owner = lt_run(test, lt_teardown_owner_thread, t, "bhq-lt-tdowner");
	end = jiffies + LT_WAIT;
	while (!bhq_debug_poll_held() && time_before(jiffies, end))
		usleep_range(100, 200);
	KUNIT_ASSERT_TRUE(test, bhq_debug_poll_held());
	kunit_info(test, "BHQ-EXPECTED-WARNING-BEGIN destroy during a flush, poll after destroy");
	destroyer = lt_run(test, lt_teardown_destroyer_thread, t, "bhq-lt-tddestroy");
	flusher = lt_run(test, lt_teardown_flusher_thread, t, "bhq-lt-tdflush");
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&t->flushed, LT_WAIT), 0);
	/*
	 * Destroy has drained; it cannot free the context (nor, with
	 * lockdep, return from the key's removal) before the held poll
	 * leaves its read-side section.
	 */
	KUNIT_EXPECT_TRUE(test, lt_wait_dead(t->ctx));
	KUNIT_EXPECT_FALSE(test, completion_done(&t->owner_done));
	bhq_debug_release_poll();
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&t->owner_done, LT_WAIT), 0);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&t->destroyed, LT_WAIT), 0);
	kunit_info(test, "BHQ-EXPECTED-WARNING-END");
	KUNIT_EXPECT_FALSE(test, READ_ONCE(t->polled));
	/* "destroyed while a flush ... is under way", "poll ... after its destroy returned" */
	KUNIT_EXPECT_EQ(test, bhq_misuse_count() - misuse, 2);
	lt_reap(owner);
	lt_reap(flusher);
	lt_reap(destroyer);
}
#else
static void lt_destroy_while_owner_enters(struct kunit *test)
{
}
#endif

static void bhq_lifetime_destroy_while_owner_enters(struct kunit *test)
{
	lt_need_debug(test);
	lt_destroy_while_owner_enters(test);
}

struct lt_draining {
	struct bhq_ctx *ctx;
	struct bhq_bh *other;		/* a BH the test task misuses */
	struct completion inside;	/* the drain runs the blocking callback */
	struct completion release;
	struct completion destroyed;
};

/* Run by the drain: block, then delete @other (an own callback may). */
static void lt_draining_fn(void *opaque)
{
	struct lt_draining *d = opaque;

	complete(&d->inside);
	wait_for_completion_timeout(&d->release, LT_WAIT);
	bhq_bh_delete(d->other);
}

static int lt_draining_destroyer_thread(void *arg)
{
	struct lt_draining *d = arg;

	bhq_ctx_destroy(d->ctx);
	complete(&d->destroyed);
	lt_park_until_stopped();
	return 0;
}

/*
 * While destroy drains a manual context (its callback blocks in the
 * destroyer's task), another task schedules a BH of it, flushes it and
 * sync-cancels the BH: note (4) of include/linux/bhq.h rules all three
 * out, and CONFIG_BHQ_DEBUG reports each exactly once and does nothing
 * else: the BH is not queued (the drain runs nothing more), the flush
 * and the cancel do not wait.  Without the checks the schedule would be
 * drained and run, and the flush would poll in place of the destroyer.
 */
static void bhq_lifetime_calls_while_destroy_drains(struct kunit *test)
{
	struct task_struct *destroyer;
	struct lt_draining *d;
	struct bhq_stats s;
	long misuse;

	if (!IS_ENABLED(CONFIG_BHQ_DEBUG))
		kunit_skip(test, "needs CONFIG_BHQ_DEBUG");
	d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d);
	init_completion(&d->inside);
	init_completion(&d->release);
	init_completion(&d->destroyed);
	d->ctx = bhq_ctx_create("kunit-draining", BHQ_CTX_MANUAL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(d->ctx));
	d->other = bhq_bh_new(d->ctx, lt_draining_fn, d);
	KUNIT_ASSERT_NOT_NULL(test, d->other);
	KUNIT_ASSERT_EQ(test, bhq_schedule_oneshot(d->ctx, lt_draining_fn, d,
						   GFP_KERNEL), 0);
	misuse = bhq_misuse_count();

	destroyer = lt_run(test, lt_draining_destroyer_thread, d, "bhq-lt-drain");
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&d->inside, LT_WAIT), 0);
	kunit_info(test, "BHQ-EXPECTED-WARNING-BEGIN calls while destroy drains");
	bhq_bh_schedule(d->other);
	bhq_ctx_flush(d->ctx);
	bhq_bh_cancel_sync(d->other);
	kunit_info(test, "BHQ-EXPECTED-WARNING-END");
	KUNIT_EXPECT_EQ(test, bhq_misuse_count() - misuse, 3);
	/* The schedule changed nothing: not counted, not queued. */
	bhq_ctx_get_stats(d->ctx, &s);
	KUNIT_EXPECT_EQ(test, s.scheduled, 1);
	KUNIT_EXPECT_EQ(test, s.refused, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->other->flags), 0);
	KUNIT_EXPECT_TRUE(test, llist_empty(&d->ctx->pending));
	KUNIT_EXPECT_FALSE(test, completion_done(&d->destroyed));
	complete(&d->release);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&d->destroyed, LT_WAIT), 0);
	/* The drain itself reported nothing: no leak, no late poll. */
	KUNIT_EXPECT_EQ(test, bhq_misuse_count() - misuse, 3);
	lt_reap(destroyer);
}

/* --- 7. a schedule still returning reads a reused BH ------------------- */

#ifdef CONFIG_BHQ_DEBUG
/* Oneshots the second context may allocate before one lands in the slot. */
#define LT_REUSE_TRIES	256

struct lt_reuse {
	struct bhq_ctx *ctx;		/* the idle schedule's, manual */
	struct bhq_ctx *other;		/* the second context, manual */
	struct bhq_bh *bh;		/* the idle schedule's BH: its slot */
	atomic_t runs;			/* of @bh's callback */
	bool wrong_publish;		/* the call ran in another publish */
	int err;			/* of the last oneshot */
	unsigned int tries;		/* oneshots scheduled on @other */
	bool reused;			/* the last one is in @bh's slot */
	atomic_t other_runs[LT_REUSE_TRIES];	/* of each oneshot */
};

/* @bh's callback: it deletes its own BH, as a callback may. */
static void lt_reuse_delete_fn(void *opaque)
{
	struct lt_reuse *u = opaque;

	atomic_inc(&u->runs);
	bhq_bh_delete(u->bh);
}

static void lt_reuse_count_fn(void *opaque)
{
	atomic_inc(opaque);
}

/*
 * Run inside the idle schedule of @u->bh, right after it added the BH to
 * the list, before it re-reads the BH's flags (bhq_nonidle_while_adding()):
 * the callback runs and deletes the BH, a poll frees it, and the second
 * context schedules oneshots until one is allocated in the freed slot.
 * Nothing here may sleep: the schedule is in its RCU read-side section.
 */
static void lt_reuse_in_publish(void *arg)
{
	struct lt_reuse *u = arg;
	struct llist_node *slot = &u->bh->node;

	if (READ_ONCE(u->ctx->pending.first) != slot) {
		u->wrong_publish = true;
		return;
	}
	/* Runs the callback, which puts the deleted BH back on the list ... */
	bhq_debug_poll_atomic(u->ctx);
	/* ... and this poll frees it: with the type-stable cache, at once. */
	bhq_debug_poll_atomic(u->ctx);
	while (!u->reused && u->tries < LT_REUSE_TRIES) {
		u->err = bhq_schedule_oneshot(u->other, lt_reuse_count_fn,
					      &u->other_runs[u->tries],
					      GFP_ATOMIC);
		if (u->err)
			return;
		u->tries++;
		/* The newest BH on @other's list is the oneshot just made. */
		u->reused = READ_ONCE(u->other->pending.first) == slot;
	}
}

/*
 * An idle schedule still returning when its BH has been deleted by its
 * callback, freed, and handed out again as a oneshot of another context
 * that is pending there: the interleaving of production kernels, whose
 * cache is SLAB_TYPESAFE_BY_RCU, and which no memory checker sees (KASAN
 * delays the reuse of such a cache by a grace period).  One CPU suffices:
 * the steps run inside the schedule, right after its publish
 * (bhq_debug_call_at_next_publish()).  It needs the type-stable cache,
 * bhq.debug_bh_cache=typesafe (make kunit passes it); with the default rcu
 * cache of debug builds the slot comes back only after the schedule has
 * returned, and the case skips.
 *
 * After its publish the schedule counts on the context it read before
 * it (this case's first one) and re-reads the NONIDLE bit of what now
 * sits in the slot: the oneshot, scheduled non-idle.  So it turns the
 * first context's non-idle flag on, needlessly: nothing is pending there,
 * and bhq_compute_timeout() says 0 until the next poll clears the flag,
 * which its contract allows.  It writes nothing to the oneshot and counts
 * nothing on the second context.  Exactly, with N oneshots scheduled
 * (N >= 1, the last in the slot; usually 1):
 *
 * - first context: scheduled 1, coalesced 0, executed 1 and executed_idle
 *   1 (the BH ran as scheduled, idle: its NONIDLE bit was read only after
 *   it ran), cancelled 0, deleted 1, live 0, wakeups 0 (manual);
 * - second context, after one poll: scheduled N, coalesced 0, executed N,
 *   executed_idle 0 (oneshots are non-idle), cancelled 0, deleted N,
 *   live 0, wakeups 0;
 * - the first BH's callback ran once, and each oneshot's once, the one in
 *   the slot included; no misuse was counted.
 *
 * A schedule that read the context, or counted, through the BH after its
 * publish would count on the second context; one that wrote the BH's
 * flags would make the oneshot run twice, or not at all.
 *
 * The other cases of a schedule still returning check, with the rcu cache
 * (make kunit-qemu, under KASAN), that the schedule touches the deleted BH
 * only inside its read-side section: the BH is then still allocated, and
 * KASAN reports any use after the grace period.  With the type-stable
 * cache they check that it finishes on memory that may have been freed;
 * as they allocate no BH meanwhile it reads the deleted BH itself, and
 * only KASAN (which then delays the reuse by a grace period) would see a
 * use outside the section.
 */
static void bhq_lifetime_idle_schedule_reads_reused_bh(struct kunit *test)
{
	long misuse = bhq_misuse_count();
	struct lt_reuse *u;
	struct bhq_stats s;
	unsigned int i;
	bool flag_on;

	if (!bhq_debug_bh_cache_typesafe())
		kunit_skip(test, "the BH cache is not type-stable (bhq.debug_bh_cache=rcu)");
	u = kunit_kzalloc(test, sizeof(*u), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, u);
	u->ctx = bhq_ctx_create("kunit-reuse", BHQ_CTX_MANUAL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(u->ctx));
	u->other = bhq_ctx_create("kunit-reuse2", BHQ_CTX_MANUAL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(u->other));
	u->bh = bhq_bh_new(u->ctx, lt_reuse_delete_fn, u);
	KUNIT_ASSERT_NOT_NULL(test, u->bh);

	bhq_debug_call_at_next_publish(lt_reuse_in_publish, u);
	bhq_bh_schedule_idle(u->bh);
	/* @u->bh is freed: only its address is compared below. */
	KUNIT_EXPECT_FALSE(test, u->wrong_publish);
	KUNIT_EXPECT_EQ(test, u->err, 0);
	KUNIT_EXPECT_GE(test, u->tries, 1);
	kunit_info(test, "%u oneshot(s) until the slot was reused: %s",
		   u->tries, u->reused ? "yes" : "no");

	/* Nothing is pending on the first context, but the flag is on. */
	KUNIT_EXPECT_TRUE(test, llist_empty(&u->ctx->pending));
	flag_on = u->reused && !bhq_compute_timeout(u->ctx);
	KUNIT_EXPECT_FALSE(test, bhq_poll(u->ctx));
	KUNIT_EXPECT_EQ(test, bhq_compute_timeout(u->ctx), BHQ_TIMEOUT_INFINITE);
	/* Only non-idle BHs on the second: the poll makes progress. */
	KUNIT_EXPECT_EQ(test, bhq_poll(u->other), u->tries > 0);
	if (!u->reused) {
		bhq_ctx_destroy(u->other);
		bhq_ctx_destroy(u->ctx);
		kunit_skip(test, "the cache did not hand the freed BH out again in %u allocations",
			   u->tries);
	}
	KUNIT_EXPECT_TRUE_MSG(test, flag_on,
			      "the idle schedule did not read the reused BH's NONIDLE bit");

	bhq_ctx_get_stats(u->ctx, &s);
	KUNIT_EXPECT_EQ(test, s.scheduled, 1);
	KUNIT_EXPECT_EQ(test, s.coalesced, 0);
	KUNIT_EXPECT_EQ(test, s.executed, 1);
	KUNIT_EXPECT_EQ(test, s.executed_idle, 1);
	KUNIT_EXPECT_EQ(test, s.cancelled, 0);
	KUNIT_EXPECT_EQ(test, s.deleted, 1);
	KUNIT_EXPECT_EQ(test, s.live, 0);
	KUNIT_EXPECT_EQ(test, s.wakeups, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&u->runs), 1);

	bhq_ctx_get_stats(u->other, &s);
	KUNIT_EXPECT_EQ(test, s.scheduled, u->tries);
	KUNIT_EXPECT_EQ(test, s.coalesced, 0);
	KUNIT_EXPECT_EQ(test, s.executed, u->tries);
	KUNIT_EXPECT_EQ(test, s.executed_idle, 0);
	KUNIT_EXPECT_EQ(test, s.cancelled, 0);
	KUNIT_EXPECT_EQ(test, s.deleted, u->tries);
	KUNIT_EXPECT_EQ(test, s.live, 0);
	KUNIT_EXPECT_EQ(test, s.wakeups, 0);
	for (i = 0; i < u->tries; i++)
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&u->other_runs[i]), 1,
				    "oneshot %u of %u", i + 1, u->tries);

	KUNIT_EXPECT_EQ(test, bhq_misuse_count(), misuse);
	bhq_ctx_destroy(u->other);
	bhq_ctx_destroy(u->ctx);
}
#else
static void bhq_lifetime_idle_schedule_reads_reused_bh(struct kunit *test)
{
	kunit_skip(test, "needs CONFIG_BHQ_DEBUG");
}
#endif

static struct kunit_case bhq_lifetime_cases[] = {
	KUNIT_CASE_PARAM(bhq_lifetime_destroy_while_schedule_returns,
			 lt_returning_gen_params),
	KUNIT_CASE(bhq_lifetime_self_delete_while_idle_schedule_returns),
	KUNIT_CASE(bhq_lifetime_owner_polls_while_another_task_flushes),
	KUNIT_CASE(bhq_lifetime_owner_waits_for_two_flushers_bounded),
	KUNIT_CASE(bhq_lifetime_flush_from_second_task_after_last_poll),
	KUNIT_CASE(bhq_lifetime_flush_waits_for_outer_callback),
	KUNIT_CASE(bhq_lifetime_destroy_waits_for_poller),
	KUNIT_CASE(bhq_lifetime_destroy_bounds_a_rescheduling_callback),
	KUNIT_CASE(bhq_lifetime_cancel_sync_threaded),
	KUNIT_CASE(bhq_lifetime_cancel_sync_manual),
	KUNIT_CASE(bhq_lifetime_cancel_sync_pending),
	KUNIT_CASE_PARAM(bhq_lifetime_cancel_sync_self_rescheduling,
			 lt_kind_gen_params),
	KUNIT_CASE(bhq_lifetime_destroy_while_owner_enters),
	KUNIT_CASE(bhq_lifetime_calls_while_destroy_drains),
	KUNIT_CASE(bhq_lifetime_idle_schedule_reads_reused_bh),
	{}
};

static struct kunit_suite bhq_lifetime_suite = {
	.name = "bhq_lifetime",
	.exit = lt_exit,
	.test_cases = bhq_lifetime_cases,
};

kunit_test_suite(bhq_lifetime_suite);

MODULE_DESCRIPTION("KUnit tests for bhq: lifetimes, ownership and teardown");
MODULE_LICENSE("GPL");
BHQ_IMPORT_KUNIT_NS();
