// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for polling before sleeping (bhq_ctx_set_polling()): how the
 * window grows and shrinks, the settings' range, no wake_up_process()
 * while the thread polls, no polling once a context is quiet, and a
 * polling thread that is stopped or whose CPU goes offline.
 *
 * The cases that need the thread to poll when they schedule hold it
 * polling with CONFIG_BHQ_DEBUG's spin hold, and need a second CPU for
 * themselves (make kunit-qemu); they skip on one CPU.
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/isolation.h>

#include "../kmod/bhq_internal.h"

#define PT_WAIT		(10 * HZ)
#define PT_ROUNDS	20
/* The default window of QEMU's IOThreads. */
#define PT_QEMU_WINDOW	32768

struct pt_rule {
	u64 window, block, max;
	unsigned int grow, shrink;
	u64 expect;
};

/* The window after one idle period, as QEMU's adjust_polling_time(). */
static const struct pt_rule pt_rules[] = {
	/* Polling off: no window, whatever came before. */
	{ 8000, 100, 0, 0, 0, 0 },
	/* A short idle period starts a window, then grows it. */
	{ 0, 1000, PT_QEMU_WINDOW, 0, 0, BHQ_POLL_START_NS },
	{ 4000, 5000, PT_QEMU_WINDOW, 0, 0, 8000 },
	{ 4000, 5000, PT_QEMU_WINDOW, 4, 0, 16000 },
	/* Growing stops at the maximum. */
	{ 16000, 20000, PT_QEMU_WINDOW, 4, 0, PT_QEMU_WINDOW },
	/* Idle no longer than the window: the sweet spot, no change. */
	{ 8000, 8000, PT_QEMU_WINDOW, 0, 0, 8000 },
	{ 8000, 100, PT_QEMU_WINDOW, 0, 0, 8000 },
	/* Idle longer than the maximum: reset, or shrink by the divisor. */
	{ PT_QEMU_WINDOW, PT_QEMU_WINDOW + 1, PT_QEMU_WINDOW, 0, 0, 0 },
	{ PT_QEMU_WINDOW, 10000000, PT_QEMU_WINDOW, 0, 2, 16384 },
	{ 3, 10000000, PT_QEMU_WINDOW, 0, 4, 0 },
	/* A maximum lowered below the window caps it. */
	{ 64000, 1000, PT_QEMU_WINDOW, 0, 0, PT_QEMU_WINDOW },
	{ 64000, 40000, PT_QEMU_WINDOW, 0, 2, PT_QEMU_WINDOW },
	/* At the maximum, idle up to it changes nothing. */
	{ PT_QEMU_WINDOW, PT_QEMU_WINDOW, PT_QEMU_WINDOW, 0, 0, PT_QEMU_WINDOW },
};

static void bhq_polling_window_rules(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pt_rules); i++) {
		const struct pt_rule *r = &pt_rules[i];

		KUNIT_EXPECT_EQ_MSG(test,
				    bhq_poll_next_window(r->window, r->block, r->max,
							 r->grow, r->shrink),
				    r->expect,
				    "rule %u: window %llu, idle %llu, max %llu, grow %u, shrink %u",
				    i, r->window, r->block, r->max, r->grow, r->shrink);
	}
}

/* Out-of-range settings and manual contexts are refused, and change nothing. */
static void bhq_polling_settings(struct kunit *test)
{
	struct bhq_ctx *ctx, *manual;

	ctx = bhq_ctx_create("pt-settings", 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx));
	manual = bhq_ctx_create("pt-settings-m", BHQ_CTX_MANUAL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(manual));

	KUNIT_EXPECT_EQ(test, ctx->poll_max_ns, 0);
	KUNIT_EXPECT_EQ(test, bhq_ctx_set_polling(ctx, PT_QEMU_WINDOW, 4, 2), 0);
	KUNIT_EXPECT_EQ(test, bhq_ctx_set_polling(ctx, BHQ_POLL_MAX_NS_LIMIT + 1, 0, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, bhq_ctx_set_polling(ctx, 1000, 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, bhq_ctx_set_polling(ctx, 1000, BHQ_POLL_FACTOR_MAX + 1, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, bhq_ctx_set_polling(ctx, 1000, 0, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, bhq_ctx_set_polling(ctx, 1000, 0, BHQ_POLL_FACTOR_MAX + 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, bhq_ctx_set_polling(manual, 1000, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, bhq_ctx_set_polling(NULL, 1000, 0, 0), -EINVAL);
	/* The refused calls left the accepted settings alone. */
	KUNIT_EXPECT_EQ(test, ctx->poll_max_ns, PT_QEMU_WINDOW);
	KUNIT_EXPECT_EQ(test, ctx->poll_grow, 4);
	KUNIT_EXPECT_EQ(test, ctx->poll_shrink, 2);
	KUNIT_EXPECT_EQ(test, manual->poll_max_ns, 0);
	KUNIT_EXPECT_EQ(test, bhq_ctx_set_polling(ctx, BHQ_POLL_MAX_NS_LIMIT,
						  BHQ_POLL_FACTOR_MAX,
						  BHQ_POLL_FACTOR_MAX), 0);
	KUNIT_EXPECT_EQ(test, bhq_ctx_set_polling(ctx, 0, 0, 0), 0);

	bhq_ctx_destroy(manual);
	bhq_ctx_destroy(ctx);
}

struct pt_count {
	atomic_t runs;
	struct completion done;
};

static void pt_count_fn(void *opaque)
{
	struct pt_count *c = opaque;

	atomic_inc(&c->runs);
	complete(&c->done);
}

/* Schedule a oneshot that counts in @c and wait for it. */
static void pt_run_one(struct kunit *test, struct bhq_ctx *ctx,
		       struct pt_count *c)
{
	reinit_completion(&c->done);
	KUNIT_ASSERT_EQ(test, bhq_schedule_oneshot(ctx, pt_count_fn, c, GFP_KERNEL), 0);
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&c->done, PT_WAIT), 0);
}

/*
 * A quiet context does not poll: after its work, a thread polls for at
 * most one window and then sleeps; over a quiet period it polls no more;
 * the next BH, after an idle period longer than the maximum, resets the
 * window to 0.  With CONFIG_BHQ_DEBUG the window is held at 8 us while
 * the work runs, so that there is one to reset, and the thread must have
 * polled when it ran out of work (so that "no more" is not vacuous).
 * Runs on one CPU too.
 */
static void bhq_polling_stops_when_idle(struct kunit *test)
{
	struct bhq_stats start, before, after;
	struct pt_count c;
	struct bhq_ctx *ctx;
	unsigned int i;

	atomic_set(&c.runs, 0);
	init_completion(&c.done);
	ctx = bhq_ctx_create("pt-idle", 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx));
	KUNIT_ASSERT_EQ(test, bhq_ctx_set_polling(ctx, 100 * NSEC_PER_USEC, 0, 0), 0);
#ifdef CONFIG_BHQ_DEBUG
	bhq_debug_hold_spin(true);
	/* The thread sleeps and the window is held: nobody else writes it. */
	WRITE_ONCE(ctx->poll_ns, 8000);
#endif
	bhq_ctx_get_stats(ctx, &start);
	for (i = 0; i < PT_ROUNDS; i++)
		pt_run_one(test, ctx, &c);
#ifdef CONFIG_BHQ_DEBUG
	KUNIT_EXPECT_EQ(test, READ_ONCE(ctx->poll_ns), 8000);
	bhq_debug_hold_spin(false);
#endif

	/* Longer than any window: the thread polled, then went to sleep. */
	msleep(50);
	KUNIT_EXPECT_EQ(test, READ_ONCE(ctx->thread->__state), TASK_IDLE);
	bhq_ctx_get_stats(ctx, &before);
#ifdef CONFIG_BHQ_DEBUG
	/*
	 * Out of work after the rounds (if not between them: a thread that
	 * finds the next BH already pending polls again without idling), it
	 * polled once, found work or not.
	 */
	KUNIT_EXPECT_GE(test, before.spin_hits + before.spin_misses -
			start.spin_hits - start.spin_misses, 1);
#endif
	msleep(100);
	bhq_ctx_get_stats(ctx, &after);
	KUNIT_EXPECT_EQ(test, after.spin_hits, before.spin_hits);
	KUNIT_EXPECT_EQ(test, after.spin_misses, before.spin_misses);
	KUNIT_EXPECT_EQ(test, after.spin_ns, before.spin_ns);

	pt_run_one(test, ctx, &c);
	KUNIT_EXPECT_EQ(test, READ_ONCE(ctx->poll_ns), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&c.runs), PT_ROUNDS + 1);
	bhq_ctx_destroy(ctx);
}

#ifdef CONFIG_BHQ_DEBUG
/*
 * Wait until @ctx's thread polls before sleeping: it holds the poll role
 * outside any poll (in a poll it also holds it, at depth 1 or more).
 */
static bool pt_wait_polling(struct bhq_ctx *ctx, unsigned long end)
{
	while (READ_ONCE(ctx->poller) != (unsigned long)ctx->thread ||
	       READ_ONCE(ctx->depth)) {
		if (time_after(jiffies, end))
			return false;
		usleep_range(50, 100);
	}
	return true;
}

static void pt_need_hold(struct kunit *test)
{
	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs");
}

/*
 * Until @ctx's thread polls again: true at once if it does; else (its
 * polling ended early, the CPU being wanted, and it polls once per idle
 * period) run another BH, at most 10 times.  Adds the BHs to *@extra.
 */
static bool pt_repoll(struct kunit *test, struct bhq_ctx *ctx,
		      struct pt_count *c, unsigned int *extra)
{
	unsigned int i;

	for (i = 0; i < 10; i++) {
		if (pt_wait_polling(ctx, jiffies + HZ))
			return true;
		pt_run_one(test, ctx, c);
		(*extra)++;
	}
	return false;
}

/*
 * Keep the test and @ctx's thread on different CPUs: each wakeup of the
 * test (its usleep_range() while it waits) on the polling thread's CPU
 * ends the thread's polling (need_resched()), even held.  The test stays
 * on CPU 0; a threaded context's thread goes to the next online CPU (a
 * per-CPU context's is bound to its CPU, which the cases pick other than
 * 0).  KUnit runs each case in a thread of its own: nothing to restore.
 */
static void pt_apart(struct kunit *test, struct bhq_ctx *ctx)
{
	unsigned int other = cpumask_next(0, cpu_online_mask);

	KUNIT_ASSERT_LT(test, other, nr_cpu_ids);
	KUNIT_ASSERT_EQ(test, set_cpus_allowed_ptr(current, cpumask_of(0)), 0);
	if (ctx->cpu < 0)
		KUNIT_ASSERT_EQ(test, set_cpus_allowed_ptr(ctx->thread,
							   cpumask_of(other)), 0);
	else
		KUNIT_ASSERT_NE(test, ctx->cpu, 0);
}

/*
 * Make @ctx's thread poll and keep polling: a window, the spin hold, and a
 * BH to end its sleep.  True once it polls (it holds the poll role outside
 * any poll).
 */
static bool pt_hold_polling(struct kunit *test, struct bhq_ctx *ctx,
			    struct pt_count *c, unsigned int *extra)
{
	pt_apart(test, ctx);
	KUNIT_EXPECT_EQ(test, bhq_ctx_set_polling(ctx, BHQ_POLL_MAX_NS_LIMIT, 0, 0), 0);
	bhq_debug_hold_spin(true);
	/* The thread sleeps and the window is held: nobody else writes it. */
	WRITE_ONCE(ctx->poll_ns, BHQ_POLL_START_NS);
	pt_run_one(test, ctx, c);
	(*extra)++;
	return pt_repoll(test, ctx, c, extra);
}

static void pt_release_polling(struct bhq_ctx *ctx)
{
	bhq_debug_hold_spin(false);
	bhq_ctx_set_polling(ctx, 0, 0, 0);
}
#endif

/*
 * While the thread polls, a schedule never calls wake_up_process(): each
 * round schedules a BH while the thread polls (held so), and the BH runs
 * without one.  A round in which the thread had to stop polling (the CPU
 * was wanted) may cost one call, and no round may cost one while the
 * thread polled.
 */
static void bhq_polling_no_wakeup(struct kunit *test)
{
#ifdef CONFIG_BHQ_DEBUG
	unsigned int i, extra = 0, rounds;
	struct bhq_stats before, after;
	struct pt_count c;
	struct bhq_ctx *ctx;
	long kicks;
	u64 hits;

	pt_need_hold(test);
	atomic_set(&c.runs, 0);
	init_completion(&c.done);
	ctx = bhq_ctx_create("pt-nowake", 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx));
	KUNIT_ASSERT_TRUE(test, pt_hold_polling(test, ctx, &c, &extra));

	bhq_ctx_get_stats(ctx, &before);
	kicks = bhq_debug_kick_count();
	rounds = extra;
	for (i = 0; i < PT_ROUNDS; i++) {
		pt_run_one(test, ctx, &c);
		KUNIT_ASSERT_TRUE(test, pt_repoll(test, ctx, &c, &extra));
	}
	rounds = PT_ROUNDS + extra - rounds;
	bhq_ctx_get_stats(ctx, &after);
	kicks = bhq_debug_kick_count() - kicks;
	hits = after.spin_hits - before.spin_hits;
	kunit_info(test, "%u rounds: %llu found by polling, %ld wake_up_process() calls",
		   rounds, hits, kicks);
	KUNIT_EXPECT_GE(test, hits, PT_ROUNDS / 2);
	KUNIT_EXPECT_LE(test, hits + kicks, rounds);
	KUNIT_EXPECT_EQ(test, atomic_read(&c.runs), PT_ROUNDS + extra);
	KUNIT_EXPECT_FALSE(test, bhq_debug_spin_hold_expired());
	pt_release_polling(ctx);
	bhq_ctx_destroy(ctx);
#else
	kunit_skip(test, "needs CONFIG_BHQ_DEBUG");
#endif
}

/* Destroy stops a thread that polls: it does not wait for the window. */
static void bhq_polling_stop_while_polling(struct kunit *test)
{
#ifdef CONFIG_BHQ_DEBUG
	unsigned int extra = 0;
	struct pt_count c;
	struct bhq_ctx *ctx;

	pt_need_hold(test);
	atomic_set(&c.runs, 0);
	init_completion(&c.done);
	ctx = bhq_ctx_create("pt-stop", 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx));
	KUNIT_ASSERT_TRUE(test, pt_hold_polling(test, ctx, &c, &extra));
	bhq_ctx_destroy(ctx);
	KUNIT_EXPECT_FALSE(test, bhq_debug_spin_hold_expired());
	bhq_debug_hold_spin(false);
#else
	kunit_skip(test, "needs CONFIG_BHQ_DEBUG");
#endif
}

/*
 * A per-CPU thread that polls lets its CPU go offline and serves its
 * context from another CPU meanwhile, then comes back with the CPU.
 */
static void bhq_polling_hotplug_while_polling(struct kunit *test)
{
#ifdef CONFIG_BHQ_DEBUG
	unsigned int extra = 0;
	struct pt_count c;
	struct bhq_ctx *ctx;
	unsigned int cpu;
	int err;

	pt_need_hold(test);
	if (!IS_ENABLED(CONFIG_HOTPLUG_CPU))
		kunit_skip(test, "needs CPU hotplug");
	atomic_set(&c.runs, 0);
	init_completion(&c.done);
	/* As bhq_hotplug_offline_and_online(): not CPU 0, nor an isolated one. */
	cpu = cpumask_next(0, cpu_online_mask);
	ctx = bhq_cpu_ctx(cpu);
	KUNIT_ASSERT_TRUE(test, pt_hold_polling(test, ctx, &c, &extra));
	err = remove_cpu(cpu);
	if (err) {
		pt_release_polling(ctx);
		kunit_skip(test, "remove_cpu(%u) failed: %d", cpu, err);
	}
	KUNIT_EXPECT_FALSE(test, bhq_debug_spin_hold_expired());
	pt_run_one(test, ctx, &c);
	KUNIT_EXPECT_EQ(test, add_cpu(cpu), 0);
	pt_run_one(test, ctx, &c);
	KUNIT_EXPECT_EQ(test, atomic_read(&c.runs), extra + 2);
	KUNIT_EXPECT_FALSE(test, bhq_debug_spin_hold_expired());
	pt_release_polling(ctx);
#else
	kunit_skip(test, "needs CONFIG_BHQ_DEBUG");
#endif
}

static struct kunit_case bhq_polling_cases[] = {
	KUNIT_CASE(bhq_polling_window_rules),
	KUNIT_CASE(bhq_polling_settings),
	KUNIT_CASE(bhq_polling_stops_when_idle),
	KUNIT_CASE(bhq_polling_no_wakeup),
	KUNIT_CASE(bhq_polling_stop_while_polling),
	KUNIT_CASE(bhq_polling_hotplug_while_polling),
	{}
};

static struct kunit_suite bhq_polling_suite = {
	.name = "bhq_polling",
	.test_cases = bhq_polling_cases,
};

kunit_test_suite(bhq_polling_suite);

MODULE_DESCRIPTION("KUnit tests for bhq: polling before sleeping");
MODULE_LICENSE("GPL");
BHQ_IMPORT_KUNIT_NS();
