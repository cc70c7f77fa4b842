// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for bhq.
 *
 * Most cases drive a manual context with bhq_poll() so that every order
 * and every counter is exact.  Callbacks append a letter to a trace, so an
 * expected order reads as a string.  Threaded, per-CPU and concurrent
 * cases wait with bounded timeouts and never hang.
 */

#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "../kmod/bhq_internal.h"

#define BHQ_TEST_WAIT		(10 * HZ)

/*
 * The SMP runs (make kunit-qemu, make kunit-kcsan) boot with
 * bhq_kunit.min_cpus=4 so that they cannot silently run on one CPU.
 */
static unsigned int min_cpus;
module_param(min_cpus, uint, 0444);
MODULE_PARM_DESC(min_cpus, "fail unless at least this many CPUs are online");
#define BHQ_TEST_TRACE_MAX	64

/* A trace of callbacks, as letters. */
struct bhq_test_trace {
	char buf[BHQ_TEST_TRACE_MAX];
	unsigned int len;
};

static void trace_add(struct bhq_test_trace *t, char c)
{
	if (t->len < BHQ_TEST_TRACE_MAX - 1)
		t->buf[t->len++] = c;
}

/*
 * A test BH: a letter, the trace it writes to, and an optional action run
 * after the letter is written (the action makes nesting, deleting and
 * re-scheduling from callbacks).
 */
struct bhq_test_bh {
	struct bhq_bh *bh;
	struct bhq_test_trace *trace;
	char letter;
	void (*action)(struct bhq_test_bh *tb);
	struct bhq_test_bh *other;	/* for the action */
	struct bhq_ctx *ctx;		/* for the action */
	struct kunit *test;		/* for the action */
	s64 timeout;			/* what the action measured */
	struct bhq_stats stats;		/* what the action measured */
};

static void bhq_test_fn(void *opaque)
{
	struct bhq_test_bh *tb = opaque;

	trace_add(tb->trace, tb->letter);
	if (tb->action)
		tb->action(tb);
}

/* Per-test state: a manual context, its trace and up to 8 test BHs. */
struct bhq_test_env {
	struct bhq_ctx *ctx;
	struct bhq_test_trace trace;
	struct bhq_test_bh tbs[8];
	struct bhq_stats start;
};

static int bhq_test_init(struct kunit *test)
{
	struct bhq_test_env *env;
	char name[BHQ_CTX_NAME_MAX + 1];
	static atomic_t seq = ATOMIC_INIT(0);
	unsigned int i;

	env = kunit_kzalloc(test, sizeof(*env), GFP_KERNEL);
	if (!env)
		return -ENOMEM;
	snprintf(name, sizeof(name), "kunit%d", atomic_inc_return(&seq));
	env->ctx = bhq_ctx_create(name, BHQ_CTX_MANUAL);
	if (IS_ERR(env->ctx))
		return PTR_ERR(env->ctx);
	for (i = 0; i < ARRAY_SIZE(env->tbs); i++) {
		struct bhq_test_bh *tb = &env->tbs[i];

		tb->trace = &env->trace;
		tb->letter = 'A' + i;
		tb->ctx = env->ctx;
		tb->test = test;
		tb->bh = bhq_bh_new(env->ctx, bhq_test_fn, tb);
		if (!tb->bh)
			return -ENOMEM;
	}
	bhq_ctx_get_stats(env->ctx, &env->start);
	test->priv = env;
	return 0;
}

static void bhq_test_exit(struct kunit *test)
{
	struct bhq_test_env *env = test->priv;
	unsigned int i;

	if (!env)
		return;
	for (i = 0; i < ARRAY_SIZE(env->tbs); i++)
		bhq_bh_delete(env->tbs[i].bh);
	bhq_ctx_destroy(env->ctx);
}

/* The trace so far, and start a new one. */
static const char *trace_take(struct bhq_test_env *env)
{
	static char out[BHQ_TEST_TRACE_MAX];

	memcpy(out, env->trace.buf, env->trace.len);
	out[env->trace.len] = '\0';
	env->trace.len = 0;
	return out;
}

static struct bhq_test_bh *tb(struct kunit *test, char letter)
{
	struct bhq_test_env *env = test->priv;

	return &env->tbs[letter - 'A'];
}

static void sched(struct kunit *test, const char *letters)
{
	for (; *letters; letters++)
		bhq_bh_schedule(tb(test, *letters)->bh);
}

static void sched_idle(struct kunit *test, const char *letters)
{
	for (; *letters; letters++)
		bhq_bh_schedule_idle(tb(test, *letters)->bh);
}

static struct bhq_stats stats_now(struct kunit *test)
{
	struct bhq_test_env *env = test->priv;
	struct bhq_stats s;

	bhq_ctx_get_stats(env->ctx, &s);
	return s;
}

#define POLL(test)	bhq_poll(((struct bhq_test_env *)(test)->priv)->ctx)
#define TIMEOUT(test)	\
	bhq_compute_timeout(((struct bhq_test_env *)(test)->priv)->ctx)
#define TRACE(test)	trace_take((test)->priv)

/* Actions run by callbacks. */
static void act_schedule_other_and_poll(struct bhq_test_bh *t)
{
	bhq_bh_schedule(t->other->bh);
	bhq_poll(t->ctx);
}

static void act_schedule_other(struct bhq_test_bh *t)
{
	bhq_bh_schedule(t->other->bh);
}

static void act_schedule_other_idle(struct bhq_test_bh *t)
{
	bhq_bh_schedule_idle(t->other->bh);
}

static void act_schedule_self(struct bhq_test_bh *t)
{
	bhq_bh_schedule(t->bh);
}

static void act_measure_timeout(struct bhq_test_bh *t)
{
	t->timeout = bhq_compute_timeout(t->ctx);
}

/* --- nesting and slices ------------------------------------------------ */

/*
 * A nests a poll after scheduling B, B after scheduling C: three levels.
 * X (in A's slice) schedules Y.  The nested poll of A first finishes A's
 * slice (X), then runs its own slice (B); Y was scheduled during that
 * poll, so it runs in the next one: B's nested poll, before C.
 */
static void bhq_test_nesting_three_levels(struct kunit *test)
{
	struct bhq_test_bh *a = tb(test, 'A'), *b = tb(test, 'B');
	struct bhq_test_bh *x = tb(test, 'D'), *y = tb(test, 'E');
	struct bhq_stats s;

	a->action = act_schedule_other_and_poll;
	a->other = b;
	b->action = act_schedule_other_and_poll;
	b->other = tb(test, 'C');
	x->action = act_schedule_other;
	x->other = y;

	sched(test, "AD");
	KUNIT_EXPECT_TRUE(test, POLL(test));
	KUNIT_EXPECT_STREQ(test, TRACE(test), "ADBEC");

	s = stats_now(test);
	KUNIT_EXPECT_EQ(test, s.polls, 3);
	KUNIT_EXPECT_EQ(test, s.nested_polls, 2);
	KUNIT_EXPECT_EQ(test, s.max_depth, 3);
	KUNIT_EXPECT_EQ(test, s.executed, 5);
	KUNIT_EXPECT_EQ(test, TIMEOUT(test), BHQ_TIMEOUT_INFINITE);
}

/* The remainder of the outer slice runs before the nested slice. */
static void bhq_test_outer_slice_before_nested_slice(struct kunit *test)
{
	struct bhq_test_bh *a = tb(test, 'A');

	a->action = act_schedule_other_and_poll;
	a->other = tb(test, 'D');

	sched(test, "ABC");
	KUNIT_EXPECT_TRUE(test, POLL(test));
	KUNIT_EXPECT_STREQ(test, TRACE(test), "ABCD");
	KUNIT_EXPECT_FALSE(test, POLL(test));
	KUNIT_EXPECT_STREQ(test, TRACE(test), "");
}

/* A BH scheduled by a callback runs in the next poll, not the current. */
static void bhq_test_scheduled_during_poll_runs_next_poll(struct kunit *test)
{
	struct bhq_test_bh *a = tb(test, 'A');

	a->action = act_schedule_self;
	sched(test, "AB");
	KUNIT_EXPECT_TRUE(test, POLL(test));
	KUNIT_EXPECT_STREQ(test, TRACE(test), "AB");
	a->action = NULL;
	KUNIT_EXPECT_TRUE(test, POLL(test));
	KUNIT_EXPECT_STREQ(test, TRACE(test), "A");
	KUNIT_EXPECT_FALSE(test, POLL(test));
}

/* --- FIFO order of 10000 BHs in one slice --------------------------------- */

#define BHQ_TEST_MANY	10000

struct bhq_test_order {
	const char *name;
	unsigned int (*nth)(unsigned int i);	/* i-th BH to schedule */
};

static unsigned int order_ascending(unsigned int i)
{
	return i;
}

static unsigned int order_descending(unsigned int i)
{
	return BHQ_TEST_MANY - 1 - i;
}

/* A permutation: 7919 is prime, so i * 7919 mod 10000 hits every index. */
static unsigned int order_strided(unsigned int i)
{
	return (i * 7919U) % BHQ_TEST_MANY;
}

static const struct bhq_test_order bhq_test_orders[] = {
	{ "ascending", order_ascending },
	{ "descending", order_descending },
	{ "strided", order_strided },
};

KUNIT_ARRAY_PARAM_DESC(bhq_test_order, bhq_test_orders, name);

struct bhq_test_many {
	unsigned int *ran;	/* indices, in the order they ran */
	unsigned int nr_ran;
};

struct bhq_test_many_bh {
	struct bhq_test_many *many;
	unsigned int index;
};

static void bhq_test_many_fn(void *opaque)
{
	struct bhq_test_many_bh *mb = opaque;
	struct bhq_test_many *many = mb->many;

	if (many->nr_ran < BHQ_TEST_MANY)
		many->ran[many->nr_ran++] = mb->index;
}

/* BHs run in the order they were scheduled, not the order of creation. */
static void bhq_test_fifo_within_slice(struct kunit *test)
{
	const struct bhq_test_order *order = test->param_value;
	struct bhq_test_env *env = test->priv;
	struct bhq_test_many_bh *mbs;
	struct bhq_test_many many = {};
	struct bhq_bh **bhs;
	unsigned int i, wrong = 0;

	mbs = kunit_kcalloc(test, BHQ_TEST_MANY, sizeof(*mbs), GFP_KERNEL);
	bhs = kunit_kcalloc(test, BHQ_TEST_MANY, sizeof(*bhs), GFP_KERNEL);
	many.ran = kunit_kcalloc(test, BHQ_TEST_MANY, sizeof(*many.ran),
				 GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mbs);
	KUNIT_ASSERT_NOT_NULL(test, bhs);
	KUNIT_ASSERT_NOT_NULL(test, many.ran);

	for (i = 0; i < BHQ_TEST_MANY; i++) {
		mbs[i].many = &many;
		mbs[i].index = i;
		bhs[i] = bhq_bh_new(env->ctx, bhq_test_many_fn, &mbs[i]);
		KUNIT_ASSERT_NOT_NULL(test, bhs[i]);
	}
	for (i = 0; i < BHQ_TEST_MANY; i++)
		bhq_bh_schedule(bhs[order->nth(i)]);

	KUNIT_EXPECT_TRUE(test, POLL(test));
	KUNIT_EXPECT_EQ(test, many.nr_ran, BHQ_TEST_MANY);
	for (i = 0; i < many.nr_ran; i++)
		wrong += many.ran[i] != order->nth(i);
	KUNIT_EXPECT_EQ_MSG(test, wrong, 0, "%u BHs out of FIFO order", wrong);

	for (i = 0; i < BHQ_TEST_MANY; i++)
		bhq_bh_delete(bhs[i]);
	KUNIT_EXPECT_FALSE(test, POLL(test));
	KUNIT_EXPECT_EQ(test, stats_now(test).live, ARRAY_SIZE(env->tbs));
}

/* --- the idle flag and the timeout -------------------------------------- */

struct bhq_test_timeout_case {
	const char *name;
	const char *nonidle;	/* scheduled with bhq_bh_schedule(), first */
	const char *idle;	/* then with bhq_bh_schedule_idle() */
	const char *nonidle2;	/* then with bhq_bh_schedule() again */
	s64 timeout;
	bool progress;
	u64 executed_idle;
};

static const struct bhq_test_timeout_case bhq_test_timeout_cases[] = {
	{ "nothing", "", "", "", BHQ_TIMEOUT_INFINITE, false, 0 },
	{ "one idle", "", "A", "", BHQ_IDLE_TIMEOUT_NS, false, 1 },
	{ "two idle", "", "AB", "", BHQ_IDLE_TIMEOUT_NS, false, 2 },
	{ "one non-idle", "A", "", "", 0, true, 0 },
	{ "idle and non-idle", "A", "B", "", 0, true, 1 },
	{ "non-idle after idle", "", "A", "B", 0, true, 1 },
	{ "non-idle wins, idle first", "", "A", "A", 0, true, 0 },
	{ "non-idle wins, idle last", "A", "A", "", 0, true, 0 },
};

KUNIT_ARRAY_PARAM_DESC(bhq_test_timeout, bhq_test_timeout_cases, name);

/* The timeout before and after a poll, progress, and idle accounting. */
static void bhq_test_idle_flag(struct kunit *test)
{
	const struct bhq_test_timeout_case *c = test->param_value;
	struct bhq_stats s;

	sched(test, c->nonidle);
	sched_idle(test, c->idle);
	sched(test, c->nonidle2);
	KUNIT_EXPECT_EQ(test, TIMEOUT(test), c->timeout);
	KUNIT_EXPECT_EQ(test, POLL(test), c->progress);
	KUNIT_EXPECT_EQ(test, TIMEOUT(test), BHQ_TIMEOUT_INFINITE);

	s = stats_now(test);
	KUNIT_EXPECT_EQ(test, s.executed_idle, c->executed_idle);
	KUNIT_EXPECT_EQ(test, s.progress_polls, c->progress ? 1 : 0);
	KUNIT_EXPECT_EQ(test, s.timeouts_zero, c->timeout == 0 ? 1 : 0);
	KUNIT_EXPECT_EQ(test, s.timeouts_idle,
			c->timeout == BHQ_IDLE_TIMEOUT_NS ? 1 : 0);
	KUNIT_EXPECT_EQ(test, s.timeouts_infinite,
			c->timeout == BHQ_TIMEOUT_INFINITE ? 2 : 1);
}

/*
 * The review's naive reading, "clear the flag at the end of the poll",
 * would lose the flag of B, scheduled by A's callback during the poll.
 */
static void bhq_test_rescheduled_by_callback_keeps_zero_timeout(struct kunit *test)
{
	struct bhq_test_bh *a = tb(test, 'A');

	a->action = act_schedule_other;
	a->other = tb(test, 'B');
	sched(test, "A");
	KUNIT_EXPECT_TRUE(test, POLL(test));
	KUNIT_EXPECT_EQ(test, TIMEOUT(test), 0);
	KUNIT_EXPECT_TRUE(test, POLL(test));
	KUNIT_EXPECT_STREQ(test, TRACE(test), "AB");

	/* An idle BH scheduled the same way leaves the idle timeout. */
	a->action = act_schedule_other_idle;
	sched(test, "A");
	KUNIT_EXPECT_TRUE(test, POLL(test));
	KUNIT_EXPECT_EQ(test, TIMEOUT(test), BHQ_IDLE_TIMEOUT_NS);
	KUNIT_EXPECT_FALSE(test, POLL(test));
	KUNIT_EXPECT_EQ(test, TIMEOUT(test), BHQ_TIMEOUT_INFINITE);
	KUNIT_EXPECT_STREQ(test, TRACE(test), "AB");
}

/*
 * The timeout seen by a callback counts BHs still waiting in the slice of
 * the running poll: 0 if one is non-idle, idle if all are, infinite when
 * the slice is done.
 */
static void bhq_test_timeout_counts_waiting_slices(struct kunit *test)
{
	struct bhq_test_bh *a = tb(test, 'A');

	a->action = act_measure_timeout;
	sched(test, "AB");
	POLL(test);
	KUNIT_EXPECT_EQ(test, a->timeout, 0);

	sched_idle(test, "AB");
	POLL(test);
	KUNIT_EXPECT_EQ(test, a->timeout, BHQ_IDLE_TIMEOUT_NS);

	sched(test, "A");
	POLL(test);
	KUNIT_EXPECT_EQ(test, a->timeout, BHQ_TIMEOUT_INFINITE);
	KUNIT_EXPECT_STREQ(test, TRACE(test), "ABABA");
}

/* --- cancel, delete, oneshot, coalescing --------------------------------- */

static void bhq_test_cancel(struct kunit *test)
{
	struct bhq_stats s;

	sched(test, "ABC");
	bhq_bh_cancel(tb(test, 'B')->bh);
	KUNIT_EXPECT_TRUE(test, POLL(test));
	KUNIT_EXPECT_STREQ(test, TRACE(test), "AC");
	s = stats_now(test);
	KUNIT_EXPECT_EQ(test, s.cancelled, 1);
	KUNIT_EXPECT_EQ(test, s.executed, 2);

	/* Cancelled, then scheduled again: it keeps its place. */
	sched(test, "ABC");
	bhq_bh_cancel(tb(test, 'A')->bh);
	sched(test, "A");
	KUNIT_EXPECT_TRUE(test, POLL(test));
	KUNIT_EXPECT_STREQ(test, TRACE(test), "ABC");

	/* Cancelling an idle BH: nothing runs, the poll is no progress. */
	sched_idle(test, "D");
	bhq_bh_cancel(tb(test, 'D')->bh);
	KUNIT_EXPECT_FALSE(test, POLL(test));
	KUNIT_EXPECT_STREQ(test, TRACE(test), "");
	s = stats_now(test);
	KUNIT_EXPECT_EQ(test, s.cancelled, 2);
	KUNIT_EXPECT_EQ(test, s.coalesced, 1);
}

static void act_delete_self(struct bhq_test_bh *t)
{
	bhq_bh_delete(t->bh);
	t->bh = NULL;
}

static void act_delete_other(struct bhq_test_bh *t)
{
	bhq_bh_delete(t->other->bh);
	t->other->bh = NULL;
}

/* Deleted by its own callback, then a nested poll: still not freed. */
static void act_delete_self_then_poll(struct bhq_test_bh *t)
{
	act_delete_self(t);
	bhq_poll(t->ctx);
	bhq_ctx_get_stats(t->ctx, &t->stats);
}

struct bhq_test_delete_case {
	const char *name;
	void (*setup)(struct kunit *test);
	const char *first_poll;		/* trace of the first poll */
	u64 live_after_first;		/* live BHs after it (of 8) */
	const char *second_poll;
};

/* Pending when deleted: never runs, freed by that poll. */
static void delete_pending(struct kunit *test)
{
	sched(test, "AB");
	act_delete_self(tb(test, 'A'));
}

/* Never scheduled: freed by the next poll. */
static void delete_never_scheduled(struct kunit *test)
{
	act_delete_self(tb(test, 'A'));
}

/* From its own callback: it ran; freed by the next poll. */
static void delete_from_own_callback(struct kunit *test)
{
	tb(test, 'A')->action = act_delete_self;
	sched(test, "AB");
}

/* From another BH of the same slice: the later one does not run. */
static void delete_from_other_bh_of_slice(struct kunit *test)
{
	tb(test, 'A')->action = act_delete_other;
	tb(test, 'A')->other = tb(test, 'B');
	sched(test, "ABC");
}

/* From its own callback before a nested poll: freed only afterwards. */
static void delete_from_own_callback_then_nested_poll(struct kunit *test)
{
	tb(test, 'A')->action = act_delete_self_then_poll;
	sched(test, "AB");
}

static const struct bhq_test_delete_case bhq_test_delete_cases[] = {
	{ "pending", delete_pending, "B", 7, "" },
	{ "never scheduled", delete_never_scheduled, "", 7, "" },
	{ "from own callback", delete_from_own_callback, "AB", 8, "" },
	{ "from another BH of the slice", delete_from_other_bh_of_slice,
	  "AC", 7, "" },
	{ "from own callback, then a nested poll",
	  delete_from_own_callback_then_nested_poll, "AB", 8, "" },
};

KUNIT_ARRAY_PARAM_DESC(bhq_test_delete, bhq_test_delete_cases, name);

static void bhq_test_delete(struct kunit *test)
{
	const struct bhq_test_delete_case *c = test->param_value;
	struct bhq_stats s;

	c->setup(test);
	POLL(test);
	KUNIT_EXPECT_STREQ(test, TRACE(test), c->first_poll);
	s = stats_now(test);
	KUNIT_EXPECT_EQ(test, s.live, c->live_after_first);
	KUNIT_EXPECT_EQ(test, s.deleted, 8 - c->live_after_first);

	POLL(test);
	KUNIT_EXPECT_STREQ(test, TRACE(test), c->second_poll);
	s = stats_now(test);
	KUNIT_EXPECT_EQ(test, s.live, 7);
	KUNIT_EXPECT_EQ(test, s.deleted, 1);
	KUNIT_EXPECT_EQ(test, s.scheduled - s.coalesced,
			s.executed + s.cancelled);
	KUNIT_EXPECT_EQ(test, TIMEOUT(test), BHQ_TIMEOUT_INFINITE);

	/* The nested poll inside the callback saw A still allocated. */
	if (c->setup == delete_from_own_callback_then_nested_poll) {
		KUNIT_EXPECT_EQ(test, tb(test, 'A')->stats.live, 8);
		KUNIT_EXPECT_EQ(test, tb(test, 'A')->stats.nested_polls, 1);
	}
}

static void bhq_test_oneshot_fn(void *opaque)
{
	trace_add(&((struct bhq_test_env *)opaque)->trace, 'o');
}

static DEFINE_SPINLOCK(bhq_test_atomic_lock);

/*
 * Oneshots run once, in order with other BHs, and are freed.  The second
 * is scheduled with GFP_ATOMIC under a spinlock_t taken with interrupts
 * off: atomic context on a kernel without PREEMPT_RT, and on PREEMPT_RT a
 * sleeping lock that leaves interrupts on, the atomic context there in
 * which the slab allocator may be called (local_irq_save() would not be).
 */
static void bhq_test_oneshot(struct kunit *test)
{
	struct bhq_test_env *env = test->priv;
	unsigned long flags;
	struct bhq_stats s;
	int err;

	KUNIT_ASSERT_EQ(test, bhq_schedule_oneshot(env->ctx, bhq_test_oneshot_fn,
						   env, GFP_KERNEL), 0);
	sched(test, "A");
	spin_lock_irqsave(&bhq_test_atomic_lock, flags);
	err = bhq_schedule_oneshot(env->ctx, bhq_test_oneshot_fn, env, GFP_ATOMIC);
	spin_unlock_irqrestore(&bhq_test_atomic_lock, flags);
	KUNIT_ASSERT_EQ(test, err, 0);

	s = stats_now(test);
	KUNIT_EXPECT_EQ(test, s.live, 10);
	KUNIT_EXPECT_TRUE(test, POLL(test));
	KUNIT_EXPECT_STREQ(test, TRACE(test), "oAo");
	s = stats_now(test);
	KUNIT_EXPECT_EQ(test, s.live, 8);
	KUNIT_EXPECT_EQ(test, s.deleted, 2);
	KUNIT_EXPECT_EQ(test, s.executed, 3);
	KUNIT_EXPECT_FALSE(test, POLL(test));
	KUNIT_EXPECT_STREQ(test, TRACE(test), "");
}

/* A pending BH is not queued again: five schedules, one run. */
static void bhq_test_coalescing(struct kunit *test)
{
	struct bhq_stats s;

	sched(test, "AAAAA");
	sched(test, "BA");
	KUNIT_EXPECT_TRUE(test, POLL(test));
	KUNIT_EXPECT_STREQ(test, TRACE(test), "AB");
	s = stats_now(test);
	KUNIT_EXPECT_EQ(test, s.scheduled, 7);
	KUNIT_EXPECT_EQ(test, s.coalesced, 5);
	KUNIT_EXPECT_EQ(test, s.executed, 2);
}

/*
 * The counters after a scripted sequence, and the identity of
 * Documentation/bhq.rst: at rest every enqueue was dequeued exactly once,
 * scheduled - coalesced == executed + cancelled, and live is back where
 * it started once the BHs made here are deleted.
 */
static void bhq_test_stats_counters(struct kunit *test)
{
	struct bhq_test_env *env = test->priv;
	struct bhq_test_bh *a = tb(test, 'A');
	struct bhq_bh *extra;
	struct bhq_stats s;

	extra = bhq_bh_new(env->ctx, bhq_test_fn, tb(test, 'H'));
	KUNIT_ASSERT_NOT_NULL(test, extra);
	a->action = act_schedule_other_and_poll;
	a->other = tb(test, 'B');

	sched(test, "AC");		/* A nests a poll running B */
	sched(test, "C");		/* coalesced */
	sched_idle(test, "D");
	bhq_bh_schedule(extra);
	bhq_bh_cancel(extra);		/* cancelled skip */
	KUNIT_EXPECT_EQ(test, TIMEOUT(test), 0);
	KUNIT_EXPECT_TRUE(test, POLL(test));
	KUNIT_EXPECT_STREQ(test, TRACE(test), "ACDB");
	sched_idle(test, "E");
	KUNIT_EXPECT_EQ(test, TIMEOUT(test), BHQ_IDLE_TIMEOUT_NS);
	KUNIT_EXPECT_FALSE(test, POLL(test));
	bhq_bh_delete(extra);
	KUNIT_EXPECT_FALSE(test, POLL(test));
	KUNIT_EXPECT_EQ(test, TIMEOUT(test), BHQ_TIMEOUT_INFINITE);

	s = stats_now(test);
	KUNIT_EXPECT_EQ(test, s.scheduled, 7);
	KUNIT_EXPECT_EQ(test, s.coalesced, 1);
	KUNIT_EXPECT_EQ(test, s.executed, 5);
	KUNIT_EXPECT_EQ(test, s.executed_idle, 2);
	KUNIT_EXPECT_EQ(test, s.cancelled, 1);
	KUNIT_EXPECT_EQ(test, s.deleted, 1);
	KUNIT_EXPECT_EQ(test, s.polls, 4);
	KUNIT_EXPECT_EQ(test, s.progress_polls, 2);
	KUNIT_EXPECT_EQ(test, s.nested_polls, 1);
	KUNIT_EXPECT_EQ(test, s.max_depth, 2);
	KUNIT_EXPECT_EQ(test, s.timeouts_zero, 1);
	KUNIT_EXPECT_EQ(test, s.timeouts_idle, 1);
	KUNIT_EXPECT_EQ(test, s.timeouts_infinite, 1);
	/*
	 * No wakeups check: a manual context has no thread, so it cannot
	 * count one.  The threaded cases check wakeups.
	 */
	KUNIT_EXPECT_EQ(test, s.live, env->start.live);
	KUNIT_EXPECT_EQ(test, s.scheduled - s.coalesced,
			s.executed + s.cancelled);
}

/* --- threaded contexts -------------------------------------------------- */

struct bhq_test_counter {
	atomic_t runs;
	const char *expect_comm;	/* the thread it must run in */
	atomic_t wrong_thread;
};

static void bhq_test_count_fn(void *opaque)
{
	struct bhq_test_counter *c = opaque;

	if (c->expect_comm && strcmp(current->comm, c->expect_comm))
		atomic_inc(&c->wrong_thread);
	atomic_inc(&c->runs);
}

/* Flush returns after every BH scheduled before it ran, in the thread. */
static void bhq_test_threaded_flush(struct kunit *test)
{
	struct bhq_test_counter c = { .expect_comm = "kunit-flush" };
	struct bhq_bh *bhs[16];
	struct bhq_ctx *ctx;
	struct bhq_stats s;
	unsigned int i, round;

	ctx = bhq_ctx_create("kunit-flush", 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx));
	for (i = 0; i < ARRAY_SIZE(bhs); i++) {
		bhs[i] = bhq_bh_new(ctx, bhq_test_count_fn, &c);
		KUNIT_ASSERT_NOT_NULL(test, bhs[i]);
	}
	for (round = 1; round <= 10; round++) {
		for (i = 0; i < ARRAY_SIZE(bhs); i++)
			bhq_bh_schedule(bhs[i]);
		bhq_ctx_flush(ctx);
		KUNIT_EXPECT_EQ(test, atomic_read(&c.runs),
				round * ARRAY_SIZE(bhs));
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&c.wrong_thread), 0);

	for (i = 0; i < ARRAY_SIZE(bhs); i++)
		bhq_bh_delete(bhs[i]);
	bhq_ctx_flush(ctx);
	bhq_ctx_get_stats(ctx, &s);
	KUNIT_EXPECT_EQ(test, s.live, 0);
	KUNIT_EXPECT_EQ(test, s.deleted, ARRAY_SIZE(bhs));
	/* 10 rounds of 16, plus the barriers of 11 flushes. */
	KUNIT_EXPECT_EQ(test, s.executed, 160 + 11);
	KUNIT_EXPECT_EQ(test, s.scheduled - s.coalesced,
			s.executed + s.cancelled);
	bhq_ctx_destroy(ctx);
}

#define BHQ_TEST_DRAIN_BHS	100

/* What the thread of "kunit-drain" saw; read after bhq_ctx_destroy(). */
struct bhq_test_drain {
	struct bhq_ctx *ctx;
	u64 mark;			/* stats.scheduled before destroy */
	bool saw_destroy;		/* the gate saw destroy's barrier */
	unsigned int runs;		/* oneshots run */
	unsigned int out_of_order;
	unsigned int wrong_thread;
	unsigned int deleted_runs;	/* of the BH deleted while pending */
	struct completion entered;
};

struct bhq_test_drain_bh {
	struct bhq_test_drain *d;
	unsigned int index;
};

/*
 * Keep the thread busy until bhq_ctx_destroy() has started, so that
 * everything scheduled behind this gate is still pending then.  Destroy
 * has started once it has queued its flush barrier (the first schedule
 * after @mark) or asked the thread to stop.  Bounded: after BHQ_TEST_WAIT
 * the gate gives up, and the case fails on saw_destroy.
 */
static void bhq_test_drain_gate_fn(void *opaque)
{
	struct bhq_test_drain *d = opaque;
	unsigned long deadline = jiffies + BHQ_TEST_WAIT;
	struct bhq_stats s;
	u64 mark;

	complete(&d->entered);
	while (time_before(jiffies, deadline)) {
		mark = READ_ONCE(d->mark);
		bhq_ctx_get_stats(d->ctx, &s);
		if ((mark && s.scheduled > mark) || kthread_should_stop()) {
			d->saw_destroy = true;
			return;
		}
		usleep_range(100, 200);
	}
}

static void bhq_test_drain_fn(void *opaque)
{
	struct bhq_test_drain_bh *db = opaque;
	struct bhq_test_drain *d = db->d;

	if (strcmp(current->comm, "kunit-drain"))
		d->wrong_thread++;
	d->out_of_order += db->index != d->runs;
	d->runs++;
}

static void bhq_test_drain_deleted_fn(void *opaque)
{
	struct bhq_test_drain *d = opaque;

	d->deleted_runs++;
}

/*
 * Destroy runs everything scheduled before it, in the context's thread
 * and in order, and frees a BH deleted while pending without running it:
 * no leak or misuse is reported.  The 100 oneshots wait behind a gate
 * that holds the thread until destroy has started, so they are certainly
 * pending when it is called.
 *
 * No KUNIT_ASSERT once the gate is queued: the case must reach destroy,
 * or the gate would keep reading @d after the case returned.
 */
static void bhq_test_threaded_destroy_drains(struct kunit *test)
{
	struct bhq_test_drain_bh *dbs;
	struct bhq_test_drain d = {};
	struct bhq_bh *deleted;
	unsigned int i, queued = 0;
	struct bhq_stats s;
	long misuse;

	init_completion(&d.entered);
	dbs = kunit_kcalloc(test, BHQ_TEST_DRAIN_BHS, sizeof(*dbs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, dbs);
	d.ctx = bhq_ctx_create("kunit-drain", 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(d.ctx));
	deleted = bhq_bh_new(d.ctx, bhq_test_drain_deleted_fn, &d);
	KUNIT_ASSERT_NOT_NULL(test, deleted);

	KUNIT_ASSERT_EQ(test, bhq_schedule_oneshot(d.ctx,
						   bhq_test_drain_gate_fn, &d,
						   GFP_KERNEL), 0);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&d.entered,
							  BHQ_TEST_WAIT), 0);
	bhq_bh_schedule(deleted);
	for (i = 0; i < BHQ_TEST_DRAIN_BHS; i++) {
		dbs[i].d = &d;
		dbs[i].index = i;
		queued += !bhq_schedule_oneshot(d.ctx, bhq_test_drain_fn,
						&dbs[i], GFP_KERNEL);
	}
	KUNIT_EXPECT_EQ(test, queued, BHQ_TEST_DRAIN_BHS);
	bhq_bh_delete(deleted);

	/* Only the gate started: it still holds the thread. */
	bhq_ctx_get_stats(d.ctx, &s);
	KUNIT_EXPECT_EQ(test, s.executed, 1);
	misuse = bhq_misuse_count();
	WRITE_ONCE(d.mark, s.scheduled);
	bhq_ctx_destroy(d.ctx);

	KUNIT_EXPECT_EQ(test, bhq_misuse_count(), misuse);
	KUNIT_EXPECT_TRUE(test, d.saw_destroy);
	KUNIT_EXPECT_EQ(test, d.runs, BHQ_TEST_DRAIN_BHS);
	KUNIT_EXPECT_EQ(test, d.out_of_order, 0);
	KUNIT_EXPECT_EQ(test, d.wrong_thread, 0);
	KUNIT_EXPECT_EQ(test, d.deleted_runs, 0);
}

struct bhq_test_gate {
	struct completion entered;
	struct completion open;
};

static void bhq_test_gate_fn(void *opaque)
{
	struct bhq_test_gate *g = opaque;

	complete(&g->entered);
	wait_for_completion_timeout(&g->open, BHQ_TEST_WAIT);
}

/* Wait (bounded) until @ctx's thread chose the infinite timeout @n times. */
static bool bhq_test_wait_timeouts_infinite(struct bhq_ctx *ctx, u64 n)
{
	unsigned long deadline = jiffies + BHQ_TEST_WAIT;
	struct bhq_stats s;

	do {
		bhq_ctx_get_stats(ctx, &s);
		if (s.timeouts_infinite >= n)
			return true;
		usleep_range(100, 200);
	} while (time_before(jiffies, deadline));
	return false;
}

/*
 * Wakeups: the first BH on an empty list wakes the sleeping thread; BHs
 * scheduled while the thread polls (here: parked in a gate callback) do
 * not, even when the list was empty or the first non-idle one comes in.
 */
static void bhq_test_threaded_wakeups(struct kunit *test)
{
	struct bhq_test_counter c = {};
	struct bhq_test_gate gate;
	struct bhq_bh *bhs[3];
	struct bhq_ctx *ctx;
	struct bhq_stats s;
	unsigned int i;

	init_completion(&gate.entered);
	init_completion(&gate.open);
	ctx = bhq_ctx_create("kunit-wake", 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx));
	for (i = 0; i < ARRAY_SIZE(bhs); i++) {
		bhs[i] = bhq_bh_new(ctx, bhq_test_count_fn, &c);
		KUNIT_ASSERT_NOT_NULL(test, bhs[i]);
	}
	/*
	 * The thread has gone to sleep once it chose the infinite timeout:
	 * it does that in TASK_IDLE, so the wakeup below finds it asleep
	 * (and is counted) whether or not it reached schedule() yet.
	 */
	KUNIT_ASSERT_TRUE(test, bhq_test_wait_timeouts_infinite(ctx, 1));
	KUNIT_ASSERT_EQ(test, bhq_schedule_oneshot(ctx, bhq_test_gate_fn,
						   &gate, GFP_KERNEL), 0);
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&gate.entered,
							  BHQ_TEST_WAIT), 0);
	bhq_bh_schedule_idle(bhs[0]);
	bhq_bh_schedule(bhs[1]);
	bhq_bh_schedule(bhs[2]);
	bhq_ctx_get_stats(ctx, &s);
	KUNIT_EXPECT_EQ(test, s.wakeups, 1);
	complete(&gate.open);

	bhq_ctx_flush(ctx);
	KUNIT_EXPECT_EQ(test, atomic_read(&c.runs), 3);
	for (i = 0; i < ARRAY_SIZE(bhs); i++)
		bhq_bh_delete(bhs[i]);
	bhq_ctx_destroy(ctx);
}

/* A BH that notes which poll ran it and in what order, for a thread. */
struct bhq_test_probe {
	struct bhq_ctx *ctx;
	struct bhq_test_trace *trace;
	char letter;
	u64 poll;		/* stats.polls when it ran: the poll's number */
	struct completion ran;
};

static void bhq_test_probe_fn(void *opaque)
{
	struct bhq_test_probe *p = opaque;
	struct bhq_stats s;

	bhq_ctx_get_stats(p->ctx, &s);
	p->poll = s.polls;
	trace_add(p->trace, p->letter);
	complete(&p->ran);
}

#define BHQ_TEST_IDLE_ATTEMPTS	8

/*
 * The thread sleeps BHQ_IDLE_TIMEOUT_NS while only an idle BH (I) is
 * pending; the first non-idle schedule (N) must wake it early, and the
 * poll that follows runs I and N together, in that order.
 *
 * The only observable sign of the early wakeup is the wakeups counter,
 * so an attempt counts as a clean observation when the thread had chosen
 * the idle timeout, I had not run when N was scheduled, N's schedule
 * counted a wakeup, and I and N ran in the same poll.  If the timeout
 * expires first (a slow emulator), I runs in a poll of its own, or the
 * thread is already polling when N comes and N rightly wakes nobody: such
 * attempts are retried.  Whatever happens, N never counts more than one
 * wakeup, and I and N never run out of order in one poll; at least one
 * attempt must be clean.  Without the early wakeup none is.
 */
static void bhq_test_threaded_idle_sleep_woken(struct kunit *test)
{
	struct bhq_test_trace trace = {};
	struct bhq_test_probe idle = { .trace = &trace, .letter = 'I' };
	struct bhq_test_probe urgent = { .trace = &trace, .letter = 'N' };
	unsigned int attempt, clean = 0, expired = 0, raced = 0;
	struct bhq_stats s0, s1, s2;
	struct bhq_bh *ibh, *nbh;
	unsigned long deadline;
	struct bhq_ctx *ctx;
	char order[3];

	init_completion(&idle.ran);
	init_completion(&urgent.ran);
	ctx = bhq_ctx_create("kunit-idlewake", 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx));
	idle.ctx = ctx;
	urgent.ctx = ctx;
	ibh = bhq_bh_new(ctx, bhq_test_probe_fn, &idle);
	KUNIT_ASSERT_NOT_NULL(test, ibh);
	nbh = bhq_bh_new(ctx, bhq_test_probe_fn, &urgent);
	KUNIT_ASSERT_NOT_NULL(test, nbh);

	for (attempt = 0; attempt < BHQ_TEST_IDLE_ATTEMPTS; attempt++) {
		/* At rest: nothing pending, the thread done with it all. */
		bhq_ctx_flush(ctx);
		reinit_completion(&idle.ran);
		reinit_completion(&urgent.ran);
		trace.len = 0;
		bhq_ctx_get_stats(ctx, &s0);

		bhq_bh_schedule_idle(ibh);
		/*
		 * Wait for the thread to choose the idle timeout.  It needs
		 * the CPU on UML, so yield; no timer sleep, which could take
		 * a tick, as long as the idle timeout itself.
		 */
		deadline = jiffies + BHQ_TEST_WAIT;
		do {
			bhq_ctx_get_stats(ctx, &s1);
			if (s1.timeouts_idle > s0.timeouts_idle)
				break;
			cond_resched();
			cpu_relax();
		} while (time_before(jiffies, deadline));
		if (s1.timeouts_idle == s0.timeouts_idle &&
		    !completion_done(&idle.ran)) {
			KUNIT_FAIL(test, "the thread chose no idle timeout");
			break;
		}
		if (completion_done(&idle.ran)) {
			/* The idle timeout expired already: try again. */
			expired++;
			continue;
		}

		bhq_ctx_get_stats(ctx, &s1);
		bhq_bh_schedule(nbh);
		bhq_ctx_get_stats(ctx, &s2);
		if (!wait_for_completion_timeout(&urgent.ran, BHQ_TEST_WAIT) ||
		    !wait_for_completion_timeout(&idle.ran, BHQ_TEST_WAIT)) {
			KUNIT_FAIL(test, "I or N did not run");
			break;
		}
		KUNIT_EXPECT_LE(test, s2.wakeups - s1.wakeups, 1);
		KUNIT_EXPECT_EQ(test, trace.len, 2);
		memcpy(order, trace.buf, 2);
		order[2] = '\0';
		KUNIT_EXPECT_STREQ(test, order, "IN");
		if (idle.poll != urgent.poll) {
			/* The timeout expired and the thread carved I alone. */
			expired++;
			continue;
		}
		if (s2.wakeups - s1.wakeups == 1)
			clean++;
		else
			raced++;	/* the timer woke it; polling already */
	}
	kunit_info(test, "attempts: %u clean, %u expired, %u raced\n",
		   clean, expired, raced);
	KUNIT_EXPECT_GE_MSG(test, clean, 1,
			    "N never woke the thread from its idle sleep");

	bhq_bh_delete(ibh);
	bhq_bh_delete(nbh);
	bhq_ctx_destroy(ctx);
}

/* --- per-CPU contexts ---------------------------------------------------- */

struct bhq_test_on_cpu {
	struct cpumask *ran;		/* every CPU a BH ran on */
	unsigned int ran_on;
	char comm[TASK_COMM_LEN];
	struct completion done;
};

static void bhq_test_on_cpu_fn(void *opaque)
{
	struct bhq_test_on_cpu *o = opaque;

	o->ran_on = raw_smp_processor_id();
	cpumask_set_cpu(o->ran_on, o->ran);
	get_task_comm(o->comm, current);
	complete(&o->done);
}

/*
 * A BH of an online CPU's context runs on that CPU, in that context's
 * thread "bhq/<cpu>".  Besides the per-CPU check, the CPUs the BHs ran on
 * are collected in a mask that must be the online mask with one CPU per
 * context tested: two contexts whose BHs run on the same CPU (a thread
 * bound to the wrong CPU, bhq_cpu_ctx() handing out another CPU's
 * context) leave a CPU out of it.
 *
 * cpus_read_lock() keeps every CPU online (no hotplug transition) while
 * the BHs run.  No KUNIT_ASSERT under it: an aborted case would return
 * with the lock held.
 */
static void bhq_test_per_cpu_runs_on_its_cpu(struct kunit *test)
{
	char want_comm[TASK_COMM_LEN];
	struct bhq_test_on_cpu o = {};
	unsigned int cpu, tested = 0;

	o.ran = kunit_kzalloc(test, cpumask_size(), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, o.ran);

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		struct bhq_ctx *ctx = bhq_cpu_ctx(cpu);

		KUNIT_EXPECT_NOT_NULL(test, ctx);
		if (!ctx)
			break;
		o.ran_on = UINT_MAX;
		init_completion(&o.done);
		if (bhq_schedule_oneshot(ctx, bhq_test_on_cpu_fn, &o,
					 GFP_KERNEL)) {
			KUNIT_FAIL(test, "oneshot on CPU %u: no memory", cpu);
			break;
		}
		if (!wait_for_completion_timeout(&o.done, BHQ_TEST_WAIT)) {
			KUNIT_FAIL(test, "the BH of CPU %u did not run", cpu);
			break;
		}
		tested++;
		KUNIT_EXPECT_EQ(test, o.ran_on, cpu);
		snprintf(want_comm, sizeof(want_comm), "bhq/%u", cpu);
		KUNIT_EXPECT_STREQ(test, o.comm, want_comm);
	}
	KUNIT_EXPECT_TRUE_MSG(test, cpumask_equal(o.ran, cpu_online_mask),
			      "BHs ran on CPUs %*pbl, online: %*pbl",
			      cpumask_pr_args(o.ran),
			      cpumask_pr_args(cpu_online_mask));
	cpus_read_unlock();
	KUNIT_EXPECT_EQ(test, cpumask_weight(o.ran), tested);
}

/* The run has the CPUs it was configured for (skipped when none asked). */
static void bhq_test_enough_cpus_online(struct kunit *test)
{
	if (!min_cpus)
		kunit_skip(test, "no bhq_kunit.min_cpus= given");
	KUNIT_ASSERT_GE(test, num_online_cpus(), min_cpus);
}

/* --- concurrency --------------------------------------------------------- */

#define BHQ_TEST_PRODUCERS	4
#define BHQ_TEST_PRODUCER_BHS	32
#define BHQ_TEST_PRODUCER_OPS	5000
#define BHQ_TEST_PRODUCER_FLUSH	500	/* ops between a producer's flushes */

/*
 * Each producer owns BHQ_TEST_PRODUCER_BHS BHs and schedules them in
 * turn.  Before each schedule of a BH it stores the BH's next generation
 * (1, 2, ...) in gen[]; the callback records the generation it sees.
 */
struct bhq_test_producer {
	struct bhq_ctx *ctx;
	struct bhq_bh *bhs[BHQ_TEST_PRODUCER_BHS];
	unsigned int gen[BHQ_TEST_PRODUCER_BHS];	/* last stored */
	unsigned int flushes;
	struct completion done;
	unsigned int seed;
};

struct bhq_test_producer_bh {
	struct bhq_test_producer *p;
	unsigned int index;
	unsigned int seen;	/* the generation its last run saw */
	unsigned int runs;
};

/* Only the context's thread writes seen and runs; read after a flush. */
static void bhq_test_producer_fn(void *opaque)
{
	struct bhq_test_producer_bh *pb = opaque;

	/*
	 * Pairs with the schedule that follows the producer's WRITE_ONCE():
	 * we run after bhq_bh_dequeue()'s fully ordered fetch_andnot on the
	 * BH's flags, the schedule's fetch_or on them is fully ordered too.
	 * If that fetch_or came first, this run sees its generation; if it
	 * came later, it found PENDING clear and queued the BH again, and
	 * the next run sees it.  So the last run sees the last generation.
	 */
	pb->seen = READ_ONCE(pb->p->gen[pb->index]);
	pb->runs++;
}

static int bhq_test_producer_thread(void *arg)
{
	struct bhq_test_producer *p = arg;
	unsigned int i, j;

	for (i = 0; i < BHQ_TEST_PRODUCER_OPS; i++) {
		j = i % BHQ_TEST_PRODUCER_BHS;
		p->seed = p->seed * 1103515245U + 12345U;
		/* Published before the schedule, see bhq_test_producer_fn(). */
		WRITE_ONCE(p->gen[j], p->gen[j] + 1);
		if (p->seed & 0x10000)
			bhq_bh_schedule(p->bhs[j]);
		else
			bhq_bh_schedule_idle(p->bhs[j]);
		if (i % 64 == 0)
			cond_resched();
		/*
		 * Now and then wait for the thread to run what is pending,
		 * while the other producers go on: BHs that already ran are
		 * scheduled again.  Without this, a kernel without preemption
		 * on one CPU (UML) runs each producer to its end before the
		 * thread polls at all, and every BH runs once.
		 */
		if (i % BHQ_TEST_PRODUCER_FLUSH == BHQ_TEST_PRODUCER_FLUSH / 2) {
			bhq_ctx_flush(p->ctx);
			p->flushes++;
		}
	}
	complete(&p->done);
	return 0;
}

/*
 * Several kthreads schedule BHs of one threaded context, idle or not,
 * while its thread polls, and flush it now and then.  After they
 * finished and the context was flushed, every BH ran after its last
 * schedule: its last run saw the last generation its producer stored, so
 * no schedule was lost (a lost one that bhq counted as coalesced would
 * still satisfy the counters' identity).  No BH ran more often than it
 * was scheduled, and every schedule is accounted for, run or coalesced.
 */
static void bhq_test_concurrent_schedulers(struct kunit *test)
{
	unsigned int i, j, stale = 0, too_many = 0;
	struct bhq_test_producer_bh *pbs, *pb;
	struct bhq_test_producer *ps;
	struct task_struct *t;
	struct bhq_ctx *ctx;
	struct bhq_stats s;
	u64 runs = 0, flushes = 0;

	ps = kunit_kcalloc(test, BHQ_TEST_PRODUCERS, sizeof(*ps), GFP_KERNEL);
	pbs = kunit_kcalloc(test, BHQ_TEST_PRODUCERS * BHQ_TEST_PRODUCER_BHS,
			    sizeof(*pbs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ps);
	KUNIT_ASSERT_NOT_NULL(test, pbs);
	ctx = bhq_ctx_create("kunit-conc", 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx));

	for (i = 0; i < BHQ_TEST_PRODUCERS; i++) {
		init_completion(&ps[i].done);
		ps[i].ctx = ctx;
		ps[i].seed = i + 1;
		for (j = 0; j < BHQ_TEST_PRODUCER_BHS; j++) {
			pb = &pbs[i * BHQ_TEST_PRODUCER_BHS + j];
			pb->p = &ps[i];
			pb->index = j;
			ps[i].bhs[j] = bhq_bh_new(ctx, bhq_test_producer_fn, pb);
			KUNIT_ASSERT_NOT_NULL(test, ps[i].bhs[j]);
		}
	}
	for (i = 0; i < BHQ_TEST_PRODUCERS; i++) {
		t = kthread_run(bhq_test_producer_thread, &ps[i],
				"bhq-kunit-prod%u", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	}
	for (i = 0; i < BHQ_TEST_PRODUCERS; i++)
		KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&ps[i].done,
								  BHQ_TEST_WAIT), 0);
	/* Every schedule above happened before the flush's barrier. */
	bhq_ctx_flush(ctx);

	for (i = 0; i < BHQ_TEST_PRODUCERS; i++) {
		flushes += ps[i].flushes;
		for (j = 0; j < BHQ_TEST_PRODUCER_BHS; j++) {
			pb = &pbs[i * BHQ_TEST_PRODUCER_BHS + j];
			stale += pb->seen != ps[i].gen[j];
			too_many += pb->runs > ps[i].gen[j];
			runs += pb->runs;
		}
	}
	KUNIT_EXPECT_EQ_MSG(test, stale, 0,
			    "%u BHs did not run after their last schedule",
			    stale);
	KUNIT_EXPECT_EQ_MSG(test, too_many, 0,
			    "%u BHs ran more often than they were scheduled",
			    too_many);

	bhq_ctx_get_stats(ctx, &s);
	/* The flush barriers, the producers' and ours, are the extra runs. */
	KUNIT_EXPECT_EQ(test, s.scheduled,
			BHQ_TEST_PRODUCERS * BHQ_TEST_PRODUCER_OPS + flushes + 1);
	KUNIT_EXPECT_EQ(test, s.executed, runs + flushes + 1);
	KUNIT_EXPECT_EQ(test, s.scheduled - s.coalesced, s.executed);
	KUNIT_EXPECT_EQ(test, s.cancelled, 0);

	for (i = 0; i < BHQ_TEST_PRODUCERS; i++)
		for (j = 0; j < BHQ_TEST_PRODUCER_BHS; j++)
			bhq_bh_delete(ps[i].bhs[j]);
	bhq_ctx_destroy(ctx);
}

struct bhq_test_irq {
	struct hrtimer timer;
	struct bhq_bh *bh;
	struct bhq_ctx *ctx;
	bool in_hardirq;		/* the timer ran in hardirq context */
	int oneshot_err;		/* its bhq_schedule_oneshot() */
	struct bhq_test_trace trace;	/* 'B': the BH ran, 'o': the oneshot */
	struct completion done;
};

static void bhq_test_irq_oneshot_fn(void *opaque)
{
	struct bhq_test_irq *ti = opaque;

	trace_add(&ti->trace, 'o');
}

static enum hrtimer_restart bhq_test_irq_timer(struct hrtimer *timer)
{
	struct bhq_test_irq *ti = container_of(timer, struct bhq_test_irq,
					       timer);

	ti->in_hardirq = in_hardirq();
	bhq_bh_schedule(ti->bh);
	/* No slab allocation in hardirq on PREEMPT_RT, whatever the flags. */
	if (!IS_ENABLED(CONFIG_PREEMPT_RT))
		ti->oneshot_err = bhq_schedule_oneshot(ti->ctx,
						       bhq_test_irq_oneshot_fn,
						       ti, GFP_ATOMIC);
	return HRTIMER_NORESTART;
}

static void bhq_test_irq_fn(void *opaque)
{
	struct bhq_test_irq *ti = opaque;

	trace_add(&ti->trace, 'B');
	complete(&ti->done);
}

/*
 * Scheduling from hardirq context (an hrtimer callback) works: the BH and
 * the oneshot scheduled there each run once, in that order.  On PREEMPT_RT
 * the slab allocator may not be called in hardirq context, so there the
 * timer schedules only the BH, allocated beforehand, and no oneshot.
 */
static void bhq_test_schedule_from_hardirq(struct kunit *test)
{
	const bool oneshot = !IS_ENABLED(CONFIG_PREEMPT_RT);
	/* oneshot_err stays 1 unless the timer's oneshot returns. */
	struct bhq_test_irq ti = { .oneshot_err = oneshot ? 1 : 0 };
	char trace[BHQ_TEST_TRACE_MAX];
	struct bhq_stats s;

	init_completion(&ti.done);
	ti.ctx = bhq_ctx_create("kunit-irq", 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ti.ctx));
	ti.bh = bhq_bh_new(ti.ctx, bhq_test_irq_fn, &ti);
	KUNIT_ASSERT_NOT_NULL(test, ti.bh);

	hrtimer_init_on_stack(&ti.timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	ti.timer.function = bhq_test_irq_timer;
	hrtimer_start(&ti.timer, ns_to_ktime(NSEC_PER_MSEC), HRTIMER_MODE_REL_HARD);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&ti.done,
							  BHQ_TEST_WAIT), 0);
	/* Waits for the callback: the oneshot is queued before the flush. */
	hrtimer_cancel(&ti.timer);
	destroy_hrtimer_on_stack(&ti.timer);
	bhq_ctx_flush(ti.ctx);

	KUNIT_EXPECT_TRUE(test, ti.in_hardirq);
	KUNIT_EXPECT_EQ(test, ti.oneshot_err, 0);
	memcpy(trace, ti.trace.buf, ti.trace.len);
	trace[ti.trace.len] = '\0';
	KUNIT_EXPECT_STREQ(test, trace, oneshot ? "Bo" : "B");
	bhq_ctx_get_stats(ti.ctx, &s);
	/* The BH, the oneshot, the flush's barrier. */
	KUNIT_EXPECT_EQ(test, s.scheduled, oneshot ? 3 : 2);
	KUNIT_EXPECT_EQ(test, s.executed, oneshot ? 3 : 2);
	if (!oneshot)
		kunit_info(test, "PREEMPT_RT: no oneshot from hardirq, no slab allocation there");
	bhq_bh_delete(ti.bh);
	bhq_ctx_destroy(ti.ctx);
}

static struct kunit_case bhq_test_cases[] = {
	KUNIT_CASE(bhq_test_nesting_three_levels),
	KUNIT_CASE(bhq_test_outer_slice_before_nested_slice),
	KUNIT_CASE(bhq_test_scheduled_during_poll_runs_next_poll),
	KUNIT_CASE_PARAM(bhq_test_fifo_within_slice, bhq_test_order_gen_params),
	KUNIT_CASE_PARAM(bhq_test_idle_flag, bhq_test_timeout_gen_params),
	KUNIT_CASE(bhq_test_rescheduled_by_callback_keeps_zero_timeout),
	KUNIT_CASE(bhq_test_timeout_counts_waiting_slices),
	KUNIT_CASE(bhq_test_cancel),
	KUNIT_CASE_PARAM(bhq_test_delete, bhq_test_delete_gen_params),
	KUNIT_CASE(bhq_test_oneshot),
	KUNIT_CASE(bhq_test_coalescing),
	KUNIT_CASE(bhq_test_stats_counters),
	KUNIT_CASE(bhq_test_threaded_flush),
	KUNIT_CASE(bhq_test_threaded_destroy_drains),
	KUNIT_CASE(bhq_test_threaded_wakeups),
	KUNIT_CASE(bhq_test_threaded_idle_sleep_woken),
	KUNIT_CASE(bhq_test_enough_cpus_online),
	KUNIT_CASE(bhq_test_per_cpu_runs_on_its_cpu),
	KUNIT_CASE(bhq_test_concurrent_schedulers),
	KUNIT_CASE(bhq_test_schedule_from_hardirq),
	{}
};

static struct kunit_suite bhq_test_suite = {
	.name = "bhq",
	.init = bhq_test_init,
	.exit = bhq_test_exit,
	.test_cases = bhq_test_cases,
};

kunit_test_suite(bhq_test_suite);

MODULE_DESCRIPTION("KUnit tests for bhq");
MODULE_LICENSE("GPL");
BHQ_IMPORT_KUNIT_NS();
