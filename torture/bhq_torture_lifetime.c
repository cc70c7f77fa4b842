// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_torture lifetime modes: the races where one party's life ends while
 * another is still inside bhq (the table in include/linux/bhq.h and its rules
 * (1)-(4)), hammered next to the main load of bhq_torture_main.c and
 * counted in the same ops, checks and violations (their own counts are
 * the lt_* lines of /sys/kernel/debug/bhq/torture/stats).  Each mode has
 * its parameter; 0 turns it off.
 *
 * destroy: contexts destroyed under returning schedules
 * =====================================================
 * Rounds: a context is created (threaded; every fourth round a manual one,
 * polled by a kthread), @destroy_threads kthreads and, with irq_producers,
 * an hrtimer (hardirq) schedule its BHs, idle or not, and oneshots.  Each
 * BH belongs to one scheduler, which schedules it again only once its
 * callback has started for the previous schedule: no schedule coalesces,
 * each must make exactly one run.  Then the shot: each scheduler (one, in
 * turn, when bhq's delay is on; see below) announces one last schedule
 * and makes it, and as soon as the callbacks of every schedule of the BHs
 * have started, the BHs are deleted and the context destroyed, while
 * those last schedule calls may still be returning (rules (1) and (2)).
 * Meanwhile a gate callback keeps the thread polling (nested polls), so
 * that the callbacks run before the schedulers' own wakeups.  A few
 * oneshots made just before the destroy are often still pending then:
 * the destroy must run them.
 * Checks: each BH ran exactly as often as it was scheduled (lost,
 * spurious), every oneshot ran once (lost), no callback ran once destroy
 * had returned (after_destroy), every wait within stall_ms (stall).  A use
 * after free of the context or a BH by a returning schedule is for KASAN
 * to see (make torture-debug).
 *
 * selfdel: BHs that delete themselves under returning idle schedules
 * ==================================================================
 * Batches on two long-lived contexts, a threaded and a manual one in
 * turn: fresh BHs whose callback deletes its own BH, each scheduled idle
 * once by a kthread (@selfdel_threads of them) or the hrtimer.  The shot
 * (each scheduler's first BH of the batch) runs, deletes itself and is
 * freed by the following poll while its idle schedule may still be
 * returning and re-reading the BH (bhq_nonidle_while_adding()); a gate
 * callback polls the threaded context meanwhile, a kthread the manual one.
 * Checks: every BH ran exactly once (lost, spurious), every wait within
 * stall_ms (stall) and, once the batch is flushed, the context's live
 * count is back at its baseline (live).
 *
 * manual: a manual context flushed, cancelled and destroyed by others
 * ===================================================================
 * Rounds: an owner kthread creates a manual context, schedules its own BHs
 * and polls it; callbacks sometimes sleep or poll again (nested), and the
 * owner pauses now and then, so that the others' flushes poll in its
 * place.  @manual_helpers kthreads meanwhile call bhq_ctx_flush() and
 * bhq_bh_cancel_sync() on BHs of their own, sometimes while the callback
 * sleeps.  At the end of a round the helpers stop, the owner deletes the
 * BHs, and the callback of its last poll wakes one helper, which destroys
 * the context while the owner is still in that poll or returning from it
 * (rules (3) and (4)).  All bookkeeping of a BH is under a lock of its
 * own, and the callbacks being run form a stack (the poller's), so these
 * checks are exact in what they flag:
 * flush: when bhq_ctx_flush() returns, every BH scheduled before the call
 *   and not cancelled since has run and returned, and so has the
 *   outermost callback that was running before the call (even while a
 *   nested poll inside it met the flush's barrier).
 * cancel_sync: when bhq_bh_cancel_sync() returns, the BH's callback does
 *   not run, and it does not start until the BH is scheduled again.
 * destroy: bhq_ctx_destroy() does not return while a callback of the
 *   owner's last poll runs.
 * misuse: bhq's misuse count does not move (bhq_misuse_count(), built
 *   with CONFIG_KUNIT; otherwise scripts/guest-torture.sh compares
 *   /sys/kernel/debug/bhq/misuse before and after the run).
 * Also lost, spurious, after_destroy and stall as above.
 *
 * The delay
 * =========
 * With CONFIG_BHQ_DEBUG, the destroy and selfdel modes set bhq's
 * debug_publish_delay_us for one shot in three: with
 * bhq_debug_set_publish_delay() when bhq exports it (CONFIG_KUNIT), else
 * through /sys/module/bhq/parameters/ if the parameter is there.  The
 * delay is global, so it is on only from the shot until its callbacks
 * ran (the shot's schedules have read it by then, right after they
 * published, and wait it out), and meanwhile the main load and our own
 * free-running schedulers hold off (bt_hold_begin()).  Such a shot is
 * fired by one scheduler, the kthreads and the hrtimer in turn: each
 * waits the delay out on its CPU, and the gate and the control thread
 * need CPUs meanwhile.  The delay is twice what recent delayed rounds took
 * from the shot to the end of the destroy (or of the frees), at most
 * @lifetime_delay_us, so that the destroy completes while the shot's
 * schedule call still waits.  Without the delay the windows are narrow.  The counts
 * lt_*_ran_before_return, lt_selfdel_freed_before_return,
 * lt_destroy_returning and lt_destroy_outlived say how often each window
 * was hit.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include <linux/bhq.h>
#include "bhq_torture.h"

/*
 * bhq's test hooks (bhq_misuse_count(), bhq_debug_set_publish_delay()) are
 * exported only to modules built with CONFIG_KUNIT, as the KUnit suites
 * are; they are declared with bhq's internals.
 */
#if IS_ENABLED(CONFIG_KUNIT)
#include "../kmod/bhq_internal.h"
MODULE_IMPORT_NS(BHQ_KUNIT_NS);
#endif

static unsigned int destroy_threads = 2;
module_param(destroy_threads, uint, 0444);
MODULE_PARM_DESC(destroy_threads, "destroy mode: kthreads scheduling on each short-lived context, 0: off (0-8, default 2)");

static unsigned int selfdel_threads = 2;
module_param(selfdel_threads, uint, 0444);
MODULE_PARM_DESC(selfdel_threads, "selfdel mode: kthreads scheduling self-deleting BHs, 0: off (0-8, default 2)");

static unsigned int manual_helpers = 2;
module_param(manual_helpers, uint, 0444);
MODULE_PARM_DESC(manual_helpers, "manual mode: kthreads flushing, cancelling and destroying a polled manual context, 0: off (0-8, default 2)");

static unsigned int lifetime_delay_us = 50000;
module_param(lifetime_delay_us, uint, 0444);
MODULE_PARM_DESC(lifetime_delay_us, "longest bhq.debug_publish_delay_us the destroy and selfdel modes set, if bhq has it; 0: none (0-100000, default 50000)");

/* BHs per scheduler and round (destroy) or batch (selfdel). */
#define LT_D_BHS		3
#define LT_S_BHS		4
/* The owner's BHs and each helper's (manual); its callbacks' nesting. */
#define LT_M_OWNER_BHS		4
#define LT_M_HELPER_BHS		2
#define LT_M_MAX_BHS		(LT_M_OWNER_BHS + 8 * LT_M_HELPER_BHS)
#define LT_M_MAX_NEST		3
/* Length of a manual round, and of a destroy round's free run, in ms. */
#define LT_M_ROUND_MS		20
#define LT_D_RUN_MS		4
/* The hrtimer's period while it schedules freely. */
#define LT_TIMER_PERIOD_NS	(200 * NSEC_PER_USEC)
/* The shortest delay worth setting. */
#define LT_DELAY_MIN_US		500

enum lt_stat {
	LT_OPS,
	LT_CHECKS,
	LT_ALLOC_FAILURES,
	LT_DELAY_WINDOWS,
	LT_D_ROUNDS,
	LT_D_MANUAL_ROUNDS,
	LT_D_SCHEDULES,
	LT_D_IRQ_SCHEDULES,
	LT_D_ONESHOTS,
	LT_D_RUNS,
	LT_D_RAN_BEFORE_RETURN,
	LT_D_RETURNING,
	LT_D_OUTLIVED,
	LT_D_DRAINED,
	LT_S_BATCHES,
	LT_S_BHS_STAT,
	LT_S_IRQ_BHS,
	LT_S_RAN_BEFORE_RETURN,
	LT_S_FREED_BEFORE_RETURN,
	LT_M_ROUNDS,
	LT_M_SCHEDULES,
	LT_M_RUNS,
	LT_M_RUNS_BY_HELPER,
	LT_M_POLLS,
	LT_M_NESTED_POLLS,
	LT_M_FLUSHES,
	LT_M_FLUSH_WAITED,
	LT_M_CANCEL_SYNCS,
	LT_M_CANCEL_WAITED,
	LT_M_DESTROY_WAITED,
	LT_NR_STATS,
};

static const char * const lt_stat_names[] = {
	"ops", "checks", "alloc_failures", "delay_windows",
	"destroy_rounds", "destroy_manual_rounds", "destroy_schedules",
	"destroy_irq_schedules", "destroy_oneshots", "destroy_runs",
	"destroy_ran_before_return", "destroy_returning", "destroy_outlived",
	"destroy_drained",
	"selfdel_batches", "selfdel_bhs", "selfdel_irq_bhs",
	"selfdel_ran_before_return", "selfdel_freed_before_return",
	"manual_rounds", "manual_schedules", "manual_runs",
	"manual_runs_by_helper", "manual_polls", "manual_nested_polls",
	"manual_flushes", "manual_flush_waited", "manual_cancel_syncs",
	"manual_cancel_waited", "manual_destroy_waited",
};

static_assert(ARRAY_SIZE(lt_stat_names) == LT_NR_STATS);

enum lt_violation {
	LT_V_LOST,
	LT_V_SPURIOUS,
	LT_V_AFTER_DESTROY,
	LT_V_LIVE,
	LT_V_FLUSH,
	LT_V_CANCEL_SYNC,
	LT_V_DESTROY,
	LT_V_MISUSE,
	LT_V_STALL,
	LT_NR_VIOLATIONS,
};

static const char * const lt_violation_names[] = {
	"lost", "spurious", "after_destroy", "live", "flush", "cancel_sync",
	"destroy", "misuse", "stall",
};

static_assert(ARRAY_SIZE(lt_violation_names) == LT_NR_VIOLATIONS);

struct lt_counters {
	u64 v[LT_NR_STATS];
};

/**
 * struct lt_state - what the modes share
 * @counters: per-CPU counters, enum lt_stat
 * @violations: per kind of violation
 * @delay_lock: serializes the delay windows of the modes
 * @delay_users: windows open
 * @delay_cur: the delay set now, in us
 * @delay_max: the longest delay set, in us
 * @delay_file: bhq's debug_publish_delay_us parameter, when it is set
 *	through sysfs
 * @delay_ok: the delay can be set
 * @misuse_ok: bhq's misuse count can be read
 * @misuse_base: the count that must not move
 * @stopping: the modes make no new round (lt_stop())
 */
struct lt_state {
	struct lt_counters __percpu *counters;
	atomic_long_t violations[LT_NR_VIOLATIONS];
	struct mutex delay_lock;	/* for the delay_* fields */
	unsigned int delay_users;
	unsigned int delay_cur;
	unsigned int delay_max;
	struct file *delay_file;
	bool delay_ok;
	bool misuse_ok;
	long misuse_base;
	bool stopping;
};

static struct lt_state lt = {
	.delay_lock = __MUTEX_INITIALIZER(lt.delay_lock),
};

static void lt_inc(enum lt_stat stat)
{
	this_cpu_inc(lt.counters->v[stat]);
}

static void lt_add(enum lt_stat stat, u64 n)
{
	this_cpu_add(lt.counters->v[stat], n);
}

static u64 lt_sum(enum lt_stat stat)
{
	unsigned int cpu;
	u64 sum = 0;

	if (!lt.counters)
		return 0;
	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(lt.counters, cpu)->v[stat];
	return sum;
}

/**
 * lt_violation() - count a violation, and report the first ones
 * @v: its kind
 * @fmt: printf format of the details
 *
 * Context: any.
 */
static __printf(2, 3) void lt_violation(enum lt_violation v, const char *fmt, ...)
{
	long n = atomic_long_inc_return(&lt.violations[v]);
	struct va_format vaf;
	va_list args;

	if (n > BT_REPORT_MAX)
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("violation lt_%s #%ld: %pV\n", lt_violation_names[v], n, &vaf);
	va_end(args);
}

static unsigned long lt_stall_jiffies(void)
{
	return msecs_to_jiffies(bt_stall_ms());
}

/*
 * Wait until @cond holds, sleeping 50-200 us at a time, at most stall_ms.
 * Evaluates to @cond's last value.
 */
#define lt_wait_until(cond)						\
({									\
	unsigned long __end = jiffies + lt_stall_jiffies();		\
	bool __done;							\
									\
	for (;;) {							\
		__done = (cond);					\
		if (__done || time_after(jiffies, __end))		\
			break;						\
		usleep_range(50, 200);					\
	}								\
	__done;								\
})

/* ---- bhq's test hooks: the publish delay and the misuse count ---- */

#if IS_ENABLED(CONFIG_KUNIT) && IS_ENABLED(CONFIG_BHQ_DEBUG)
static bool lt_delay_open(void)
{
	return true;
}

static void lt_delay_apply(unsigned int usecs)
{
	bhq_debug_set_publish_delay(usecs);
}
#else
#define LT_DELAY_PARAM	"/sys/module/bhq/parameters/debug_publish_delay_us"

/* Without the exported hook, bhq's parameter, if it has one. */
static bool lt_delay_open(void)
{
	struct file *f = filp_open(LT_DELAY_PARAM, O_WRONLY, 0);

	if (IS_ERR(f))
		return false;
	lt.delay_file = f;
	return true;
}

static void lt_delay_apply(unsigned int usecs)
{
	char buf[16];
	loff_t pos = 0;
	ssize_t n;

	n = kernel_write(lt.delay_file, buf,
			 scnprintf(buf, sizeof(buf), "%u\n", usecs), &pos);
	if (n < 0)
		pr_warn_once("cannot set %s: %zd\n", LT_DELAY_PARAM, n);
}
#endif

static void lt_delay_close(void)
{
	if (lt.delay_file)
		filp_close(lt.delay_file, NULL);
	lt.delay_file = NULL;
}

/* The delay for the shot of round @n, after @ewma_us of work; 0: none. */
static unsigned int lt_delay_pick(unsigned int n, unsigned int ewma_us)
{
	/* One round in three: manual and threaded ones, undelayed ones too. */
	if (!lt.delay_ok || !lifetime_delay_us || n % 3)
		return 0;
	return min(max(2 * ewma_us, LT_DELAY_MIN_US), lifetime_delay_us);
}

/* Average in the time since @t0 (ktime_get_ns()), in us. */
static void lt_ewma(unsigned int *ewma_us, u64 t0)
{
	unsigned int us = div_u64(ktime_get_ns() - t0, NSEC_PER_USEC);

	*ewma_us = *ewma_us ? (3 * *ewma_us + us) / 4 : us;
}

/*
 * Open a delay window of @usecs (the longest open one wins).  The load
 * holds off meanwhile (bt_hold_begin()), and so do our own schedulers but
 * the shot's: each of their schedules would wait the delay out, many in
 * hardirq or with interrupts off.
 */
static void lt_delay_begin(unsigned int usecs)
{
	mutex_lock(&lt.delay_lock);
	if (!lt.delay_users)
		bt_hold_begin();
	if (!lt.delay_users++ || usecs > lt.delay_cur) {
		lt_delay_apply(usecs);
		lt.delay_cur = usecs;
		WRITE_ONCE(lt.delay_max, max(lt.delay_max, usecs));
	}
	mutex_unlock(&lt.delay_lock);
	lt_inc(LT_DELAY_WINDOWS);
}

static void lt_delay_end(void)
{
	mutex_lock(&lt.delay_lock);
	if (!--lt.delay_users) {
		lt_delay_apply(0);
		lt.delay_cur = 0;
		bt_hold_end();
	}
	mutex_unlock(&lt.delay_lock);
}

#if IS_ENABLED(CONFIG_KUNIT)
static bool lt_misuse_read(long *count)
{
	*count = bhq_misuse_count();
	return true;
}
#else
static bool lt_misuse_read(long *count)
{
	return false;
}
#endif

/* Has bhq counted a misuse since the last check?  Called by one thread. */
static void lt_misuse_check(void)
{
	long now;

	if (!lt.misuse_ok || !lt_misuse_read(&now))
		return;
	lt_inc(LT_CHECKS);
	if (now != lt.misuse_base)
		lt_violation(LT_V_MISUSE, "bhq counted %ld misuses (debugfs bhq/misuse)",
			     now - lt.misuse_base);
	lt.misuse_base = now;
}

/* ---- crews: scheduler kthreads and an hrtimer, given orders ---- */

/*
 * What a crew is told to do.  RUN: schedule freely until the next order;
 * SHOT: one last schedule each (destroy), or each one's first BH (selfdel);
 * REST: the remaining BHs (selfdel).
 */
enum lt_cmd {
	LT_CMD_NONE,
	LT_CMD_RUN,
	LT_CMD_SHOT,
	LT_CMD_REST,
};

#define LT_CMD_BITS	2
#define LT_CMD_MASK	((1UL << LT_CMD_BITS) - 1)

struct lt_worker;

/**
 * struct lt_crew - the schedulers of a mode
 * @w: the workers: kthreads, then the hrtimer if any
 * @nr: entries in @w
 * @serve: carries out an order for one worker; false: not now, call
 *	again later (the load is held off, see lt_delay_begin())
 * @order: a generation (upper bits) and an enum lt_cmd (LT_CMD_BITS);
 *	one word, so that a worker reads both at once
 * @only: the one worker that fires a SHOT, -1: all of them
 * @wq: the kthreads wait for orders here
 * @busy: workers still carrying out a SHOT or REST order
 * @idle: the mode's control thread waits for @busy here
 */
struct lt_crew {
	struct lt_worker *w;
	unsigned int nr;
	bool (*serve)(struct lt_worker *w, enum lt_cmd cmd);
	unsigned long order;
	int only;
	wait_queue_head_t wq;
	atomic_t busy;
	wait_queue_head_t idle;
};

/**
 * struct lt_worker - one scheduler of a crew
 * @crew: its crew
 * @idx: index in the crew, selects its BHs
 * @hardirq: the hrtimer, not a kthread
 * @task: the kthread
 * @timer: the hrtimer
 * @served: the last order carried out (the hrtimer)
 * @next: where a REST order that had to wait resumes
 * @rnd: random state
 * @last: the last schedule of the SHOT is announced (destroy)
 * @returned: the SHOT's schedule returned
 */
struct lt_worker {
	struct lt_crew *crew;
	unsigned int idx;
	bool hardirq;
	struct task_struct *task;
	struct hrtimer timer;
	unsigned long served;
	unsigned int next;
	struct rnd_state rnd;
	bool last;
	bool returned;
};

static void lt_crew_done(struct lt_crew *c)
{
	if (atomic_dec_and_test(&c->busy))
		wake_up_all(&c->idle);
}

static enum hrtimer_restart lt_timer_fn(struct hrtimer *timer)
{
	struct lt_worker *w = container_of(timer, struct lt_worker, timer);
	struct lt_crew *c = w->crew;
	/* Pairs with lt_crew_order(): the round or batch is set. */
	unsigned long order = smp_load_acquire(&c->order);
	enum lt_cmd cmd = order & LT_CMD_MASK;

	if (cmd == LT_CMD_RUN) {
		c->serve(w, cmd);
		hrtimer_forward_now(timer, ns_to_ktime(LT_TIMER_PERIOD_NS));
		return HRTIMER_RESTART;
	}
	if (cmd == LT_CMD_NONE || order == w->served)
		return HRTIMER_NORESTART;
	if (!c->serve(w, cmd)) {
		hrtimer_forward_now(timer, ns_to_ktime(LT_TIMER_PERIOD_NS));
		return HRTIMER_RESTART;
	}
	w->served = order;
	lt_crew_done(c);
	return HRTIMER_NORESTART;
}

static int lt_worker_fn(void *arg)
{
	struct lt_worker *w = arg;
	struct lt_crew *c = w->crew;
	unsigned long seen = 0;
	enum lt_cmd cmd;

	for (;;) {
		wait_event_idle(c->wq, READ_ONCE(c->order) != seen ||
				kthread_should_stop());
		if (kthread_should_stop())
			break;
		/* Pairs with lt_crew_order(): the round or batch is set. */
		seen = smp_load_acquire(&c->order);
		cmd = seen & LT_CMD_MASK;
		if (cmd == LT_CMD_NONE)
			continue;
		if (cmd == LT_CMD_RUN) {
			while (READ_ONCE(c->order) == seen && !kthread_should_stop()) {
				c->serve(w, cmd);
				usleep_range(20, 100);
			}
			continue;
		}
		while (!c->serve(w, cmd))
			usleep_range(100, 200);
		lt_crew_done(c);
	}
	return 0;
}

/**
 * lt_crew_order() - give every worker of @c an order
 * @c: the crew, idle unless it runs freely
 * @cmd: the order; LT_CMD_NONE stops a free run
 * @only: for a SHOT, the one worker to fire it, -1: all
 *
 * The state a worker needs (the mode's round or batch) is set before, and
 * published by the release.  The hrtimer is started unless it runs
 * freely: then it takes the order at its next expiry (starting it while
 * its callback runs would make that callback's hrtimer_forward_now() find
 * it queued).
 */
static void lt_crew_order(struct lt_crew *c, enum lt_cmd cmd, int only)
{
	unsigned long order = ((c->order >> LT_CMD_BITS) + 1) << LT_CMD_BITS | cmd;
	bool running = (c->order & LT_CMD_MASK) == LT_CMD_RUN;
	unsigned int i;

	atomic_set(&c->busy, cmd == LT_CMD_RUN || cmd == LT_CMD_NONE ? 0 : c->nr);
	WRITE_ONCE(c->only, only);
	for (i = 0; i < c->nr; i++) {
		WRITE_ONCE(c->w[i].last, false);
		WRITE_ONCE(c->w[i].returned, false);
		if (cmd == LT_CMD_SHOT)
			c->w[i].next = 0;
	}
	/* Pairs with the workers' acquire: they see what we set before. */
	smp_store_release(&c->order, order);
	wake_up_all(&c->wq);
	for (i = 0; i < c->nr && cmd != LT_CMD_NONE && !running; i++) {
		if (c->w[i].hardirq)
			hrtimer_start(&c->w[i].timer, ns_to_ktime(LT_TIMER_PERIOD_NS),
				      HRTIMER_MODE_REL_HARD);
	}
}

/* Does @w fire the SHOT? */
static bool lt_crew_fires(struct lt_worker *w)
{
	int only = READ_ONCE(w->crew->only);

	return only < 0 || only == w->idx;
}

/* Wait until the crew carried out its SHOT or REST order. */
static bool lt_crew_wait(struct lt_crew *c)
{
	return wait_event_idle_timeout(c->idle, !atomic_read(&c->busy),
				       lt_stall_jiffies()) > 0;
}

/* How many workers' SHOT schedules have not returned yet. */
static unsigned int lt_crew_returning(struct lt_crew *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < c->nr; i++)
		n += !READ_ONCE(c->w[i].returned);
	return n;
}

static void lt_crew_stop_timer(struct lt_crew *c)
{
	unsigned int i;

	for (i = 0; i < c->nr; i++) {
		if (c->w[i].hardirq)
			hrtimer_cancel(&c->w[i].timer);
	}
}

/**
 * lt_crew_init() - make the workers of a crew (not started)
 * @c: the crew
 * @threads: kthreads; an hrtimer is added with irq_producers
 * @name: the kthreads' name, with their index
 * @serve: what an order means
 *
 * Return: 0 or -ENOMEM.
 */
static int lt_crew_init(struct lt_crew *c, unsigned int threads,
			const char *name,
			bool (*serve)(struct lt_worker *w, enum lt_cmd cmd))
{
	unsigned int i;

	init_waitqueue_head(&c->wq);
	init_waitqueue_head(&c->idle);
	c->serve = serve;
	c->nr = threads + bt_irq_producers();
	c->w = kcalloc(c->nr, sizeof(*c->w), GFP_KERNEL);
	if (!c->w)
		return -ENOMEM;
	for (i = 0; i < c->nr; i++) {
		struct lt_worker *w = &c->w[i];

		w->crew = c;
		w->idx = i;
		prandom_seed_state(&w->rnd, get_random_u64());
		if (i >= threads) {
			w->hardirq = true;
			hrtimer_init(&w->timer, CLOCK_MONOTONIC,
				     HRTIMER_MODE_REL_HARD);
			w->timer.function = lt_timer_fn;
			continue;
		}
		w->task = kthread_create(lt_worker_fn, w, "%s/%u", name, i);
		if (IS_ERR(w->task)) {
			w->task = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

static void lt_crew_start(struct lt_crew *c)
{
	unsigned int i;

	for (i = 0; i < c->nr; i++) {
		if (c->w[i].task)
			wake_up_process(c->w[i].task);
	}
}

/* After the mode's control thread: no order comes any more. */
static void lt_crew_exit(struct lt_crew *c)
{
	unsigned int i;

	for (i = 0; c->w && i < c->nr; i++) {
		if (c->w[i].task)
			kthread_stop(c->w[i].task);
		c->w[i].task = NULL;
	}
	if (c->w)
		lt_crew_stop_timer(c);
	kfree(c->w);
	c->w = NULL;
}

/* ---- a kthread polling a manual context ---- */

/**
 * struct lt_poller - the poller of a destroy or selfdel manual context
 * @task: the kthread
 * @wq: it waits here to be switched on
 * @ctx: the context it polls while @on
 * @on: poll @ctx
 * @off: it saw @on cleared and polls no more
 * @polls: polls that returned
 */
struct lt_poller {
	struct task_struct *task;
	wait_queue_head_t wq;
	struct bhq_ctx *ctx;
	bool on;
	bool off;
	unsigned long polls;
};

static int lt_poller_fn(void *arg)
{
	struct lt_poller *p = arg;

	for (;;) {
		wait_event_idle(p->wq, READ_ONCE(p->on) || kthread_should_stop());
		if (kthread_should_stop())
			break;
		/* The stop check is for a stuck mode only: see lt_d_stall(). */
		/* Pairs with lt_poller_on(): @ctx is set. */
		while (smp_load_acquire(&p->on) && !kthread_should_stop()) {
			if (!bhq_poll(p->ctx))
				usleep_range(20, 50);
			WRITE_ONCE(p->polls, p->polls + 1);
		}
		/*
		 * Our last poll has returned: the context may be destroyed.
		 * Pairs with the acquire in lt_poller_off().
		 */
		smp_store_release(&p->off, true);
	}
	return 0;
}

static int lt_poller_init(struct lt_poller *p, const char *name)
{
	init_waitqueue_head(&p->wq);
	p->task = kthread_create(lt_poller_fn, p, "%s", name);
	if (IS_ERR(p->task)) {
		p->task = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void lt_poller_on(struct lt_poller *p, struct bhq_ctx *ctx)
{
	p->ctx = ctx;
	WRITE_ONCE(p->off, false);
	/* Pairs with the poller's acquire: it polls @ctx. */
	smp_store_release(&p->on, true);
	wake_up(&p->wq);
}

/* Stop polling; false (a stall) if the poller does not stop in time. */
static bool lt_poller_off(struct lt_poller *p)
{
	WRITE_ONCE(p->on, false);
	/* Pairs with the poller's release after its last poll. */
	if (lt_wait_until(smp_load_acquire(&p->off)))
		return true;
	lt_violation(LT_V_STALL,
		     "a manual context's poll did not return within %u ms",
		     bt_stall_ms());
	return false;
}

static void lt_poller_exit(struct lt_poller *p)
{
	if (p->task)
		kthread_stop(p->task);
	p->task = NULL;
}

/* ---- destroy: contexts destroyed under returning schedules ---- */

struct lt_dround;

/**
 * struct lt_dbh - a BH of a destroy round
 * @bh: the bhq BH
 * @r: its round
 * @w: its scheduler, the only one to schedule it
 * @intents: schedules announced (its scheduler writes)
 * @runs: callbacks started
 * @shot: the SHOT schedules it
 */
struct lt_dbh {
	struct bhq_bh *bh;
	struct lt_dround *r;
	struct lt_worker *w;
	unsigned int intents;
	atomic_t runs;
	bool shot;
};

/**
 * struct lt_dround - one destroy round
 * @ctx: its context
 * @manual: polled by lt_d.poller, not by a thread
 * @bhs: LT_D_BHS per worker
 * @nr_bhs: entries in @bhs
 * @gate: the BH that keeps a threaded context's thread polling
 * @gate_open: the gate keeps polling
 * @gate_in: the gate's callback started
 * @oneshots_made: oneshots scheduled
 * @oneshots_ran: their callbacks
 * @destroyed: bhq_ctx_destroy() returned
 */
struct lt_dround {
	struct bhq_ctx *ctx;
	bool manual;
	struct lt_dbh *bhs;
	unsigned int nr_bhs;
	struct bhq_bh *gate;
	bool gate_open;
	bool gate_in;
	atomic_t oneshots_made;
	atomic_t oneshots_ran;
	bool destroyed;
};

/**
 * struct lt_destroy_mode - the destroy mode
 * @crew: the schedulers
 * @control: the thread that makes the rounds
 * @poller: polls the manual rounds' contexts
 * @round: the current round, for the crew
 * @prev: the previous round, freed one round late: a callback that runs
 *	after its context's destroy finds it and reports
 * @ewma_us: time from a delayed shot to the end of the destroy, averaged
 * @stuck: a wait timed out; the mode stopped, its round is leaked
 */
struct lt_destroy_mode {
	struct lt_crew crew;
	struct task_struct *control;
	struct lt_poller poller;
	struct lt_dround *round;
	struct lt_dround *prev;
	unsigned int ewma_us;
	bool stuck;
};

static struct lt_destroy_mode lt_d;

/* Callbacks started for every schedule announced? */
static bool lt_d_all_ran(struct lt_dround *r)
{
	unsigned int i;

	for (i = 0; i < r->nr_bhs; i++) {
		if (atomic_read(&r->bhs[i].runs) != READ_ONCE(r->bhs[i].intents))
			return false;
	}
	return true;
}

static bool lt_d_all_last(void)
{
	unsigned int i;

	for (i = 0; i < lt_d.crew.nr; i++) {
		/* Pairs with lt_d_serve(): the shot's count is visible. */
		if (!smp_load_acquire(&lt_d.crew.w[i].last))
			return false;
	}
	return true;
}

static void lt_d_check_destroyed(struct lt_dround *r, const char *what)
{
	lt_inc(LT_CHECKS);
	if (READ_ONCE(r->destroyed))
		lt_violation(LT_V_AFTER_DESTROY, "destroy: %s ran after bhq_ctx_destroy() returned",
			     what);
}

/*
 * A schedule happens before its callback (as for queue_work()), so the
 * announced count, written before the schedule, covers this run.
 */
static void lt_d_fn(void *opaque)
{
	struct lt_dbh *b = opaque;
	int runs = atomic_inc_return(&b->runs);

	lt_inc(LT_D_RUNS);
	lt_d_check_destroyed(b->r, "a BH");
	lt_inc(LT_CHECKS);
	if (runs > READ_ONCE(b->intents))
		lt_violation(LT_V_SPURIOUS,
			     "destroy: BH of scheduler %u ran %d times for %u schedules",
			     b->w->idx, runs, READ_ONCE(b->intents));
	if (READ_ONCE(b->shot) && !READ_ONCE(b->w->returned))
		lt_inc(LT_D_RAN_BEFORE_RETURN);
}

static void lt_d_oneshot_fn(void *opaque)
{
	struct lt_dround *r = opaque;

	lt_d_check_destroyed(r, "a oneshot");
	atomic_inc(&r->oneshots_ran);
}

/*
 * Keep the thread polling (nested) while the shot's schedules wait in
 * their delay: their own wakeups come only after it.  Scheduling nothing
 * itself, the gate is not delayed.
 */
static void lt_d_gate_fn(void *opaque)
{
	struct lt_dround *r = opaque;
	unsigned long end = jiffies + lt_stall_jiffies();

	WRITE_ONCE(r->gate_in, true);
	while (READ_ONCE(r->gate_open) && time_before(jiffies, end)) {
		bhq_poll(r->ctx);
		cond_resched();
	}
}

/* An unarmed BH of @w (its callback started for its last schedule). */
static struct lt_dbh *lt_d_pick(struct lt_dround *r, struct lt_worker *w,
				u32 rnd)
{
	unsigned int i;

	for (i = 0; i < LT_D_BHS; i++) {
		struct lt_dbh *b = &r->bhs[w->idx * LT_D_BHS + (rnd + i) % LT_D_BHS];

		/* Pairs with the increment: the dequeue came before it. */
		if (atomic_read_acquire(&b->runs) == b->intents)
			return b;
	}
	return NULL;
}

static void lt_d_schedule(struct lt_dbh *b, bool idle)
{
	if (idle)
		bhq_bh_schedule_idle(b->bh);
	else
		bhq_bh_schedule(b->bh);
	lt_inc(LT_OPS);
	lt_inc(b->w->hardirq ? LT_D_IRQ_SCHEDULES : LT_D_SCHEDULES);
}

/* A oneshot from @w, or from the control thread (NULL). */
static void lt_d_oneshot(struct lt_dround *r, struct lt_worker *w)
{
	atomic_inc(&r->oneshots_made);
	if (bhq_schedule_oneshot(r->ctx, lt_d_oneshot_fn, r,
				 w && w->hardirq ? GFP_ATOMIC : GFP_KERNEL)) {
		atomic_dec(&r->oneshots_made);
		lt_inc(LT_ALLOC_FAILURES);
		return;
	}
	lt_inc(LT_OPS);
	lt_inc(LT_D_ONESHOTS);
}

/*
 * RUN: schedule an unarmed BH or make a oneshot, unless the load is held
 * off.  SHOT: announce the last schedule (the control thread then waits
 * for its callback), make it, and say when it returned: by then the
 * context may be gone.
 */
static bool lt_d_serve(struct lt_worker *w, enum lt_cmd cmd)
{
	struct lt_dround *r = READ_ONCE(lt_d.round);
	u32 rnd = prandom_u32_state(&w->rnd);
	struct lt_dbh *b = lt_d_pick(r, w, rnd);

	if (cmd == LT_CMD_RUN) {
		if (bt_held())
			return true;
		if (rnd % 8 == 0) {
			lt_d_oneshot(r, w);
		} else if (b) {
			WRITE_ONCE(b->intents, b->intents + 1);
			lt_d_schedule(b, rnd & 0x100);
		}
		return true;
	}
	if (!lt_crew_fires(w))
		b = NULL;
	if (b) {
		WRITE_ONCE(b->shot, true);
		WRITE_ONCE(b->intents, b->intents + 1);
	}
	/* Pairs with lt_d_all_last(): the count is visible before. */
	smp_store_release(&w->last, true);
	if (b)
		lt_d_schedule(b, rnd & 0x100);
	WRITE_ONCE(w->returned, true);
	return true;
}

static void lt_d_round_free(struct lt_dround *r)
{
	if (r)
		kfree(r->bhs);
	kfree(r);
}

/* Delete the BHs of a round whose context could not be made. */
static void lt_d_round_abort(struct lt_dround *r)
{
	unsigned int i;

	for (i = 0; i < r->nr_bhs; i++)
		bhq_bh_delete(r->bhs[i].bh);
	bhq_bh_delete(r->gate);
	bhq_ctx_destroy(r->ctx);
	lt_d_round_free(r);
}

static struct lt_dround *lt_d_round_new(bool manual)
{
	struct lt_dround *r = kzalloc(sizeof(*r), GFP_KERNEL);
	unsigned int i;

	if (!r)
		return NULL;
	r->manual = manual;
	r->gate_open = true;
	atomic_set(&r->oneshots_made, 0);
	atomic_set(&r->oneshots_ran, 0);
	r->nr_bhs = lt_d.crew.nr * LT_D_BHS;
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
		struct lt_dbh *b = &r->bhs[i];

		b->r = r;
		b->w = &lt_d.crew.w[i / LT_D_BHS];
		atomic_set(&b->runs, 0);
		b->bh = bhq_bh_new(r->ctx, lt_d_fn, b);
		if (!b->bh)
			goto fail;
	}
	if (!manual) {
		r->gate = bhq_bh_new(r->ctx, lt_d_gate_fn, r);
		if (!r->gate)
			goto fail;
	}
	return r;
fail:
	lt_inc(LT_ALLOC_FAILURES);
	lt_d_round_abort(r);
	return NULL;
}

/* Each BH ran exactly once per schedule, each oneshot once. */
static void lt_d_check(struct lt_dround *r)
{
	int made = atomic_read(&r->oneshots_made);
	int ran = atomic_read(&r->oneshots_ran);
	unsigned int i;

	for (i = 0; i < r->nr_bhs; i++) {
		struct lt_dbh *b = &r->bhs[i];
		int runs = atomic_read(&b->runs);

		lt_inc(LT_CHECKS);
		if (runs < b->intents)
			lt_violation(LT_V_LOST,
				     "destroy: BH of scheduler %u ran %d times for %u schedules",
				     b->w->idx, runs, b->intents);
		else if (runs > b->intents)
			lt_violation(LT_V_SPURIOUS,
				     "destroy: BH of scheduler %u ran %d times for %u schedules",
				     b->w->idx, runs, b->intents);
	}
	lt_inc(LT_CHECKS);
	if (ran != made)
		lt_violation(LT_V_LOST,
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
static void lt_d_destroy(struct lt_dround *r, unsigned int oneshots)
{
	unsigned int i;

	for (i = 0; i < oneshots; i++)
		lt_d_oneshot(r, NULL);
	lt_add(LT_D_RETURNING, lt_crew_returning(&lt_d.crew));
	lt_add(LT_D_DRAINED, atomic_read(&r->oneshots_made) -
			     atomic_read(&r->oneshots_ran));
	for (i = 0; i < r->nr_bhs; i++)
		bhq_bh_delete(r->bhs[i].bh);
	bhq_bh_delete(r->gate);
	lt_add(LT_OPS, r->nr_bhs + 1);
	bhq_ctx_destroy(r->ctx);
	/* Orders the destroy's end before the callbacks' check of the flag. */
	smp_store_mb(r->destroyed, true);
	lt_add(LT_D_OUTLIVED, lt_crew_returning(&lt_d.crew));
}

static void lt_d_stall(const char *what)
{
	lt_violation(LT_V_STALL,
		     "destroy: %s within %u ms; mode stopped, its round leaked",
		     what, bt_stall_ms());
	lt_d.stuck = true;
	lt_crew_order(&lt_d.crew, LT_CMD_NONE, -1);
	lt_crew_stop_timer(&lt_d.crew);
}

/* One round; false if it got stuck. */
static bool lt_d_round(unsigned int n)
{
	bool manual = n % 4 == 3;
	unsigned int delay_us;
	struct lt_dround *r;
	u64 t0;

	r = lt_d_round_new(manual);
	if (!r) {
		msleep(20);
		return true;
	}
	lt_inc(manual ? LT_D_MANUAL_ROUNDS : LT_D_ROUNDS);
	WRITE_ONCE(lt_d.round, r);
	if (manual)
		lt_poller_on(&lt_d.poller, r->ctx);
	lt_crew_order(&lt_d.crew, LT_CMD_RUN, -1);
	usleep_range(1000, LT_D_RUN_MS * 1000);

	/* The shot: the gate first, it is not to be delayed. */
	if (!manual) {
		bhq_bh_schedule(r->gate);
		if (!lt_wait_until(READ_ONCE(r->gate_in))) {
			lt_d_stall("the gate did not run");
			return false;
		}
	}
	/*
	 * A delayed shot is fired by one scheduler (in turn): each one waits
	 * the delay out on its CPU, and the gate and we need CPUs meanwhile.
	 */
	t0 = ktime_get_ns();
	delay_us = lt_delay_pick(n, lt_d.ewma_us);
	if (delay_us)
		lt_delay_begin(delay_us);
	lt_crew_order(&lt_d.crew, LT_CMD_SHOT,
		      delay_us ? (n / 3) % lt_d.crew.nr : -1);
	if (!lt_wait_until(lt_d_all_last()) || !lt_wait_until(lt_d_all_ran(r))) {
		if (delay_us)
			lt_delay_end();
		WRITE_ONCE(r->gate_open, false);
		lt_d_stall("a scheduled callback did not run");
		return false;
	}
	if (delay_us)
		lt_delay_end();
	WRITE_ONCE(r->gate_open, false);
	if (manual && !lt_poller_off(&lt_d.poller)) {
		lt_d.stuck = true;
		return false;
	}
	lt_d_destroy(r, n % 4);
	if (delay_us)
		lt_ewma(&lt_d.ewma_us, t0);

	if (!lt_crew_wait(&lt_d.crew)) {
		lt_d_stall("a schedule did not return");
		return false;
	}
	lt_crew_stop_timer(&lt_d.crew);
	lt_d_check(r);
	lt_d_round_free(lt_d.prev);
	lt_d.prev = r;
	return true;
}

static int lt_d_control_fn(void *unused)
{
	unsigned int n = 0;

	while (!kthread_should_stop()) {
		if (READ_ONCE(lt.stopping) || lt_d.stuck || !lt_d_round(n++))
			schedule_timeout_idle(HZ);
		else
			usleep_range(500, 1000);
	}
	return 0;
}

static int lt_d_init(void)
{
	int err;

	err = lt_crew_init(&lt_d.crew, destroy_threads, "bhqt-ld", lt_d_serve);
	err = err ?: lt_poller_init(&lt_d.poller, "bhqt-ldp");
	if (err)
		return err;
	lt_d.control = kthread_create(lt_d_control_fn, NULL, "bhqt-ld");
	if (IS_ERR(lt_d.control)) {
		lt_d.control = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void lt_d_start(void)
{
	lt_crew_start(&lt_d.crew);
	wake_up_process(lt_d.poller.task);
	wake_up_process(lt_d.control);
}

static void lt_d_exit(void)
{
	if (lt_d.control)
		kthread_stop(lt_d.control);
	lt_d.control = NULL;
	lt_crew_exit(&lt_d.crew);
	lt_poller_exit(&lt_d.poller);
	/* A stuck round is leaked: its callbacks may still come. */
	if (!lt_d.stuck)
		lt_d_round_free(lt_d.prev);
	lt_d.prev = NULL;
}

/* ---- selfdel: BHs that delete themselves under returning schedules ---- */

struct lt_sbatch;

/**
 * struct lt_sbh - a self-deleting BH
 * @bh: the bhq BH, deleted by its own callback
 * @w: its scheduler
 * @runs: callbacks started
 * @shot: scheduled by the SHOT (its worker writes before)
 */
struct lt_sbh {
	struct bhq_bh *bh;
	struct lt_worker *w;
	atomic_t runs;
	bool shot;
};

/**
 * struct lt_sbatch - one selfdel batch
 * @ctx: its context
 * @manual: @ctx is the manual one
 * @bhs: LT_S_BHS per worker, the first of each for the SHOT if the
 *	worker fires it, else for the REST
 * @nr_bhs: entries in @bhs
 * @gate: polls the threaded context during the shot
 * @gate_in: the gate's callback started
 * @gate_done: the gate's callback is done
 */
struct lt_sbatch {
	struct bhq_ctx *ctx;
	bool manual;
	struct lt_sbh *bhs;
	unsigned int nr_bhs;
	struct bhq_bh *gate;
	bool gate_in;
	bool gate_done;
};

/**
 * struct lt_selfdel_mode - the selfdel mode
 * @crew: the schedulers
 * @control: the thread that makes the batches
 * @poller: polls the manual context during its batches
 * @ctx: the threaded and the manual context
 * @live: their live counts at creation
 * @batch: the current batch, for the crew
 * @ewma_us: time from a delayed shot to its frees, averaged
 * @stuck: a wait timed out; the mode stopped, its batch is leaked
 */
struct lt_selfdel_mode {
	struct lt_crew crew;
	struct task_struct *control;
	struct lt_poller poller;
	struct bhq_ctx *ctx[2];
	u64 live[2];
	struct lt_sbatch *batch;
	unsigned int ewma_us;
	bool stuck;
};

static struct lt_selfdel_mode lt_s;

static void lt_s_fn(void *opaque)
{
	struct lt_sbh *b = opaque;
	int runs = atomic_inc_return(&b->runs);

	lt_inc(LT_CHECKS);
	if (runs > 1) {
		lt_violation(LT_V_SPURIOUS, "selfdel: BH ran %d times for one schedule",
			     runs);
		return;
	}
	if (READ_ONCE(b->shot) && !READ_ONCE(b->w->returned))
		lt_inc(LT_S_RAN_BEFORE_RETURN);
	/* Rule (1): our schedule may still be returning. */
	bhq_bh_delete(b->bh);
	lt_inc(LT_OPS);
}

static bool lt_s_shots_ran(struct lt_sbatch *s)
{
	unsigned int i;

	for (i = 0; i < lt_s.crew.nr; i++) {
		if (lt_crew_fires(&lt_s.crew.w[i]) &&
		    !atomic_read(&s->bhs[i * LT_S_BHS].runs))
			return false;
	}
	return true;
}

static bool lt_s_all_ran(struct lt_sbatch *s)
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
static void lt_s_gate_fn(void *opaque)
{
	struct lt_sbatch *s = opaque;
	unsigned long end = jiffies + lt_stall_jiffies();
	unsigned int after = 0;

	WRITE_ONCE(s->gate_in, true);
	while (after < 2 && time_before(jiffies, end)) {
		bhq_poll(s->ctx);
		if (after || lt_s_shots_ran(s))
			after++;
		cond_resched();
	}
	if (after == 2)
		lt_add(LT_S_FREED_BEFORE_RETURN, lt_crew_returning(&lt_s.crew));
	/* Pairs with lt_s_shot(): the count above is done. */
	smp_store_release(&s->gate_done, true);
}

static void lt_s_schedule(struct lt_sbh *b)
{
	bhq_bh_schedule_idle(b->bh);
	lt_inc(LT_OPS);
	lt_inc(b->w->hardirq ? LT_S_IRQ_BHS : LT_S_BHS_STAT);
}

/*
 * SHOT: the first BH of the worker's share; REST: the others, waiting
 * while the load is held off (another mode's shot).
 */
static bool lt_s_serve(struct lt_worker *w, enum lt_cmd cmd)
{
	struct lt_sbatch *s = READ_ONCE(lt_s.batch);
	struct lt_sbh *b = &s->bhs[w->idx * LT_S_BHS];

	if (cmd == LT_CMD_SHOT) {
		if (lt_crew_fires(w)) {
			WRITE_ONCE(b->shot, true);
			lt_s_schedule(b);
			w->next = 1;
		}
		WRITE_ONCE(w->returned, true);
		return true;
	}
	for (; w->next < LT_S_BHS; w->next++) {
		if (bt_held())
			return false;
		lt_s_schedule(b + w->next);
	}
	return true;
}

static void lt_s_batch_free(struct lt_sbatch *s)
{
	kfree(s->bhs);
	kfree(s);
}

static struct lt_sbatch *lt_s_batch_new(bool manual)
{
	struct lt_sbatch *s = kzalloc(sizeof(*s), GFP_KERNEL);
	unsigned int i;

	if (!s)
		goto fail;
	s->manual = manual;
	s->ctx = lt_s.ctx[manual];
	s->nr_bhs = lt_s.crew.nr * LT_S_BHS;
	s->bhs = kcalloc(s->nr_bhs, sizeof(*s->bhs), GFP_KERNEL);
	if (!s->bhs)
		goto fail_free;
	if (!manual) {
		s->gate = bhq_bh_new(s->ctx, lt_s_gate_fn, s);
		if (!s->gate)
			goto fail_free;
	}
	for (i = 0; i < s->nr_bhs; i++) {
		struct lt_sbh *b = &s->bhs[i];

		b->w = &lt_s.crew.w[i / LT_S_BHS];
		atomic_set(&b->runs, 0);
		b->bh = bhq_bh_new(s->ctx, lt_s_fn, b);
		if (!b->bh) {
			while (i--)
				bhq_bh_delete(s->bhs[i].bh);
			bhq_bh_delete(s->gate);
			goto fail_free;
		}
	}
	return s;
fail_free:
	lt_s_batch_free(s);
fail:
	lt_inc(LT_ALLOC_FAILURES);
	return NULL;
}

static void lt_s_stall(const char *what)
{
	lt_violation(LT_V_STALL,
		     "selfdel: %s within %u ms; mode stopped, its batch leaked",
		     what, bt_stall_ms());
	lt_s.stuck = true;
	lt_crew_stop_timer(&lt_s.crew);
}

/*
 * The shot: each scheduler's first BH; they run, delete themselves and
 * are freed while their idle schedules may still be returning.  Polled
 * by the gate (threaded) or the poller (manual).
 */
static bool lt_s_shot(struct lt_sbatch *s, unsigned int n)
{
	unsigned int delay_us;
	unsigned long polls;
	u64 t0;
	bool ok;

	if (!s->manual) {
		bhq_bh_schedule(s->gate);
		if (!lt_wait_until(READ_ONCE(s->gate_in))) {
			lt_s_stall("the gate did not run");
			return false;
		}
	}
	/* A delayed shot is fired by one scheduler: see lt_d_round(). */
	t0 = ktime_get_ns();
	delay_us = lt_delay_pick(n, lt_s.ewma_us);
	if (delay_us)
		lt_delay_begin(delay_us);
	lt_crew_order(&lt_s.crew, LT_CMD_SHOT,
		      delay_us ? (n / 3) % lt_s.crew.nr : -1);
	ok = lt_wait_until(lt_s_shots_ran(s));
	if (delay_us)
		lt_delay_end();
	if (!ok) {
		lt_s_stall("a self-deleting BH did not run");
		return false;
	}
	if (s->manual) {
		/* Two more polls: the one that ran the last, the one freeing it. */
		polls = READ_ONCE(lt_s.poller.polls);
		ok = lt_wait_until(READ_ONCE(lt_s.poller.polls) - polls >= 2);
		if (ok)
			lt_add(LT_S_FREED_BEFORE_RETURN,
			       lt_crew_returning(&lt_s.crew));
	} else {
		/* Pairs with the gate's release. */
		ok = lt_wait_until(smp_load_acquire(&s->gate_done));
	}
	if (!ok) {
		lt_s_stall("the shot's BHs were not freed");
		return false;
	}
	if (delay_us)
		lt_ewma(&lt_s.ewma_us, t0);
	if (!lt_crew_wait(&lt_s.crew)) {
		lt_s_stall("an idle schedule did not return");
		return false;
	}
	return true;
}

/* One batch; false if it got stuck. */
static bool lt_s_batch(unsigned int n)
{
	bool manual = n % 2;
	struct bhq_stats st;
	struct lt_sbatch *s;

	s = lt_s_batch_new(manual);
	if (!s) {
		msleep(20);
		return true;
	}
	lt_inc(LT_S_BATCHES);
	WRITE_ONCE(lt_s.batch, s);
	if (manual)
		lt_poller_on(&lt_s.poller, s->ctx);
	if (!lt_s_shot(s, n))
		return false;

	/* The rest run after the idle timeout, or in the poller's polls. */
	lt_crew_order(&lt_s.crew, LT_CMD_REST, -1);
	if (!lt_wait_until(lt_s_all_ran(s))) {
		lt_s_stall("a self-deleting BH did not run");
		return false;
	}
	if (!lt_crew_wait(&lt_s.crew)) {
		lt_s_stall("an idle schedule did not return");
		return false;
	}
	lt_crew_stop_timer(&lt_s.crew);
	bhq_bh_delete(s->gate);
	/* Frees what was deleted before it (a manual one: with the poller). */
	bhq_ctx_flush(s->ctx);
	if (manual && !lt_poller_off(&lt_s.poller)) {
		lt_s.stuck = true;
		return false;
	}
	bhq_ctx_get_stats(s->ctx, &st);
	lt_inc(LT_CHECKS);
	if (st.live != lt_s.live[manual])
		lt_violation(LT_V_LIVE,
			     "selfdel: %s context has %llu live BHs after a flushed batch, %llu before",
			     manual ? "manual" : "threaded", st.live,
			     lt_s.live[manual]);
	lt_s_batch_free(s);
	return true;
}

static int lt_s_control_fn(void *unused)
{
	unsigned int n = 0;

	while (!kthread_should_stop()) {
		if (READ_ONCE(lt.stopping) || lt_s.stuck || !lt_s_batch(n++))
			schedule_timeout_idle(HZ);
		else
			usleep_range(500, 1000);
	}
	return 0;
}

static int lt_s_init(void)
{
	static const char * const names[] = { "bhqt-sd", "bhqt-sdm" };
	struct bhq_stats st;
	unsigned int i;
	int err;

	for (i = 0; i < 2; i++) {
		lt_s.ctx[i] = bhq_ctx_create(names[i], i ? BHQ_CTX_MANUAL : 0);
		if (IS_ERR(lt_s.ctx[i])) {
			err = PTR_ERR(lt_s.ctx[i]);
			lt_s.ctx[i] = NULL;
			pr_err("cannot create context %s: %d\n", names[i], err);
			return err;
		}
		bhq_ctx_get_stats(lt_s.ctx[i], &st);
		lt_s.live[i] = st.live;
	}
	err = lt_crew_init(&lt_s.crew, selfdel_threads, "bhqt-sd", lt_s_serve);
	err = err ?: lt_poller_init(&lt_s.poller, "bhqt-sdp");
	if (err)
		return err;
	lt_s.control = kthread_create(lt_s_control_fn, NULL, "bhqt-sd");
	if (IS_ERR(lt_s.control)) {
		lt_s.control = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void lt_s_start(void)
{
	lt_crew_start(&lt_s.crew);
	wake_up_process(lt_s.poller.task);
	wake_up_process(lt_s.control);
}

static void lt_s_exit(void)
{
	unsigned int i;

	if (lt_s.control)
		kthread_stop(lt_s.control);
	lt_s.control = NULL;
	lt_crew_exit(&lt_s.crew);
	lt_poller_exit(&lt_s.poller);
	/* A stuck batch keeps its context: a callback may still come. */
	for (i = 0; i < 2 && !lt_s.stuck; i++) {
		bhq_ctx_destroy(lt_s.ctx[i]);
		lt_s.ctx[i] = NULL;
	}
}

/* ---- manual: a manual context flushed, cancelled, destroyed ---- */

struct lt_mround;

/**
 * struct lt_mbh - a BH of a manual round, with its bookkeeping
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
struct lt_mbh {
	raw_spinlock_t lock;
	struct bhq_bh *bh;
	struct lt_mround *r;
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
 * struct lt_mround - one manual round
 * @ctx: its context
 * @bhs: the owner's BHs, then LT_M_HELPER_BHS per helper
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
struct lt_mround {
	struct bhq_ctx *ctx;
	struct lt_mbh bhs[LT_M_MAX_BHS];
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
 * struct lt_msnap - a BH as a flush found it before its call
 * @armed: its outstanding stamp
 * @cancels: its cancel count
 */
struct lt_msnap {
	u64 armed;
	unsigned int cancels;
};

/**
 * struct lt_helper - a kthread that flushes, cancels and destroys
 * @task: the kthread
 * @idx: its index, selects its BHs
 * @rnd: random state
 * @snap: the BHs before a flush
 */
struct lt_helper {
	struct task_struct *task;
	unsigned int idx;
	struct rnd_state rnd;
	struct lt_msnap snap[LT_M_MAX_BHS];
};

/**
 * struct lt_manual_mode - the manual mode
 * @owner: the kthread that creates, schedules and polls the contexts
 * @helpers: the helpers
 * @nr_helpers: entries in @helpers
 * @wq: the helpers wait here for a round
 * @gen: rounds started
 * @round: the current round
 * @prev: the previous round, freed one round late (see lt_d.prev)
 * @rnd: the owner's random state
 * @stuck: a wait timed out; the mode stopped, its round is leaked
 */
struct lt_manual_mode {
	struct task_struct *owner;
	struct lt_helper *helpers;
	unsigned int nr_helpers;
	wait_queue_head_t wq;
	unsigned int gen;
	struct lt_mround *round;
	struct lt_mround *prev;
	struct rnd_state rnd;
	bool stuck;
};

static struct lt_manual_mode lt_m;

/* Who schedules @b, for reports. */
static const char *lt_m_whose(struct lt_mbh *b)
{
	return b->helper < 0 ? "the owner" : "a helper";
}

/* A callback starts on the poller's stack; the outermost gets an id. */
static void lt_m_push(struct lt_mround *r)
{
	raw_spin_lock(&r->stack_lock);
	if (!r->depth++)
		r->bottom = ++r->next_id;
	raw_spin_unlock(&r->stack_lock);
}

static void lt_m_pop(struct lt_mround *r)
{
	raw_spin_lock(&r->stack_lock);
	r->depth--;
	raw_spin_unlock(&r->stack_lock);
}

/* The id of the outermost callback running, 0 if none. */
static u64 lt_m_bottom(struct lt_mround *r)
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
static void lt_m_arm(struct lt_mbh *b, bool idle)
{
	if (bt_held())
		return;
	raw_spin_lock(&b->lock);
	if (!b->armed) {
		b->armed = ++b->stamps;
		b->synced = false;
		if (idle)
			bhq_bh_schedule_idle(b->bh);
		else
			bhq_bh_schedule(b->bh);
		lt_inc(LT_OPS);
		lt_inc(LT_M_SCHEDULES);
	}
	raw_spin_unlock(&b->lock);
}

static bool lt_m_armed(struct lt_mbh *b)
{
	bool armed;

	raw_spin_lock(&b->lock);
	armed = b->armed;
	raw_spin_unlock(&b->lock);
	return armed;
}

static void lt_m_fn(void *opaque)
{
	struct lt_mbh *b = opaque;
	struct lt_mround *r = b->r;
	u64 stamp;
	u32 rnd;

	lt_m_push(r);
	lt_inc(LT_M_RUNS);
	if (current != lt_m.owner)
		lt_inc(LT_M_RUNS_BY_HELPER);
	raw_spin_lock(&b->lock);
	lt_inc(LT_CHECKS);
	if (READ_ONCE(r->destroy_returned))
		lt_violation(LT_V_AFTER_DESTROY,
			     "manual: a callback ran after bhq_ctx_destroy() returned");
	if (b->synced)
		lt_violation(LT_V_CANCEL_SYNC,
			     "manual: a BH of %s ran after bhq_bh_cancel_sync() returned, not scheduled since",
			     lt_m_whose(b));
	else if (!b->armed)
		lt_violation(LT_V_SPURIOUS, "manual: a BH of %s ran without a schedule",
			     lt_m_whose(b));
	stamp = b->armed;
	b->armed = 0;
	b->running++;
	raw_spin_unlock(&b->lock);

	rnd = prandom_u32_state(&r->rnd);
	if (b->sleepy)
		usleep_range(100, 400);
	if (rnd % 4 == 0 && READ_ONCE(r->depth) < LT_M_MAX_NEST) {
		bhq_poll(r->ctx);
		lt_inc(LT_M_NESTED_POLLS);
	}

	raw_spin_lock(&b->lock);
	b->running--;
	b->done = max(b->done, stamp);
	raw_spin_unlock(&b->lock);
	lt_m_pop(r);
}

/*
 * The callback of the owner's last poll: delete its own BH, let the
 * destroyer go, and keep the poll going a little (sleep, or poll again),
 * so that the destroy meets it.
 */
static void lt_m_go_fn(void *opaque)
{
	struct lt_mround *r = opaque;
	u32 rnd = prandom_u32_state(&r->rnd);

	lt_m_push(r);
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
	lt_inc(LT_CHECKS);
	if (READ_ONCE(r->destroy_returned))
		lt_violation(LT_V_DESTROY,
			     "manual: bhq_ctx_destroy() returned while the owner's last poll ran a callback");
	lt_m_pop(r);
}

static void lt_m_poll(struct lt_mround *r)
{
	bhq_poll(r->ctx);
	lt_inc(LT_OPS);
	lt_inc(LT_M_POLLS);
}

/**
 * lt_m_flush() - a helper's checked bhq_ctx_flush()
 * @h: the helper
 * @r: the round
 *
 * See "flush" at the top of this file.  A BH cancelled meanwhile is not
 * checked; a callback that started after the snapshot is not waited for.
 */
static void lt_m_flush(struct lt_helper *h, struct lt_mround *r)
{
	unsigned int i;
	u64 bottom;

	for (i = 0; i < r->nr_bhs; i++) {
		struct lt_mbh *b = &r->bhs[i];

		/* A schedule that a cancel under way may undo is not checked. */
		raw_spin_lock(&b->lock);
		h->snap[i].armed = b->cancelling ? 0 : b->armed;
		h->snap[i].cancels = b->cancels;
		raw_spin_unlock(&b->lock);
	}
	bottom = lt_m_bottom(r);
	if (bottom)
		lt_inc(LT_M_FLUSH_WAITED);

	bhq_ctx_flush(r->ctx);
	lt_inc(LT_OPS);
	lt_inc(LT_M_FLUSHES);

	for (i = 0; i < r->nr_bhs; i++) {
		struct lt_mbh *b = &r->bhs[i];
		u64 armed = h->snap[i].armed;

		raw_spin_lock(&b->lock);
		lt_inc(LT_CHECKS);
		if (armed && b->cancels == h->snap[i].cancels && b->done < armed)
			lt_violation(LT_V_FLUSH,
				     "manual: flush returned before a BH of %s had run for a schedule made before it (stamp %llu, done %llu)",
				     lt_m_whose(b), armed, b->done);
		raw_spin_unlock(&b->lock);
	}
	lt_inc(LT_CHECKS);
	if (bottom && lt_m_bottom(r) == bottom)
		lt_violation(LT_V_FLUSH,
			     "manual: flush returned while a callback running before it still ran");
}

/**
 * lt_m_cancel() - a helper's checked bhq_bh_cancel_sync() of its own BH
 * @h: the helper
 * @r: the round
 *
 * Only @h schedules its BHs, so when the call returns the callback must
 * not run, and it must not start until @h schedules the BH again.  Half
 * the time the BH is scheduled first and, if its callback sleeps, the
 * cancel waits until the callback started.
 */
static void lt_m_cancel(struct lt_helper *h, struct lt_mround *r)
{
	u32 rnd = prandom_u32_state(&h->rnd);
	struct lt_mbh *b = &r->bhs[LT_M_OWNER_BHS + h->idx * LT_M_HELPER_BHS +
				   rnd % LT_M_HELPER_BHS];
	unsigned long end;
	bool running;

	if (rnd & 0x100)
		lt_m_arm(b, rnd & 0x200);
	if (b->sleepy && rnd & 0x400) {
		end = jiffies + msecs_to_jiffies(20);
		while (lt_m_armed(b) && time_before(jiffies, end))
			usleep_range(20, 50);
	}
	raw_spin_lock(&b->lock);
	b->cancels++;
	b->cancelling = true;
	running = b->running;
	raw_spin_unlock(&b->lock);

	bhq_bh_cancel_sync(b->bh);
	lt_inc(LT_OPS);
	lt_inc(LT_M_CANCEL_SYNCS);
	if (running)
		lt_inc(LT_M_CANCEL_WAITED);

	raw_spin_lock(&b->lock);
	lt_inc(LT_CHECKS);
	if (b->running)
		lt_violation(LT_V_CANCEL_SYNC,
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
static void lt_m_destroy(struct lt_mround *r)
{
	bool busy;

	if (!wait_for_completion_timeout(&r->go_done, lt_stall_jiffies())) {
		/* The owner reports the stall; nothing of the round is freed. */
		return;
	}
	busy = lt_m_bottom(r);
	if (busy)
		lt_inc(LT_M_DESTROY_WAITED);
	bhq_ctx_destroy(r->ctx);
	lt_inc(LT_OPS);
	/* The go callback's check reads the flag after its own work. */
	smp_store_mb(r->destroy_returned, true);
	lt_inc(LT_CHECKS);
	if (lt_m_bottom(r))
		lt_violation(LT_V_DESTROY,
			     "manual: bhq_ctx_destroy() returned while a poll of the context ran a callback");
	complete(&r->destroyed);
}

static int lt_m_helper_fn(void *arg)
{
	struct lt_helper *h = arg;
	unsigned int gen = 0;
	struct lt_mround *r;

	for (;;) {
		wait_event_idle(lt_m.wq, READ_ONCE(lt_m.gen) != gen ||
				kthread_should_stop());
		if (kthread_should_stop())
			break;
		/* Pairs with lt_m_round(): the round is set. */
		gen = smp_load_acquire(&lt_m.gen);
		r = READ_ONCE(lt_m.round);
		/* Rounds end only when the helpers stop: no stop check here. */
		while (!READ_ONCE(r->closing)) {
			if (prandom_u32_state(&h->rnd) % 2)
				lt_m_flush(h, r);
			else
				lt_m_cancel(h, r);
			usleep_range(50, 300);
		}
		atomic_dec(&r->helpers_busy);
		if (r->destroyer == h->idx)
			lt_m_destroy(r);
	}
	return 0;
}

static void lt_m_round_free(struct lt_mround *r)
{
	kfree(r);
}

static void lt_m_round_abort(struct lt_mround *r)
{
	unsigned int i;

	for (i = 0; i < r->nr_bhs; i++)
		bhq_bh_delete(r->bhs[i].bh);
	bhq_bh_delete(r->go);
	bhq_ctx_destroy(r->ctx);
	lt_m_round_free(r);
}

static struct lt_mround *lt_m_round_new(void)
{
	struct lt_mround *r = kzalloc(sizeof(*r), GFP_KERNEL);
	unsigned int i;

	if (!r)
		goto fail;
	raw_spin_lock_init(&r->stack_lock);
	prandom_seed_state(&r->rnd, get_random_u64());
	atomic_set(&r->helpers_busy, lt_m.nr_helpers);
	init_completion(&r->go_done);
	init_completion(&r->destroyed);
	r->ctx = bhq_ctx_create("bhqt-mc", BHQ_CTX_MANUAL);
	if (IS_ERR(r->ctx)) {
		kfree(r);
		goto fail;
	}
	r->go = bhq_bh_new(r->ctx, lt_m_go_fn, r);
	if (!r->go)
		goto fail_abort;
	r->nr_bhs = LT_M_OWNER_BHS + lt_m.nr_helpers * LT_M_HELPER_BHS;
	for (i = 0; i < r->nr_bhs; i++) {
		struct lt_mbh *b = &r->bhs[i];

		raw_spin_lock_init(&b->lock);
		b->r = r;
		b->helper = i < LT_M_OWNER_BHS ? -1 :
			    (i - LT_M_OWNER_BHS) / LT_M_HELPER_BHS;
		b->sleepy = i % 2;
		b->bh = bhq_bh_new(r->ctx, lt_m_fn, b);
		if (!b->bh) {
			r->nr_bhs = i;
			goto fail_abort;
		}
	}
	return r;
fail_abort:
	lt_m_round_abort(r);
fail:
	lt_inc(LT_ALLOC_FAILURES);
	return NULL;
}

static void lt_m_stall(const char *what)
{
	lt_violation(LT_V_STALL,
		     "manual: %s within %u ms; mode stopped, its round leaked",
		     what, bt_stall_ms());
	lt_m.stuck = true;
}

static bool lt_m_helpers_done(struct lt_mround *r)
{
	return !atomic_read(&r->helpers_busy);
}

static bool lt_m_quiet(struct lt_mround *r)
{
	unsigned int i;

	for (i = 0; i < r->nr_bhs; i++) {
		if (lt_m_armed(&r->bhs[i]))
			return false;
	}
	return true;
}

/* Poll until @done, at most stall_ms. */
static bool lt_m_poll_until(struct lt_mround *r,
			    bool (*done)(struct lt_mround *r))
{
	unsigned long end = jiffies + lt_stall_jiffies();

	while (!done(r)) {
		if (time_after(jiffies, end))
			return false;
		lt_m_poll(r);
		usleep_range(50, 100);
	}
	return true;
}

/* The owner between two polls: schedule some of its BHs, maybe pause. */
static void lt_m_owner_step(struct lt_mround *r)
{
	u32 rnd = prandom_u32_state(&lt_m.rnd);
	unsigned int k;

	for (k = 0; k < LT_M_OWNER_BHS; k++) {
		if (rnd & BIT(k))
			lt_m_arm(&r->bhs[k], rnd & BIT(8 + k));
	}
	lt_m_poll(r);
	/* A pause: the helpers' flushes and cancels poll for us meanwhile. */
	if ((rnd >> 16) % 16 == 0)
		usleep_range(1000, 2000);
	else
		usleep_range(50, 100);
}

/* One round; false if it got stuck. */
static bool lt_m_round(void)
{
	unsigned long end;
	struct lt_mround *r;
	unsigned int i;

	r = lt_m_round_new();
	if (!r) {
		msleep(20);
		return true;
	}
	lt_inc(LT_M_ROUNDS);
	r->destroyer = prandom_u32_state(&lt_m.rnd) % lt_m.nr_helpers;
	WRITE_ONCE(lt_m.round, r);
	/* Pairs with the helpers' acquire: they see the round. */
	smp_store_release(&lt_m.gen, lt_m.gen + 1);
	wake_up_all(&lt_m.wq);

	end = jiffies + msecs_to_jiffies(LT_M_ROUND_MS / 2 +
					 prandom_u32_state(&lt_m.rnd) % LT_M_ROUND_MS);
	while (time_before(jiffies, end))
		lt_m_owner_step(r);

	/* Keep polling: a helper's flush may wait for us to poll. */
	WRITE_ONCE(r->closing, true);
	if (!lt_m_poll_until(r, lt_m_helpers_done)) {
		lt_m_stall("a helper did not stop");
		return false;
	}
	if (!lt_m_poll_until(r, lt_m_quiet)) {
		lt_m_stall("a scheduled callback did not run");
		return false;
	}
	for (i = 0; i < r->nr_bhs; i++)
		bhq_bh_delete(r->bhs[i].bh);
	lt_add(LT_OPS, r->nr_bhs);
	bhq_bh_schedule(r->go);
	/* The last poll: its go callback lets the destroyer go. */
	lt_m_poll(r);
	if (!wait_for_completion_timeout(&r->destroyed, 2 * lt_stall_jiffies())) {
		lt_m_stall("the context was not destroyed");
		return false;
	}
	lt_misuse_check();
	lt_m_round_free(lt_m.prev);
	lt_m.prev = r;
	return true;
}

static int lt_m_owner_fn(void *unused)
{
	while (!kthread_should_stop()) {
		if (READ_ONCE(lt.stopping) || lt_m.stuck || !lt_m_round())
			schedule_timeout_idle(HZ);
		else
			usleep_range(500, 1000);
	}
	return 0;
}

static int lt_m_init(void)
{
	unsigned int i;

	init_waitqueue_head(&lt_m.wq);
	prandom_seed_state(&lt_m.rnd, get_random_u64());
	lt_m.helpers = kcalloc(manual_helpers, sizeof(*lt_m.helpers), GFP_KERNEL);
	if (!lt_m.helpers)
		return -ENOMEM;
	lt_m.nr_helpers = manual_helpers;
	for (i = 0; i < lt_m.nr_helpers; i++) {
		struct lt_helper *h = &lt_m.helpers[i];

		h->idx = i;
		prandom_seed_state(&h->rnd, get_random_u64());
		h->task = kthread_create(lt_m_helper_fn, h, "bhqt-mh/%u", i);
		if (IS_ERR(h->task)) {
			h->task = NULL;
			return -ENOMEM;
		}
	}
	lt_m.owner = kthread_create(lt_m_owner_fn, NULL, "bhqt-mo");
	if (IS_ERR(lt_m.owner)) {
		lt_m.owner = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void lt_m_start(void)
{
	unsigned int i;

	for (i = 0; i < lt_m.nr_helpers; i++)
		wake_up_process(lt_m.helpers[i].task);
	wake_up_process(lt_m.owner);
}

static void lt_m_exit(void)
{
	unsigned int i;

	/* The owner ends its round, with the helpers, before it stops. */
	if (lt_m.owner)
		kthread_stop(lt_m.owner);
	lt_m.owner = NULL;
	for (i = 0; lt_m.helpers && i < lt_m.nr_helpers; i++) {
		if (lt_m.helpers[i].task)
			kthread_stop(lt_m.helpers[i].task);
	}
	kfree(lt_m.helpers);
	lt_m.helpers = NULL;
	if (!lt_m.stuck)
		lt_m_round_free(lt_m.prev);
	lt_m.prev = NULL;
}

/* ---- the interface to bhq_torture_main.c ---- */

struct lt_param {
	const char *name;
	unsigned int *val;
	unsigned int min;
	unsigned int max;
};

static const struct lt_param lt_params[] = {
	{ "destroy_threads", &destroy_threads, 0, 8 },
	{ "selfdel_threads", &selfdel_threads, 0, 8 },
	{ "manual_helpers", &manual_helpers, 0, 8 },
	{ "lifetime_delay_us", &lifetime_delay_us, 0, 100000 },
};

int lt_check_params(void)
{
	const struct lt_param *p;

	for (p = lt_params; p < lt_params + ARRAY_SIZE(lt_params); p++) {
		if (*p->val < p->min || *p->val > p->max) {
			pr_err("invalid parameter %s=%u: the allowed range is %u to %u\n",
			       p->name, *p->val, p->min, p->max);
			return -EINVAL;
		}
	}
	return 0;
}

/**
 * lt_init() - create the modes' threads and long-lived contexts
 *
 * Nothing runs until lt_start().  On failure the caller calls lt_stop()
 * and lt_free() as usual.
 *
 * Context: process context, at load.
 * Return: 0 or a negative error.
 */
int lt_init(void)
{
	int err = 0;

	lt.counters = alloc_percpu(struct lt_counters);
	if (!lt.counters)
		return -ENOMEM;
	lt.delay_ok = lt_delay_open();
	lt.misuse_ok = lt_misuse_read(&lt.misuse_base);
	if (destroy_threads)
		err = lt_d_init();
	if (!err && selfdel_threads)
		err = lt_s_init();
	if (!err && manual_helpers)
		err = lt_m_init();
	return err;
}

void lt_start(void)
{
	if (lt_d.control)
		lt_d_start();
	if (lt_s.control)
		lt_s_start();
	if (lt_m.owner)
		lt_m_start();
	pr_info("lifetime modes: destroy %u threads, selfdel %u threads, manual %u helpers; publish delay %s, misuse count %s\n",
		destroy_threads, selfdel_threads, manual_helpers,
		lt.delay_ok && lifetime_delay_us ? "set" : "unavailable",
		lt.misuse_ok ? "checked" : "left to the script");
}

/**
 * lt_stop() - end the modes' rounds, stop their threads, final checks
 *
 * The modes finish the rounds they are in (every wait bounded) side by
 * side, then their threads stop.  Safe after a failed or partial
 * lt_init().
 *
 * Context: process context.
 */
void lt_stop(void)
{
	/* The modes end their rounds side by side, then each is stopped. */
	WRITE_ONCE(lt.stopping, true);
	lt_d_exit();
	lt_s_exit();
	lt_m_exit();
	if (lt.delay_ok && lt.delay_users) {
		lt_delay_apply(0);
		lt.delay_users = 0;
	}
	lt_misuse_check();
}

void lt_free(void)
{
	lt_delay_close();
	free_percpu(lt.counters);
	lt.counters = NULL;
}

u64 lt_ops(void)
{
	return lt_sum(LT_OPS);
}

u64 lt_checks(void)
{
	return lt_sum(LT_CHECKS);
}

unsigned long lt_nr_violations(void)
{
	unsigned long sum = 0;
	int v;

	for (v = 0; v < LT_NR_VIOLATIONS; v++)
		sum += atomic_long_read(&lt.violations[v]);
	return sum;
}

void lt_stats_show(struct seq_file *m)
{
	int i;

	/* ops and checks are in the totals already. */
	for (i = LT_CHECKS + 1; i < LT_NR_STATS; i++)
		seq_printf(m, "lt_%s %llu\n", lt_stat_names[i], lt_sum(i));
	for (i = 0; i < LT_NR_VIOLATIONS; i++)
		seq_printf(m, "violations_lt_%s %ld\n", lt_violation_names[i],
			   atomic_long_read(&lt.violations[i]));
	seq_printf(m, "lt_delay_hook %d\n", lt.delay_ok);
	seq_printf(m, "lt_delay_max_us %u\n", READ_ONCE(lt.delay_max));
	seq_printf(m, "lt_misuse_counted %d\n", lt.misuse_ok);
}
