// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_torture lifetime modes: the races where one party's life ends while
 * another is still inside bhq (the table in include/linux/bhq.h and its
 * rules (1)-(4)), run next to the main load and counted in the same ops,
 * checks and violations.  This file holds what the modes share (their
 * counters, bhq's publish delay and misuse count, crews of schedulers and
 * pollers of manual contexts); bhq_torture_destroy.c, _selfdel.c and
 * _manual.c the modes, which "The lifetime modes" in
 * Documentation/torture.rst describes.
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
#include "bhq_torture_lifetime.h"

/*
 * bhq's test hooks (bhq_misuse_count(), bhq_debug_set_publish_delay()) are
 * exported only to modules built with CONFIG_KUNIT, as the KUnit suites
 * are; they are declared with bhq's internals.
 */
#if IS_ENABLED(CONFIG_KUNIT)
#include "../kmod/bhq_internal.h"
BHQ_IMPORT_KUNIT_NS();
#endif

/* The hrtimer's period while it schedules freely. */
#define BHQT_CREW_TIMER_PERIOD_NS	(200 * NSEC_PER_USEC)
/* The shortest delay worth setting. */
#define BHQT_DELAY_MIN_US		500

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
	"manual_cancel_waited", "manual_self_reschedules",
	"manual_reschedules_in_cancel", "manual_destroy_waited",
};

static_assert(ARRAY_SIZE(bhqt_life_stat_names) == BHQT_LIFE_NR_STATS);

static const char * const bhqt_life_violation_names[] = {
	"lost", "spurious", "after_destroy", "live", "flush", "cancel_sync",
	"destroy", "misuse", "stall",
};

static_assert(ARRAY_SIZE(bhqt_life_violation_names) == BHQT_LIFE_NR_VIOLATIONS);

struct bhqt_life_state bhqt_life = {
	.delay_lock = __MUTEX_INITIALIZER(bhqt_life.delay_lock),
};

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
__printf(2, 3) void bhqt_life_violation(enum bhqt_life_violation v, const char *fmt, ...)
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
unsigned int bhqt_delay_pick(unsigned int n, unsigned int ewma_us)
{
	/* One round in three: manual and threaded ones, undelayed ones too. */
	if (!bhqt_life.delay_ok || !bhqt_lifetime_delay_us || n % 3)
		return 0;
	return min(max(2 * ewma_us, BHQT_DELAY_MIN_US), bhqt_lifetime_delay_us);
}

/* Average in the time since @t0 (ktime_get_ns()), in us. */
void bhqt_ewma(unsigned int *ewma_us, u64 t0)
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
void bhqt_delay_begin(unsigned int usecs)
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

void bhqt_delay_end(void)
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
void bhqt_misuse_check(void)
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
void bhqt_crew_order(struct bhqt_crew *c, enum bhqt_cmd cmd, int shooter)
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
bool bhqt_crew_fires(struct bhqt_worker *w)
{
	int shooter = READ_ONCE(w->crew->shooter);

	return shooter < 0 || shooter == w->idx;
}

/* Wait until the crew carried out its SHOT or REST order. */
bool bhqt_crew_wait(struct bhqt_crew *c)
{
	return wait_event_idle_timeout(c->idle, !atomic_read(&c->busy),
				       bhqt_stall_jiffies()) > 0;
}

/* How many workers' SHOT schedules have not returned yet. */
unsigned int bhqt_crew_returning(struct bhqt_crew *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < c->nr_workers; i++)
		n += !READ_ONCE(c->workers[i].shot_returned);
	return n;
}

void bhqt_crew_stop_timer(struct bhqt_crew *c)
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
int bhqt_crew_init(struct bhqt_crew *c, unsigned int threads,
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

void bhqt_crew_start(struct bhqt_crew *c)
{
	unsigned int i;

	for (i = 0; i < c->nr_workers; i++) {
		if (c->workers[i].task)
			wake_up_process(c->workers[i].task);
	}
}

/* After the mode's control thread: no order comes any more. */
void bhqt_crew_exit(struct bhqt_crew *c)
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

int bhqt_poller_init(struct bhqt_poller *p, const char *name)
{
	init_waitqueue_head(&p->wq);
	p->task = kthread_create(bhqt_poller_fn, p, "%s", name);
	if (IS_ERR(p->task)) {
		p->task = NULL;
		return -ENOMEM;
	}
	return 0;
}

void bhqt_poller_on(struct bhqt_poller *p, struct bhq_ctx *ctx)
{
	p->ctx = ctx;
	WRITE_ONCE(p->off, false);
	/* Pairs with the poller's acquire: it polls @ctx. */
	smp_store_release(&p->on, true);
	wake_up(&p->wq);
}

/* Stop polling; false (a stall) if the poller does not stop in time. */
bool bhqt_poller_off(struct bhqt_poller *p)
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

void bhqt_poller_exit(struct bhqt_poller *p)
{
	if (p->task)
		kthread_stop(p->task);
	p->task = NULL;
}

/* ---- what bhq_torture_main.c calls ---- */

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
	bhqt_destroy_start();
	bhqt_selfdel_start();
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
