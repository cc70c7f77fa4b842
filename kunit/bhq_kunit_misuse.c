// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for bhq's handling of bad input and API misuse: each misuse
 * is caught (the misuse count goes up by exactly one; the warning itself
 * fires once per call site and boot), changes nothing, and the context
 * keeps working.  Expected warnings are bracketed in the log by
 * BHQ-EXPECTED-WARNING-BEGIN/END lines, which scripts/kunit.sh skips when
 * it checks the raw log for splats; with KASAN on, a use-after-free or a
 * double free here fails the run.
 */

#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/debug_locks.h>
#include <linux/kmsg_dump.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/sched/task.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "../kmod/bhq_internal.h"

#define BHQ_TEST_WAIT	(10 * HZ)

/* Run @stmt, which must be caught as exactly one misuse. */
#define EXPECT_MISUSE(test, what, stmt)					\
do {									\
	struct kunit *__test = (test);					\
	const char *__what = (what);					\
	long __before = bhq_misuse_count();				\
									\
	kunit_info(__test, "BHQ-EXPECTED-WARNING-BEGIN %s", __what);	\
	stmt;								\
	kunit_info(__test, "BHQ-EXPECTED-WARNING-END");			\
	KUNIT_EXPECT_EQ_MSG(__test, bhq_misuse_count() - __before, 1,	\
			    "%s was not caught once", __what);		\
} while (0)

struct misuse_counter {
	atomic_t runs;
	struct bhq_ctx *ctx;
	struct completion inside;
	struct completion release;
};

static void misuse_count_fn(void *opaque)
{
	struct misuse_counter *c = opaque;

	atomic_inc(&c->runs);
}

/* Schedule a counting oneshot and flush: the context still works. */
static void expect_ctx_works(struct kunit *test, struct bhq_ctx *ctx)
{
	struct misuse_counter c = {};

	KUNIT_ASSERT_EQ(test, bhq_schedule_oneshot(ctx, misuse_count_fn, &c,
						   GFP_KERNEL), 0);
	bhq_ctx_flush(ctx);
	KUNIT_EXPECT_EQ(test, atomic_read(&c.runs), 1);
}

static void bhq_misuse_poll_threaded_from_foreign_task(struct kunit *test)
{
	struct bhq_ctx *ctx = bhq_ctx_create("kunit-foreign", 0);
	bool ran;

	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx));
	EXPECT_MISUSE(test, "bhq_poll() of a threaded context by another task",
		      ran = bhq_poll(ctx));
	KUNIT_EXPECT_FALSE(test, ran);
	expect_ctx_works(test, ctx);
	bhq_ctx_destroy(ctx);
}

static void misuse_flush_fn(void *opaque)
{
	struct misuse_counter *c = opaque;

	bhq_ctx_flush(c->ctx);
	atomic_inc(&c->runs);
}

static void bhq_misuse_flush_from_own_callback(struct kunit *test)
{
	struct misuse_counter c = {};
	struct bhq_bh *bh;

	c.ctx = bhq_ctx_create("kunit-flushcb", BHQ_CTX_MANUAL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(c.ctx));
	bh = bhq_bh_new(c.ctx, misuse_flush_fn, &c);
	KUNIT_ASSERT_NOT_NULL(test, bh);

	bhq_bh_schedule(bh);
	EXPECT_MISUSE(test, "bhq_ctx_flush() from a callback of the context",
		      bhq_poll(c.ctx));
	KUNIT_EXPECT_EQ(test, atomic_read(&c.runs), 1);
	KUNIT_EXPECT_EQ(test, bhq_compute_timeout(c.ctx), BHQ_TIMEOUT_INFINITE);
	expect_ctx_works(test, c.ctx);
	bhq_bh_delete(bh);
	bhq_ctx_destroy(c.ctx);
}

/*
 * The leaked BH is reported, left allocated and marked: scheduling it
 * later is caught without touching the freed context, and deleting it
 * frees it (KASAN checks both).
 */
static void bhq_misuse_destroy_with_live_bh(struct kunit *test)
{
	struct misuse_counter c = {};
	struct bhq_ctx *ctx;
	struct bhq_bh *bh;

	ctx = bhq_ctx_create("kunit-leak", 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx));
	bh = bhq_bh_new(ctx, misuse_count_fn, &c);
	KUNIT_ASSERT_NOT_NULL(test, bh);

	EXPECT_MISUSE(test, "bhq_ctx_destroy() with a live BH",
		      bhq_ctx_destroy(ctx));
	EXPECT_MISUSE(test, "bhq_bh_schedule() of a BH whose context is gone",
		      bhq_bh_schedule(bh));
	KUNIT_EXPECT_EQ(test, atomic_read(&c.runs), 0);
	bhq_bh_delete(bh);
}

static void bhq_misuse_schedule_after_delete(struct kunit *test)
{
	struct misuse_counter c = {};
	struct bhq_stats s;
	struct bhq_ctx *ctx;
	struct bhq_bh *bh;

	ctx = bhq_ctx_create("kunit-afterdel", BHQ_CTX_MANUAL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx));
	bh = bhq_bh_new(ctx, misuse_count_fn, &c);
	KUNIT_ASSERT_NOT_NULL(test, bh);

	/* Not freed before the next poll, so touching it here is safe. */
	bhq_bh_delete(bh);
	EXPECT_MISUSE(test, "bhq_bh_schedule() after bhq_bh_delete()",
		      bhq_bh_schedule(bh));
	EXPECT_MISUSE(test, "bhq_bh_delete() twice", bhq_bh_delete(bh));
	bhq_ctx_get_stats(ctx, &s);
	KUNIT_EXPECT_EQ(test, s.scheduled, 0);

	KUNIT_EXPECT_FALSE(test, bhq_poll(ctx));
	bhq_ctx_get_stats(ctx, &s);
	KUNIT_EXPECT_EQ(test, atomic_read(&c.runs), 0);
	KUNIT_EXPECT_EQ(test, s.executed, 0);
	KUNIT_EXPECT_EQ(test, s.deleted, 1);
	KUNIT_EXPECT_EQ(test, s.live, 0);
	bhq_ctx_destroy(ctx);
}

static void misuse_block_fn(void *opaque)
{
	struct misuse_counter *c = opaque;

	complete(&c->inside);
	wait_for_completion_timeout(&c->release, BHQ_TEST_WAIT);
	atomic_inc(&c->runs);
}

static int misuse_poller_thread(void *arg)
{
	struct misuse_counter *c = arg;

	bhq_poll(c->ctx);
	return 0;
}

/* While a kthread polls a manual context, another poll is refused. */
static void bhq_misuse_concurrent_polls(struct kunit *test)
{
	struct misuse_counter c = {};
	struct task_struct *poller;
	struct bhq_bh *bh;
	bool ran;

	init_completion(&c.inside);
	init_completion(&c.release);
	c.ctx = bhq_ctx_create("kunit-twopollers", BHQ_CTX_MANUAL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(c.ctx));
	bh = bhq_bh_new(c.ctx, misuse_block_fn, &c);
	KUNIT_ASSERT_NOT_NULL(test, bh);
	bhq_bh_schedule(bh);

	poller = kthread_run(misuse_poller_thread, &c, "bhq-kunit-poller");
	KUNIT_ASSERT_FALSE(test, IS_ERR(poller));
	get_task_struct(poller);
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&c.inside,
							  BHQ_TEST_WAIT), 0);
	EXPECT_MISUSE(test, "bhq_poll() while another task polls",
		      ran = bhq_poll(c.ctx));
	KUNIT_EXPECT_FALSE(test, ran);
	complete(&c.release);
	kthread_stop(poller);
	put_task_struct(poller);

	KUNIT_EXPECT_EQ(test, atomic_read(&c.runs), 1);
	bhq_bh_delete(bh);
	bhq_ctx_destroy(c.ctx);
}

/* Misuse changes nothing: a cancel after delete leaves the flags alone. */
static void bhq_misuse_cancel_after_delete(struct kunit *test)
{
	struct misuse_counter c = {};
	struct bhq_ctx *ctx;
	struct bhq_bh *bh;
	int flags;

	ctx = bhq_ctx_create("kunit-canceldel", BHQ_CTX_MANUAL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx));
	bh = bhq_bh_new(ctx, misuse_count_fn, &c);
	KUNIT_ASSERT_NOT_NULL(test, bh);
	bhq_bh_schedule(bh);
	bhq_bh_delete(bh);
	flags = atomic_read(&bh->flags);
	EXPECT_MISUSE(test, "bhq_bh_cancel() after bhq_bh_delete()",
		      bhq_bh_cancel(bh));
	KUNIT_EXPECT_EQ(test, atomic_read(&bh->flags), flags);
	EXPECT_MISUSE(test, "bhq_bh_cancel_sync() after bhq_bh_delete()",
		      bhq_bh_cancel_sync(bh));
	KUNIT_EXPECT_EQ(test, atomic_read(&bh->flags), flags);
	bhq_poll(ctx);
	KUNIT_EXPECT_EQ(test, atomic_read(&c.runs), 0);
	bhq_ctx_destroy(ctx);
}

struct misuse_self {
	struct bhq_bh *bh;
	long misuse;		/* misuses the callback's call caused */
	atomic_t runs;
};

static void misuse_cancel_sync_self_fn(void *opaque)
{
	struct misuse_self *m = opaque;
	long before = bhq_misuse_count();

	bhq_bh_cancel_sync(m->bh);
	m->misuse = bhq_misuse_count() - before;
	atomic_inc(&m->runs);
}

/*
 * bhq_bh_cancel_sync() of a BH from its own callback would wait for
 * itself: a warning, and it returns.  On a threaded context, so that the
 * thread is the caller.
 */
static void bhq_misuse_cancel_sync_from_own_callback(struct kunit *test)
{
	struct misuse_self m = {};
	struct bhq_ctx *ctx;

	ctx = bhq_ctx_create("kunit-csself", 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx));
	m.bh = bhq_bh_new(ctx, misuse_cancel_sync_self_fn, &m);
	KUNIT_ASSERT_NOT_NULL(test, m.bh);
	kunit_info(test, "BHQ-EXPECTED-WARNING-BEGIN %s",
		   "bhq_bh_cancel_sync() from its own callback");
	bhq_bh_schedule(m.bh);
	bhq_ctx_flush(ctx);
	kunit_info(test, "BHQ-EXPECTED-WARNING-END");
	KUNIT_EXPECT_EQ(test, atomic_read(&m.runs), 1);
	KUNIT_EXPECT_EQ(test, m.misuse, 1);
	expect_ctx_works(test, ctx);
	bhq_bh_delete(m.bh);
	bhq_ctx_destroy(ctx);
}

static void bhq_misuse_destroy_per_cpu_ctx(struct kunit *test)
{
	struct bhq_ctx *ctx = bhq_cpu_ctx(raw_smp_processor_id());

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	EXPECT_MISUSE(test, "bhq_ctx_destroy() of a per-CPU context",
		      bhq_ctx_destroy(ctx));
	expect_ctx_works(test, ctx);
}

struct bad_name_case {
	const char *desc;
	const char *name;
	unsigned int flags;
	int err;
};

static const struct bad_name_case bad_name_cases[] = {
	{ "empty name", "", BHQ_CTX_MANUAL, -EINVAL },
	{ "slash in name", "a/b", BHQ_CTX_MANUAL, -EINVAL },
	{ "name too long", "0123456789abcdef0123456789abcdef", BHQ_CTX_MANUAL,
	  -EINVAL },
	{ "reserved name", "summary", BHQ_CTX_MANUAL, -EINVAL },
	{ "control character in name", "a\tb", BHQ_CTX_MANUAL, -EINVAL },
	{ "non-ASCII name", "caf\xc3\xa9", BHQ_CTX_MANUAL, -EINVAL },
	{ "name of a per-CPU context", "cpu0", BHQ_CTX_MANUAL, -EEXIST },
	{ "unknown flag", "kunit-flag", 0x2, -EINVAL },
};

KUNIT_ARRAY_PARAM_DESC(bad_name, bad_name_cases, desc);

/* Bad arguments to bhq_ctx_create() are errors, not misuse warnings. */
static void bhq_misuse_ctx_create_rejects(struct kunit *test)
{
	const struct bad_name_case *c = test->param_value;
	long before = bhq_misuse_count();
	struct bhq_ctx *ctx;

	ctx = bhq_ctx_create(c->name, c->flags);
	KUNIT_EXPECT_TRUE(test, IS_ERR(ctx));
	if (IS_ERR(ctx))
		KUNIT_EXPECT_EQ(test, PTR_ERR(ctx), c->err);
	else
		bhq_ctx_destroy(ctx);
	KUNIT_EXPECT_EQ(test, bhq_misuse_count(), before);
}

#ifdef CONFIG_PROVE_LOCKING
#define LD_LOG_MAX	SZ_32K
#define LD_LINE_MAX	1024

/*
 * Copy the kernel log written since @iter was set into @log, as one
 * string (its first LD_LOG_MAX - 1 bytes), from the printk ring buffer,
 * where printk() has stored each line before it returns, whatever the
 * consoles are doing.
 */
static void ld_log_since(struct kmsg_dump_iter *iter, char *log)
{
	size_t used = 0, len;

	while (used + LD_LINE_MAX < LD_LOG_MAX &&
	       kmsg_dump_get_line(iter, false, log + used, LD_LINE_MAX, &len))
		used += len;
	log[used] = '\0';
}

/*
 * Does [@from, @to) of the log name the lock class @name?  The bare name:
 * lockdep prints "(" and the name with two printk() calls, between which
 * another CPU's line may come.
 */
static bool ld_names(const char *from, const char *to, const char *name)
{
	return strnstr(from, name, to - from);
}

/*
 * The first lockdep report in @log must be the one the case provokes: a
 * circular dependency found when this task tried to take the class of
 * the context @ctx_name (bhq_ctx_flush()) while holding @lock_name.
 * Lockdep prints it as
 *
 *	WARNING: possible circular locking dependency detected
 *	...
 *	<comm>/<pid> is trying to acquire lock:
 *	<address> (<class>){<usage>}-{<wait types>}, at: <function>
 *
 *	but task is already holding lock:
 *	<address> (<class>){...}, at: <function>
 *
 *	which lock already depends on the new lock.
 *
 * (kernel/locking/lockdep.c, print_circular_bug_header()); a class is
 * named after its lockdep map, and a context's map after the context
 * (bhq_ctx_alloc()).
 */
static void ld_expect_cycle(struct kunit *test, const char *log,
			    const char *ctx_name, const char *lock_name)
{
	const char *hdr, *acq, *held, *end;
	char who[TASK_COMM_LEN + 48];

	hdr = strstr(log, "WARNING: possible circular locking dependency detected");
	KUNIT_ASSERT_NOT_NULL_MSG(test, hdr,
				  "no circular dependency reported; the log begins: %.400s",
				  log);
	snprintf(who, sizeof(who), "%s/%d is trying to acquire lock:",
		 current->comm, task_pid_nr(current));
	acq = strstr(hdr, who);
	held = acq ? strstr(acq, "but task is already holding lock:") : NULL;
	end = held ? strstr(held, "which lock already depends on the new lock.") : NULL;
	KUNIT_ASSERT_TRUE_MSG(test, acq && held && end,
			      "not a report of this task (%s): %.600s", who, hdr);
	KUNIT_EXPECT_TRUE_MSG(test, ld_names(acq, held, ctx_name),
			      "the lock acquired is not context %s's: %.*s",
			      ctx_name, (int)(held - acq), acq);
	KUNIT_EXPECT_TRUE_MSG(test, ld_names(held, end, lock_name),
			      "the lock held is not %s: %.*s", lock_name,
			      (int)(end - held), held);
}

static DEFINE_MUTEX(misuse_lock);

static void misuse_lock_fn(void *opaque)
{
	struct misuse_counter *c = opaque;

	mutex_lock(&misuse_lock);
	atomic_inc(&c->runs);
	mutex_unlock(&misuse_lock);
}

/*
 * A flush under a lock that a callback of the context takes can deadlock
 * (the callback waits for the lock, the flush for the callback), even when
 * it does not this time: lockdep must say so, as it does for
 * flush_work().  Lockdep turns itself off after its first report, so this
 * runs last.  The report is read back from the kernel log written during
 * the flush: it must be the circular dependency between the context's
 * class and misuse_lock, found by this task's flush; any other report, or
 * none, fails the case.
 */
static void bhq_misuse_flush_under_callback_lock_lockdep(struct kunit *test)
{
	char name[BHQ_CTX_NAME_MAX + 1];
	struct misuse_counter c = {};
	struct kmsg_dump_iter iter;
	struct bhq_ctx *ctx;
	struct bhq_bh *bh;
	char *log;

	if (!IS_ENABLED(CONFIG_PRINTK))
		kunit_skip(test, "needs CONFIG_PRINTK to read the report");
	if (!debug_locks)
		kunit_skip(test, "lockdep is already off");
	log = kunit_kzalloc(test, LD_LOG_MAX, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, log);
	ctx = bhq_ctx_create("kunit-lockdep", 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx));
	bh = bhq_bh_new(ctx, misuse_lock_fn, &c);
	KUNIT_ASSERT_NOT_NULL(test, bh);
	/* Lockdep learns that a callback of the context takes the lock. */
	bhq_bh_schedule(bh);
	bhq_ctx_flush(ctx);
	KUNIT_EXPECT_EQ(test, atomic_read(&c.runs), 1);

	kunit_info(test, "BHQ-EXPECTED-WARNING-BEGIN %s",
		   "lockdep: bhq_ctx_flush() under a lock a callback takes");
	/* Read only what is logged from here on. */
	kmsg_dump_rewind(&iter);
	iter.cur_seq = iter.next_seq;
	mutex_lock(&misuse_lock);
	bhq_ctx_flush(ctx);
	mutex_unlock(&misuse_lock);
	ld_log_since(&iter, log);
	kunit_info(test, "BHQ-EXPECTED-WARNING-END");
	strscpy(name, ctx->name, sizeof(name));
	bhq_bh_delete(bh);
	bhq_ctx_destroy(ctx);
	KUNIT_EXPECT_EQ_MSG(test, debug_locks, 0, "lockdep saw no deadlock");
	ld_expect_cycle(test, log, name, misuse_lock.dep_map.name);
}
#else
static void bhq_misuse_flush_under_callback_lock_lockdep(struct kunit *test)
{
	kunit_skip(test, "needs CONFIG_PROVE_LOCKING");
}
#endif

static struct kunit_case bhq_misuse_cases[] = {
	KUNIT_CASE(bhq_misuse_poll_threaded_from_foreign_task),
	KUNIT_CASE(bhq_misuse_flush_from_own_callback),
	KUNIT_CASE(bhq_misuse_destroy_with_live_bh),
	KUNIT_CASE(bhq_misuse_schedule_after_delete),
	KUNIT_CASE(bhq_misuse_concurrent_polls),
	KUNIT_CASE(bhq_misuse_cancel_after_delete),
	KUNIT_CASE(bhq_misuse_cancel_sync_from_own_callback),
	KUNIT_CASE(bhq_misuse_destroy_per_cpu_ctx),
	KUNIT_CASE_PARAM(bhq_misuse_ctx_create_rejects, bad_name_gen_params),
	/* Last: lockdep is off after it. */
	KUNIT_CASE(bhq_misuse_flush_under_callback_lock_lockdep),
	{}
};

static struct kunit_suite bhq_misuse_suite = {
	.name = "bhq_misuse",
	.test_cases = bhq_misuse_cases,
};

kunit_test_suite(bhq_misuse_suite);

MODULE_DESCRIPTION("KUnit tests for bhq: bad input and API misuse");
MODULE_LICENSE("GPL");
BHQ_IMPORT_KUNIT_NS();
