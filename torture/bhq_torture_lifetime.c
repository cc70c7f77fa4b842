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
 * free-running schedulers hold off (bhqt_hold_begin()).  Such a shot is
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

/* BHs per scheduler and round (destroy) or batch (selfdel). */
#define BHQT_DESTROY_BHS_PER_WORKER		3
#define BHQT_SELFDEL_BHS_PER_WORKER		4
/* The owner's BHs and each helper's (manual); its callbacks' nesting. */
#define BHQT_MANUAL_OWNER_BHS		4
#define BHQT_MANUAL_HELPER_BHS		2
#define BHQT_MANUAL_MAX_BHS		(BHQT_MANUAL_OWNER_BHS + 8 * BHQT_MANUAL_HELPER_BHS)
#define BHQT_MANUAL_MAX_NEST		3
/* Length of a manual round, and of a destroy round's free run, in ms. */
#define BHQT_MANUAL_ROUND_MS		20
#define BHQT_DESTROY_RUN_MS		4
/* The hrtimer's period while it schedules freely. */
#define BHQT_CREW_TIMER_PERIOD_NS	(200 * NSEC_PER_USEC)
/* The shortest delay worth setting. */
#define BHQT_DELAY_MIN_US		500

enum bhqt_life_stat {
	BHQT_LIFE_OPS,
	BHQT_LIFE_CHECKS,
	BHQT_LIFE_ALLOC_FAILURES,
	BHQT_LIFE_DELAY_WINDOWS,
	BHQT_DESTROY_ROUNDS,
	BHQT_DESTROY_MANUAL_ROUNDS,
	BHQT_DESTROY_SCHEDULES,
	BHQT_DESTROY_IRQ_SCHEDULES,
	BHQT_DESTROY_ONESHOTS,
	BHQT_DESTROY_RUNS,
	BHQT_DESTROY_RAN_BEFORE_RETURN,
	BHQT_DESTROY_RETURNING,
	BHQT_DESTROY_OUTLIVED,
	BHQT_DESTROY_DRAINED,
	BHQT_SELFDEL_BATCHES,
	BHQT_SELFDEL_BHS,
	BHQT_SELFDEL_IRQ_BHS,
	BHQT_SELFDEL_RAN_BEFORE_RETURN,
	BHQT_SELFDEL_FREED_BEFORE_RETURN,
	BHQT_MANUAL_ROUNDS,
	BHQT_MANUAL_SCHEDULES,
	BHQT_MANUAL_RUNS,
	BHQT_MANUAL_RUNS_BY_HELPER,
	BHQT_MANUAL_POLLS,
	BHQT_MANUAL_NESTED_POLLS,
	BHQT_MANUAL_FLUSHES,
	BHQT_MANUAL_FLUSH_WAITED,
	BHQT_MANUAL_CANCEL_SYNCS,
	BHQT_MANUAL_CANCEL_WAITED,
	BHQT_MANUAL_DESTROY_WAITED,
	BHQT_LIFE_NR_STATS,
};

static const char * const bhqt_life_stat_names[] = {
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

static_assert(ARRAY_SIZE(bhqt_life_stat_names) == BHQT_LIFE_NR_STATS);

enum bhqt_life_violation {
	BHQT_LIFE_V_LOST,
	BHQT_LIFE_V_SPURIOUS,
	BHQT_LIFE_V_AFTER_DESTROY,
	BHQT_LIFE_V_LIVE,
	BHQT_LIFE_V_FLUSH,
	BHQT_LIFE_V_CANCEL_SYNC,
	BHQT_LIFE_V_DESTROY,
	BHQT_LIFE_V_MISUSE,
	BHQT_LIFE_V_STALL,
	BHQT_LIFE_NR_VIOLATIONS,
};

static const char * const bhqt_life_violation_names[] = {
	"lost", "spurious", "after_destroy", "live", "flush", "cancel_sync",
	"destroy", "misuse", "stall",
};

static_assert(ARRAY_SIZE(bhqt_life_violation_names) == BHQT_LIFE_NR_VIOLATIONS);

struct bhqt_life_counters {
	u64 v[BHQT_LIFE_NR_STATS];
};

/**
 * struct bhqt_life_state - what the modes share
 * @counters: per-CPU counters, enum bhqt_life_stat
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
 * @stopping: the modes make no new round (bhqt_life_stop())
 */
struct bhqt_life_state {
	struct bhqt_life_counters __percpu *counters;
	atomic_long_t violations[BHQT_LIFE_NR_VIOLATIONS];
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

static struct bhqt_life_state bhqt_life = {
	.delay_lock = __MUTEX_INITIALIZER(bhqt_life.delay_lock),
};

static void bhqt_life_inc(enum bhqt_life_stat stat)
{
	this_cpu_inc(bhqt_life.counters->v[stat]);
}

static void bhqt_life_add(enum bhqt_life_stat stat, u64 n)
{
	this_cpu_add(bhqt_life.counters->v[stat], n);
}

static u64 bhqt_life_sum(enum bhqt_life_stat stat)
{
	unsigned int cpu;
	u64 sum = 0;

	if (!bhqt_life.counters)
		return 0;
	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(bhqt_life.counters, cpu)->v[stat];
	return sum;
}

/**
 * bhqt_life_violation() - count a violation, and report the first ones
 * @v: its kind
 * @fmt: printf format of the details
 *
 * Context: any.
 */
static __printf(2, 3) void bhqt_life_violation(enum bhqt_life_violation v, const char *fmt, ...)
{
	long n = atomic_long_inc_return(&bhqt_life.violations[v]);
	struct va_format vaf;
	va_list args;

	if (n > BHQT_REPORT_MAX)
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("violation lt_%s #%ld: %pV\n", bhqt_life_violation_names[v], n, &vaf);
	va_end(args);
}

static unsigned long bhqt_stall_jiffies(void)
{
	return msecs_to_jiffies(bhqt_stall_ms);
}

/*
 * Wait until @cond holds, sleeping 50-200 us at a time, at most stall_ms.
 * Evaluates to @cond's last value.
 */
#define bhqt_wait_until(cond)						\
({									\
	unsigned long __end = jiffies + bhqt_stall_jiffies();		\
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
static bool bhqt_delay_open(void)
{
	return true;
}

static void bhqt_delay_apply(unsigned int usecs)
{
	bhq_debug_set_publish_delay(usecs);
}
#else
#define BHQT_DELAY_PARAM	"/sys/module/bhq/parameters/debug_publish_delay_us"

/* Without the exported hook, bhq's parameter, if it has one. */
static bool bhqt_delay_open(void)
{
	struct file *f = filp_open(BHQT_DELAY_PARAM, O_WRONLY, 0);

	if (IS_ERR(f))
		return false;
	bhqt_life.delay_file = f;
	return true;
}

static void bhqt_delay_apply(unsigned int usecs)
{
	char buf[16];
	loff_t pos = 0;
	ssize_t n;

	n = kernel_write(bhqt_life.delay_file, buf,
			 scnprintf(buf, sizeof(buf), "%u\n", usecs), &pos);
	if (n < 0)
		pr_warn_once("cannot set %s: %zd\n", BHQT_DELAY_PARAM, n);
}
#endif

static void bhqt_delay_close(void)
{
	if (bhqt_life.delay_file)
		filp_close(bhqt_life.delay_file, NULL);
	bhqt_life.delay_file = NULL;
}

/* The delay for the shot of round @n, after @ewma_us of work; 0: none. */
static unsigned int bhqt_delay_pick(unsigned int n, unsigned int ewma_us)
{
	/* One round in three: manual and threaded ones, undelayed ones too. */
	if (!bhqt_life.delay_ok || !bhqt_lifetime_delay_us || n % 3)
		return 0;
	return min(max(2 * ewma_us, BHQT_DELAY_MIN_US), bhqt_lifetime_delay_us);
}

/* Average in the time since @t0 (ktime_get_ns()), in us. */
static void bhqt_ewma(unsigned int *ewma_us, u64 t0)
{
	unsigned int us = div_u64(ktime_get_ns() - t0, NSEC_PER_USEC);

	*ewma_us = *ewma_us ? (3 * *ewma_us + us) / 4 : us;
}

/*
 * Open a delay window of @usecs (the longest open one wins).  The load
 * holds off meanwhile (bhqt_hold_begin()), and so do our own schedulers but
 * the shot's: each of their schedules would wait the delay out, many in
 * hardirq or with interrupts off.
 */
static void bhqt_delay_begin(unsigned int usecs)
{
	mutex_lock(&bhqt_life.delay_lock);
	if (!bhqt_life.delay_users)
		bhqt_hold_begin();
	if (!bhqt_life.delay_users++ || usecs > bhqt_life.delay_cur) {
		bhqt_delay_apply(usecs);
		bhqt_life.delay_cur = usecs;
		WRITE_ONCE(bhqt_life.delay_max, max(bhqt_life.delay_max, usecs));
	}
	mutex_unlock(&bhqt_life.delay_lock);
	bhqt_life_inc(BHQT_LIFE_DELAY_WINDOWS);
}

static void bhqt_delay_end(void)
{
	mutex_lock(&bhqt_life.delay_lock);
	if (!--bhqt_life.delay_users) {
		bhqt_delay_apply(0);
		bhqt_life.delay_cur = 0;
		bhqt_hold_end();
	}
	mutex_unlock(&bhqt_life.delay_lock);
}

#if IS_ENABLED(CONFIG_KUNIT)
static bool bhqt_misuse_read(long *count)
{
	*count = bhq_misuse_count();
	return true;
}
#else
static bool bhqt_misuse_read(long *count)
{
	return false;
}
#endif

/* Has bhq counted a misuse since the last check?  Called by one thread. */
static void bhqt_misuse_check(void)
{
	long now;

	if (!bhqt_life.misuse_ok || !bhqt_misuse_read(&now))
		return;
	bhqt_life_inc(BHQT_LIFE_CHECKS);
	if (now != bhqt_life.misuse_base)
		bhqt_life_violation(BHQT_LIFE_V_MISUSE,
				    "bhq counted %ld misuses (debugfs bhq/misuse)",
				    now - bhqt_life.misuse_base);
	bhqt_life.misuse_base = now;
}

/* ---- crews: scheduler kthreads and an hrtimer, given orders ---- */

/*
 * What a crew is told to do.  RUN: schedule freely until the next order;
 * SHOT: one last schedule each (destroy), or each one's first BH (selfdel);
 * REST: the remaining BHs (selfdel).
 */
enum bhqt_cmd {
	BHQT_CMD_NONE,
	BHQT_CMD_RUN,
	BHQT_CMD_SHOT,
	BHQT_CMD_REST,
};

#define BHQT_CMD_BITS	2
#define BHQT_CMD_MASK	((1UL << BHQT_CMD_BITS) - 1)

struct bhqt_worker;

/**
 * struct bhqt_crew - the schedulers of a mode
 * @workers: the workers: kthreads, then the hrtimer if any
 * @nr_workers: entries in @workers
 * @serve: carries out an order for one worker; false: not now, call
 *	again later (the load is held off, see bhqt_delay_begin())
 * @order: a generation (upper bits) and an enum bhqt_cmd (BHQT_CMD_BITS);
 *	one word, so that a worker reads both at once
 * @shooter: the one worker that fires a SHOT, -1: all of them
 * @wq: the kthreads wait for orders here
 * @busy: workers still carrying out a SHOT or REST order
 * @idle: the mode's control thread waits for @busy here
 */
struct bhqt_crew {
	struct bhqt_worker *workers;
	unsigned int nr_workers;
	bool (*serve)(struct bhqt_worker *w, enum bhqt_cmd cmd);
	unsigned long order;
	int shooter;
	wait_queue_head_t wq;
	atomic_t busy;
	wait_queue_head_t idle;
};

/**
 * struct bhqt_worker - one scheduler of a crew
 * @crew: its crew
 * @idx: index in the crew, selects its BHs
 * @hardirq: the hrtimer, not a kthread
 * @task: the kthread
 * @timer: the hrtimer
 * @served: the last order carried out (the hrtimer)
 * @rest_next: where a REST order that had to wait resumes
 * @rnd: random state
 * @shot_announced: the last schedule of the SHOT is announced (destroy)
 * @shot_returned: the SHOT's schedule returned
 */
struct bhqt_worker {
	struct bhqt_crew *crew;
	unsigned int idx;
	bool hardirq;
	struct task_struct *task;
	struct hrtimer timer;
	unsigned long served;
	unsigned int rest_next;
	struct rnd_state rnd;
	bool shot_announced;
	bool shot_returned;
};

static void bhqt_crew_done(struct bhqt_crew *c)
{
	if (atomic_dec_and_test(&c->busy))
		wake_up_all(&c->idle);
}

static enum hrtimer_restart bhqt_crew_timer_fn(struct hrtimer *timer)
{
	struct bhqt_worker *w = container_of(timer, struct bhqt_worker, timer);
	struct bhqt_crew *c = w->crew;
	/* Pairs with bhqt_crew_order(): the round or batch is set. */
	unsigned long order = smp_load_acquire(&c->order);
	enum bhqt_cmd cmd = order & BHQT_CMD_MASK;

	if (cmd == BHQT_CMD_RUN) {
		c->serve(w, cmd);
		hrtimer_forward_now(timer, ns_to_ktime(BHQT_CREW_TIMER_PERIOD_NS));
		return HRTIMER_RESTART;
	}
	if (cmd == BHQT_CMD_NONE || order == w->served)
		return HRTIMER_NORESTART;
	if (!c->serve(w, cmd)) {
		hrtimer_forward_now(timer, ns_to_ktime(BHQT_CREW_TIMER_PERIOD_NS));
		return HRTIMER_RESTART;
	}
	w->served = order;
	bhqt_crew_done(c);
	return HRTIMER_NORESTART;
}

static int bhqt_worker_fn(void *arg)
{
	struct bhqt_worker *w = arg;
	struct bhqt_crew *c = w->crew;
	unsigned long seen = 0;
	enum bhqt_cmd cmd;

	for (;;) {
		wait_event_idle(c->wq, READ_ONCE(c->order) != seen ||
				kthread_should_stop());
		if (kthread_should_stop())
			break;
		/* Pairs with bhqt_crew_order(): the round or batch is set. */
		seen = smp_load_acquire(&c->order);
		cmd = seen & BHQT_CMD_MASK;
		if (cmd == BHQT_CMD_NONE)
			continue;
		if (cmd == BHQT_CMD_RUN) {
			while (READ_ONCE(c->order) == seen && !kthread_should_stop()) {
				c->serve(w, cmd);
				usleep_range(20, 100);
			}
			continue;
		}
		while (!c->serve(w, cmd))
			usleep_range(100, 200);
		bhqt_crew_done(c);
	}
	return 0;
}

/**
 * bhqt_crew_order() - give every worker of @c an order
 * @c: the crew, idle unless it runs freely
 * @cmd: the order; BHQT_CMD_NONE stops a free run
 * @shooter: for a SHOT, the one worker to fire it, -1: all
 *
 * The state a worker needs (the mode's round or batch) is set before, and
 * published by the release.  The hrtimer is started unless it runs
 * freely: then it takes the order at its next expiry (starting it while
 * its callback runs would make that callback's hrtimer_forward_now() find
 * it queued).
 */
static void bhqt_crew_order(struct bhqt_crew *c, enum bhqt_cmd cmd, int shooter)
{
	unsigned long order = ((c->order >> BHQT_CMD_BITS) + 1) << BHQT_CMD_BITS | cmd;
	bool running = (c->order & BHQT_CMD_MASK) == BHQT_CMD_RUN;
	unsigned int i;

	atomic_set(&c->busy, cmd == BHQT_CMD_RUN || cmd == BHQT_CMD_NONE ? 0 : c->nr_workers);
	WRITE_ONCE(c->shooter, shooter);
	for (i = 0; i < c->nr_workers; i++) {
		WRITE_ONCE(c->workers[i].shot_announced, false);
		WRITE_ONCE(c->workers[i].shot_returned, false);
		if (cmd == BHQT_CMD_SHOT)
			c->workers[i].rest_next = 0;
	}
	/* Pairs with the workers' acquire: they see what we set before. */
	smp_store_release(&c->order, order);
	wake_up_all(&c->wq);
	for (i = 0; i < c->nr_workers && cmd != BHQT_CMD_NONE && !running; i++) {
		if (c->workers[i].hardirq)
			hrtimer_start(&c->workers[i].timer, ns_to_ktime(BHQT_CREW_TIMER_PERIOD_NS),
				      HRTIMER_MODE_REL_HARD);
	}
}

/* Does @w fire the SHOT? */
static bool bhqt_crew_fires(struct bhqt_worker *w)
{
	int shooter = READ_ONCE(w->crew->shooter);

	return shooter < 0 || shooter == w->idx;
}

/* Wait until the crew carried out its SHOT or REST order. */
static bool bhqt_crew_wait(struct bhqt_crew *c)
{
	return wait_event_idle_timeout(c->idle, !atomic_read(&c->busy),
				       bhqt_stall_jiffies()) > 0;
}

/* How many workers' SHOT schedules have not returned yet. */
static unsigned int bhqt_crew_returning(struct bhqt_crew *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < c->nr_workers; i++)
		n += !READ_ONCE(c->workers[i].shot_returned);
	return n;
}

static void bhqt_crew_stop_timer(struct bhqt_crew *c)
{
	unsigned int i;

	for (i = 0; i < c->nr_workers; i++) {
		if (c->workers[i].hardirq)
			hrtimer_cancel(&c->workers[i].timer);
	}
}

/**
 * bhqt_crew_init() - make the workers of a crew (not started)
 * @c: the crew
 * @threads: kthreads; an hrtimer is added with irq_producers
 * @name: the kthreads' name, with their index
 * @serve: what an order means
 *
 * Return: 0 or -ENOMEM.
 */
static int bhqt_crew_init(struct bhqt_crew *c, unsigned int threads,
			  const char *name,
			  bool (*serve)(struct bhqt_worker *w, enum bhqt_cmd cmd))
{
	unsigned int i;

	init_waitqueue_head(&c->wq);
	init_waitqueue_head(&c->idle);
	c->serve = serve;
	c->nr_workers = threads + bhqt_irq_producers;
	c->workers = kcalloc(c->nr_workers, sizeof(*c->workers), GFP_KERNEL);
	if (!c->workers)
		return -ENOMEM;
	for (i = 0; i < c->nr_workers; i++) {
		struct bhqt_worker *w = &c->workers[i];

		w->crew = c;
		w->idx = i;
		prandom_seed_state(&w->rnd, get_random_u64());
		if (i >= threads) {
			w->hardirq = true;
			hrtimer_init(&w->timer, CLOCK_MONOTONIC,
				     HRTIMER_MODE_REL_HARD);
			w->timer.function = bhqt_crew_timer_fn;
			continue;
		}
		w->task = kthread_create(bhqt_worker_fn, w, "%s/%u", name, i);
		if (IS_ERR(w->task)) {
			w->task = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

static void bhqt_crew_start(struct bhqt_crew *c)
{
	unsigned int i;

	for (i = 0; i < c->nr_workers; i++) {
		if (c->workers[i].task)
			wake_up_process(c->workers[i].task);
	}
}

/* After the mode's control thread: no order comes any more. */
static void bhqt_crew_exit(struct bhqt_crew *c)
{
	unsigned int i;

	for (i = 0; c->workers && i < c->nr_workers; i++) {
		if (c->workers[i].task)
			kthread_stop(c->workers[i].task);
		c->workers[i].task = NULL;
	}
	if (c->workers)
		bhqt_crew_stop_timer(c);
	kfree(c->workers);
	c->workers = NULL;
}

/* ---- a kthread polling a manual context ---- */

/**
 * struct bhqt_poller - the poller of a destroy or selfdel manual context
 * @task: the kthread
 * @wq: it waits here to be switched on
 * @ctx: the context it polls while @on
 * @on: poll @ctx
 * @off: it saw @on cleared and polls no more
 * @polls: polls that returned
 */
struct bhqt_poller {
	struct task_struct *task;
	wait_queue_head_t wq;
	struct bhq_ctx *ctx;
	bool on;
	bool off;
	unsigned long polls;
};

static int bhqt_poller_fn(void *arg)
{
	struct bhqt_poller *p = arg;

	for (;;) {
		wait_event_idle(p->wq, READ_ONCE(p->on) || kthread_should_stop());
		if (kthread_should_stop())
			break;
		/* The stop check is for a stuck mode only: see bhqt_destroy_stall(). */
		/* Pairs with bhqt_poller_on(): @ctx is set. */
		while (smp_load_acquire(&p->on) && !kthread_should_stop()) {
			if (!bhq_poll(p->ctx))
				usleep_range(20, 50);
			WRITE_ONCE(p->polls, p->polls + 1);
		}
		/*
		 * Our last poll has returned: the context may be destroyed.
		 * Pairs with the acquire in bhqt_poller_off().
		 */
		smp_store_release(&p->off, true);
	}
	return 0;
}

static int bhqt_poller_init(struct bhqt_poller *p, const char *name)
{
	init_waitqueue_head(&p->wq);
	p->task = kthread_create(bhqt_poller_fn, p, "%s", name);
	if (IS_ERR(p->task)) {
		p->task = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void bhqt_poller_on(struct bhqt_poller *p, struct bhq_ctx *ctx)
{
	p->ctx = ctx;
	WRITE_ONCE(p->off, false);
	/* Pairs with the poller's acquire: it polls @ctx. */
	smp_store_release(&p->on, true);
	wake_up(&p->wq);
}

/* Stop polling; false (a stall) if the poller does not stop in time. */
static bool bhqt_poller_off(struct bhqt_poller *p)
{
	WRITE_ONCE(p->on, false);
	/* Pairs with the poller's release after its last poll. */
	if (bhqt_wait_until(smp_load_acquire(&p->off)))
		return true;
	bhqt_life_violation(BHQT_LIFE_V_STALL,
			    "a manual context's poll did not return within %u ms",
			    bhqt_stall_ms);
	return false;
}

static void bhqt_poller_exit(struct bhqt_poller *p)
{
	if (p->task)
		kthread_stop(p->task);
	p->task = NULL;
}

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

/* One round; false if it got stuck. */
static bool bhqt_destroy_run_round(unsigned int n)
{
	bool manual = n % 4 == 3;
	unsigned int delay_us;
	struct bhqt_destroy_round *r;
	u64 t0;

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

	/* The shot: the gate first, it is not to be delayed. */
	if (!manual) {
		bhq_bh_schedule(r->gate);
		if (!bhqt_wait_until(READ_ONCE(r->gate_in))) {
			bhqt_destroy_stall("the gate did not run");
			return false;
		}
	}
	/*
	 * A delayed shot is fired by one scheduler (in turn): each one waits
	 * the delay out on its CPU, and the gate and we need CPUs meanwhile.
	 */
	t0 = ktime_get_ns();
	delay_us = bhqt_delay_pick(n, bhqt_destroy.ewma_us);
	if (delay_us)
		bhqt_delay_begin(delay_us);
	bhqt_crew_order(&bhqt_destroy.crew, BHQT_CMD_SHOT,
			delay_us ? (n / 3) % bhqt_destroy.crew.nr_workers : -1);
	if (!bhqt_wait_until(bhqt_destroy_all_last()) ||
	    !bhqt_wait_until(bhqt_destroy_all_ran(r))) {
		if (delay_us)
			bhqt_delay_end();
		WRITE_ONCE(r->gate_open, false);
		bhqt_destroy_stall("a scheduled callback did not run");
		return false;
	}
	if (delay_us)
		bhqt_delay_end();
	WRITE_ONCE(r->gate_open, false);
	if (manual && !bhqt_poller_off(&bhqt_destroy.poller)) {
		bhqt_destroy.stuck = true;
		return false;
	}
	bhqt_destroy_destroy(r, n % 4);
	if (delay_us)
		bhqt_ewma(&bhqt_destroy.ewma_us, t0);

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

static int bhqt_destroy_init(void)
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

static void bhqt_destroy_start(void)
{
	bhqt_crew_start(&bhqt_destroy.crew);
	wake_up_process(bhqt_destroy.poller.task);
	wake_up_process(bhqt_destroy.control);
}

static void bhqt_destroy_exit(void)
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

static int bhqt_selfdel_init(void)
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

static void bhqt_selfdel_start(void)
{
	bhqt_crew_start(&bhqt_selfdel.crew);
	wake_up_process(bhqt_selfdel.poller.task);
	wake_up_process(bhqt_selfdel.control);
}

static void bhqt_selfdel_exit(void)
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
 * See "flush" at the top of this file.  A BH cancelled meanwhile is not
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

static int bhqt_manual_init(void)
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

static void bhqt_manual_start(void)
{
	unsigned int i;

	for (i = 0; i < bhqt_manual.nr_helpers; i++)
		wake_up_process(bhqt_manual.helpers[i].task);
	wake_up_process(bhqt_manual.owner);
}

static void bhqt_manual_exit(void)
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

/* ---- the interface to bhq_torture_main.c ---- */

/**
 * bhqt_life_init() - create the modes' threads and long-lived contexts
 *
 * Nothing runs until bhqt_life_start().  On failure the caller calls bhqt_life_stop()
 * and bhqt_life_free() as usual.
 *
 * Context: process context, at load.
 * Return: 0 or a negative error.
 */
int bhqt_life_init(void)
{
	int err = 0;

	bhqt_life.counters = alloc_percpu(struct bhqt_life_counters);
	if (!bhqt_life.counters)
		return -ENOMEM;
	bhqt_life.delay_ok = bhqt_delay_open();
	bhqt_life.misuse_ok = bhqt_misuse_read(&bhqt_life.misuse_base);
	if (bhqt_destroy_threads)
		err = bhqt_destroy_init();
	if (!err && bhqt_selfdel_threads)
		err = bhqt_selfdel_init();
	if (!err && bhqt_manual_helpers)
		err = bhqt_manual_init();
	return err;
}

void bhqt_life_start(void)
{
	if (bhqt_destroy.control)
		bhqt_destroy_start();
	if (bhqt_selfdel.control)
		bhqt_selfdel_start();
	if (bhqt_manual.owner)
		bhqt_manual_start();
	pr_info("lifetime modes: destroy %u threads, selfdel %u threads, manual %u helpers; publish delay %s, misuse count %s\n",
		bhqt_destroy_threads, bhqt_selfdel_threads, bhqt_manual_helpers,
		bhqt_life.delay_ok && bhqt_lifetime_delay_us ? "set" : "unavailable",
		bhqt_life.misuse_ok ? "checked" : "left to the script");
}

/**
 * bhqt_life_stop() - end the modes' rounds, stop their threads, final checks
 *
 * The modes finish the rounds they are in (every wait bounded) side by
 * side, then their threads stop.  Safe after a failed or partial
 * bhqt_life_init().
 *
 * Context: process context.
 */
void bhqt_life_stop(void)
{
	/* The modes end their rounds side by side, then each is stopped. */
	WRITE_ONCE(bhqt_life.stopping, true);
	bhqt_destroy_exit();
	bhqt_selfdel_exit();
	bhqt_manual_exit();
	if (bhqt_life.delay_ok && bhqt_life.delay_users) {
		bhqt_delay_apply(0);
		bhqt_life.delay_users = 0;
	}
	bhqt_misuse_check();
}

void bhqt_life_free(void)
{
	bhqt_delay_close();
	free_percpu(bhqt_life.counters);
	bhqt_life.counters = NULL;
}

u64 bhqt_life_ops(void)
{
	return bhqt_life_sum(BHQT_LIFE_OPS);
}

u64 bhqt_life_checks(void)
{
	return bhqt_life_sum(BHQT_LIFE_CHECKS);
}

unsigned long bhqt_life_nr_violations(void)
{
	unsigned long sum = 0;
	int v;

	for (v = 0; v < BHQT_LIFE_NR_VIOLATIONS; v++)
		sum += atomic_long_read(&bhqt_life.violations[v]);
	return sum;
}

void bhqt_life_stats_show(struct seq_file *m)
{
	int i;

	/* ops and checks are in the totals already. */
	for (i = BHQT_LIFE_CHECKS + 1; i < BHQT_LIFE_NR_STATS; i++)
		seq_printf(m, "lt_%s %llu\n", bhqt_life_stat_names[i], bhqt_life_sum(i));
	for (i = 0; i < BHQT_LIFE_NR_VIOLATIONS; i++)
		seq_printf(m, "violations_lt_%s %ld\n", bhqt_life_violation_names[i],
			   atomic_long_read(&bhqt_life.violations[i]));
	seq_printf(m, "lt_delay_hook %d\n", bhqt_life.delay_ok);
	seq_printf(m, "lt_delay_max_us %u\n", READ_ONCE(bhqt_life.delay_max));
	seq_printf(m, "lt_misuse_counted %d\n", bhqt_life.misuse_ok);
}
