// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_torture - a torture test for bhq: the module, its parameters, the
 * contexts under test, set-up, the end of the test and debugfs.
 *
 * Documentation/torture.rst describes the load, how the checker sees bhq,
 * what each check proves, the lifetime modes, and how to run the test and
 * read its results.  bhq_torture.h lists the files.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/llist.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/stringify.h>

#include <linux/bhq.h>
#include "bhq_torture.h"

/* The parameters and their descriptions, from bhq_torture_params.h. */
#define BHQT_N	false
#define BHQT_Y	true

#define BHQT_PARAM(param, dflt, ...)					\
	unsigned int bhqt_##param = dflt;				\
	module_param_named(param, bhqt_##param, uint, 0444)
#define BHQT_BOOL_PARAM(param, dflt, ...)				\
	bool bhqt_##param = BHQT_##dflt;				\
	module_param_named(param, bhqt_##param, bool, 0444)
#include "bhq_torture_params.h"

#define BHQT_PARAM(param, dflt, lo, hi, desc)				\
	MODULE_PARM_DESC(param, desc " (" __stringify(lo) ".."		\
			 __stringify(hi) ", default " __stringify(dflt) ")")
#define BHQT_BOOL_PARAM(param, dflt, desc)				\
	MODULE_PARM_DESC(param, desc " (default " __stringify(dflt) ")")
#include "bhq_torture_params.h"

/* Flush rounds at the end before the load is declared not quiescent. */
#define BHQT_QUIESCE_ROUNDS	10
/* Polls of a manual context before its barrier is declared stuck. */
#define BHQT_FLUSH_POLLS	1000

static const char * const bhqt_stat_names[] = {
	"ops", "checks", "scheduled", "scheduled_idle", "cancels", "deletes",
	"creates", "oneshots", "runs", "polls", "nested_polls",
	"self_schedules", "self_deletes", "timeout_checks", "sleep_checks",
	"runs_racing_delete", "runs_cpu_unstable", "lost_unproven",
	"hp_online", "hp_offline", "hp_unbound", "hp_cycles", "hp_failures",
	"alloc_failures", "probes",
	"probes_pairs", "probes_late",
};

static_assert(ARRAY_SIZE(bhqt_stat_names) == BHQT_NR_STATS);

static const char * const bhqt_violation_names[] = {
	"lost", "spurious", "after_delete", "poll", "fifo", "timeout", "cpu",
	"task", "latency", "stall",
};

static_assert(ARRAY_SIZE(bhqt_violation_names) == BHQT_NR_VIOLATIONS);

static const char * const bhqt_status_names[] = {
	"running", "stopping", "SUCCESS", "FAILURE",
};

struct bhqt_state bhqt;

/* A flush barrier: one reference for the waiter, one for the callback. */
struct bhqt_barrier {
	struct completion done;
	refcount_t ref;
};

u64 bhqt_sum(enum bhqt_stat stat)
{
	unsigned int cpu;
	u64 sum = 0;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(bhqt.counters, cpu)->v[stat];
	return sum;
}

/* Ours and the lifetime modes'. */
static unsigned long bhqt_nr_violations(void)
{
	unsigned long sum = bhqt_life_nr_violations();
	int v;

	for (v = 0; v < BHQT_NR_VIOLATIONS; v++)
		sum += atomic_long_read(&bhqt.violations[v]);
	return sum;
}

static u64 bhqt_total_ops(void)
{
	return bhqt_sum(BHQT_OPS) + bhqt_life_ops();
}

static u64 bhqt_total_checks(void)
{
	return bhqt_sum(BHQT_CHECKS) + bhqt_life_checks();
}

/**
 * bhqt_violation() - count a violation, and report the first ones
 * @v: its kind
 * @fmt: printf format of the details
 *
 * Context: any.
 */
__printf(2, 3) void bhqt_violation(enum bhqt_violation v, const char *fmt, ...)
{
	long n = atomic_long_inc_return(&bhqt.violations[v]);
	struct va_format vaf;
	va_list args;

	if (n > BHQT_REPORT_MAX)
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("violation %s #%ld: %pV\n", bhqt_violation_names[v], n, &vaf);
	va_end(args);
}

void bhqt_max(atomic64_t *max, u64 val)
{
	s64 old = atomic64_read(max);

	while ((s64)val > old && !atomic64_try_cmpxchg(max, &old, val))
		;
}

/**
 * bhqt_hold_begin() - hold the load off while bhq's publish delay is on
 *
 * CONFIG_BHQ_DEBUG's delay after a schedule published its BH is global:
 * while a lifetime mode has it on, every schedule busy-waits it out, and
 * our producers schedule from hardirq and with interrupts off, dozens at
 * a time.  So they, and the callbacks' actions, skip their operations
 * until bhqt_hold_end(); an operation already under way is delayed once.
 *
 * Context: process context, with bhqt_hold_end() in pairs.
 */
void bhqt_hold_begin(void)
{
	atomic_inc(&bhqt.held);
}

void bhqt_hold_end(void)
{
	atomic_inc(&bhqt.held);
}

bool bhqt_held(void)
{
	return atomic_read(&bhqt.held) & 1;
}

/* ---- manual contexts: polls and flushes ---- */

/**
 * bhqt_poll_manual() - poll a manual context, giving the poll an id
 * @tctx: a manual context; called by its poller (maybe from a callback)
 */
void bhqt_poll_manual(struct bhqt_ctx *tctx)
{
	u64 outer = tctx->cur_poll;

	/* Fully ordered: the id is visible before the poll carves. */
	tctx->cur_poll = atomic64_inc_return(&tctx->polls);
	if (tctx->depth++)
		bhqt_inc(BHQT_NESTED_POLLS);
	bhqt_inc(BHQT_POLLS);
	bhqt_inc(BHQT_OPS);
	bhqt_event(tctx);
	bhq_poll(tctx->ctx);
	bhqt_event(tctx);
	tctx->depth--;
	tctx->cur_poll = outer;
}

static void bhqt_barrier_put(struct bhqt_barrier *bar)
{
	if (refcount_dec_and_test(&bar->ref))
		kfree(bar);
}

static void bhqt_barrier_fn(void *opaque)
{
	struct bhqt_barrier *bar = opaque;

	complete(&bar->done);
	bhqt_barrier_put(bar);
}

static bool bhqt_barrier_wait(struct bhqt_ctx *tctx, struct bhqt_barrier *bar)
{
	unsigned int i;

	if (!tctx->manual)
		return wait_for_completion_timeout(&bar->done,
						   msecs_to_jiffies(bhqt_stall_ms));
	for (i = 0; i < BHQT_FLUSH_POLLS && !completion_done(&bar->done); i++)
		bhqt_poll_manual(tctx);
	return completion_done(&bar->done);
}

/**
 * bhqt_flush() - wait, boundedly, until everything scheduled on @tctx ran
 * @tctx: the context; for a manual one, called by its poller, not from a
 *	callback
 *
 * bhq_ctx_flush() waits without a bound; this queues a oneshot barrier
 * instead, which may outlive a timed-out wait.  A timeout marks @tctx stuck.
 *
 * Return: true if the barrier ran.
 */
static bool bhqt_flush(struct bhqt_ctx *tctx)
{
	struct bhqt_barrier *bar;
	bool done;

	if (tctx->stuck)
		return false;
	bar = kmalloc(sizeof(*bar), GFP_KERNEL);
	if (!bar)
		return false;
	init_completion(&bar->done);
	refcount_set(&bar->ref, 2);
	bhqt_inc(BHQT_OPS);
	if (bhq_schedule_oneshot(tctx->ctx, bhqt_barrier_fn, bar, GFP_KERNEL)) {
		kfree(bar);
		return false;
	}
	done = bhqt_barrier_wait(tctx, bar);
	bhqt_barrier_put(bar);
	if (!done) {
		tctx->stuck = true;
		bhqt_violation(BHQT_V_STALL, "%s: a flush did not complete within %u ms",
			       tctx->name, bhqt_stall_ms);
	}
	return done;
}

/**
 * bhqt_reap() - free the deleted BHs of @tctx once a barrier ran behind them
 * @tctx: the context; for a manual one, called by its poller outside polls
 *
 * Every BH taken off the graveyard was deleted before the barrier was
 * scheduled, so bhq has dequeued it when the barrier runs, and (threaded
 * contexts run one callback at a time, manual ones are at top level here)
 * none of its callbacks still runs.
 */
static void bhqt_reap(struct bhqt_ctx *tctx)
{
	struct llist_node *list;
	struct bhqt_bh *b, *tmp;

	if (llist_empty(&tctx->grave) || tctx->stuck)
		return;
	list = llist_del_all(&tctx->grave);
	if (!bhqt_flush(tctx)) {
		/* Leaked: a callback may still run on them. */
		pr_err("%s: leaving deleted BHs allocated after a stuck flush\n",
		       tctx->name);
		return;
	}
	llist_for_each_entry_safe(b, tmp, list, grave)
		kfree(b);
}

/* The owner of a deleted BH moves it to its context's graveyard. */
void bhqt_bury(struct bhqt_bh **slot, struct bhqt_bh *b)
{
	WRITE_ONCE(*slot, NULL);
	llist_add(&b->grave, &b->tctx->grave);
}

static int bhqt_manual_ctx_fn(void *arg)
{
	struct bhqt_ctx *tctx = arg;

	while (!kthread_should_stop()) {
		bhqt_poll_manual(tctx);
		bhqt_check_timeout(tctx);
		bhqt_reap(tctx);
		if (bhq_compute_timeout(tctx->ctx) != 0)
			usleep_range(50, 100);
		else
			cond_resched();
	}
	return 0;
}

/* While the load runs: free what the threaded contexts' BHs left behind. */
static void bhqt_reap_threaded(void)
{
	unsigned int i;

	for (i = 0; i < bhqt.nr_ctxs; i++) {
		if (!bhqt.ctxs[i].manual)
			bhqt_reap(&bhqt.ctxs[i]);
	}
}

/* ---- the end of the test ---- */

/* From now on the calling thread polls the manual contexts. */
static void bhqt_stop_manual_pollers(void)
{
	unsigned int i;

	for (i = 0; bhqt.ctxs && i < bhqt.nr_ctxs; i++) {
		struct bhqt_ctx *tctx = &bhqt.ctxs[i];

		if (!tctx->manual)
			continue;
		if (tctx->poll_task) {
			kthread_stop(tctx->poll_task);
			tctx->poll_task = NULL;
		}
		WRITE_ONCE(tctx->poller, current);
	}
}

static bool bhqt_flush_all(void)
{
	bool ok = true;
	unsigned int i;

	for (i = 0; i < bhqt.nr_ctxs; i++)
		ok &= bhqt_flush(&bhqt.ctxs[i]);
	return ok;
}

/*
 * Flush until a whole round schedules nothing: callbacks that saw
 * @stopping clear may still have re-scheduled themselves or made oneshots.
 */
static bool bhqt_quiesce(void)
{
	unsigned int round;
	u64 before;

	for (round = 0; round < BHQT_QUIESCE_ROUNDS; round++) {
		before = bhqt_sum(BHQT_SCHEDULED) + bhqt_sum(BHQT_DELETES);
		if (!bhqt_flush_all())
			return false;
		if (bhqt_sum(BHQT_SCHEDULED) + bhqt_sum(BHQT_DELETES) == before)
			return true;
	}
	bhqt_violation(BHQT_V_STALL, "the load did not quiesce after %u flush rounds",
		       BHQT_QUIESCE_ROUNDS);
	return false;
}

static void bhqt_reap_all(void)
{
	unsigned int i;

	for (i = 0; i < bhqt.nr_ctxs; i++)
		bhqt_reap(&bhqt.ctxs[i]);
}

/* Count what a polling context's thread found while it polled. */
static void bhqt_count_spin_hits(struct bhqt_ctx *tctx)
{
	struct bhq_stats stats;

	if (!tctx->polling || !tctx->ctx)
		return;
	bhq_ctx_get_stats(tctx->ctx, &stats);
	bhqt.spin_hits += stats.spin_hits;
}

/* Turn off the polling we turned on in per-CPU contexts. */
static void bhqt_ctxs_unpoll(void)
{
	unsigned int i;

	for (i = 0; i < bhqt.nr_ctxs; i++) {
		struct bhqt_ctx *tctx = &bhqt.ctxs[i];

		if (!tctx->polling || tctx->owned)
			continue;
		bhqt_count_spin_hits(tctx);
		bhq_ctx_set_polling(tctx->ctx, 0, 0, 0);
		tctx->polling = false;
	}
}

/* Destroy the contexts we created, unless a flush of theirs got stuck. */
static void bhqt_destroy_contexts(void)
{
	unsigned int i;

	for (i = 0; i < bhqt.nr_ctxs; i++) {
		struct bhqt_ctx *tctx = &bhqt.ctxs[i];

		if (!tctx->owned || !tctx->ctx)
			continue;
		if (tctx->stuck) {
			pr_err("%s: stuck, not destroyed\n", tctx->name);
			continue;
		}
		bhqt_count_spin_hits(tctx);
		bhq_ctx_destroy(tctx->ctx);
		WRITE_ONCE(tctx->ctx, NULL);
	}
	bhqt_ctxs_unpoll();
	bhqt_destroy_probe();
}

/**
 * bhqt_shutdown() - stop the load and check the final accounting
 *
 * Context: the control thread, or rmmod if that thread never ran.
 */
static void bhqt_shutdown(void)
{
	WRITE_ONCE(bhqt.status, BHQT_STOPPING);
	WRITE_ONCE(bhqt.stopping, true);
	bhqt.elapsed = (jiffies - bhqt.start) / HZ;
	/* Every CPU it took offline is back once this returns. */
	bhqt_onoff_stop();
	/* They end their rounds and check them on their own contexts. */
	bhqt_life_stop();
	bhqt_stop_producers();
	bhqt_stop_manual_pollers();
	bhqt_probe_check();

	if (bhqt_quiesce())
		bhqt_final_check();
	bhqt_delete_all();
	bhqt_flush_all();
	bhqt_reap_all();
	bhqt_inc(BHQT_CHECKS);
	if (atomic_long_read(&bhqt.oneshots_out))
		bhqt_violation(BHQT_V_LOST, "%ld oneshots never ran",
			       atomic_long_read(&bhqt.oneshots_out));
	bhqt_destroy_contexts();

	WRITE_ONCE(bhqt.status, bhqt_nr_violations() ? BHQT_FAILURE : BHQT_SUCCESS);
	pr_info("test stopped after %lu s: %s, rmmod to unload\n", bhqt.elapsed,
		bhqt_status_names[bhqt.status]);
}

static int bhqt_control_fn(void *unused)
{
	unsigned long end = bhqt.start + (unsigned long)bhqt_seconds * HZ;

	while (!kthread_should_stop() &&
	       !(bhqt_seconds && time_after_eq(jiffies, end))) {
		bhqt_reap_threaded();
		schedule_timeout_idle(HZ / 20);
	}
	bhqt_shutdown();
	while (!kthread_should_stop())
		schedule_timeout_idle(HZ);
	return 0;
}

/* ---- debugfs ---- */

static int bhqt_num_show(struct seq_file *m, u64 val)
{
	seq_printf(m, "%llu\n", val);
	return 0;
}

static int bhqt_ops_show(struct seq_file *m, void *unused)
{
	return bhqt_num_show(m, bhqt_total_ops());
}
DEFINE_SHOW_ATTRIBUTE(bhqt_ops);

static int bhqt_checks_show(struct seq_file *m, void *unused)
{
	return bhqt_num_show(m, bhqt_total_checks());
}
DEFINE_SHOW_ATTRIBUTE(bhqt_checks);

static int bhqt_violations_show(struct seq_file *m, void *unused)
{
	return bhqt_num_show(m, bhqt_nr_violations());
}
DEFINE_SHOW_ATTRIBUTE(bhqt_violations);

static int bhqt_status_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "%s\n", bhqt_status_names[READ_ONCE(bhqt.status)]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bhqt_status);

static void bhqt_show_us(struct seq_file *m, const char *name, atomic64_t *ns)
{
	seq_printf(m, "%s %llu\n", name,
		   (u64)atomic64_read(ns) / NSEC_PER_USEC);
}

static int bhqt_stats_show(struct seq_file *m, void *unused)
{
	int i;

	seq_printf(m, "status %s\n", bhqt_status_names[READ_ONCE(bhqt.status)]);
	seq_printf(m, "seconds %lu\n", READ_ONCE(bhqt.status) >= BHQT_SUCCESS ?
		   bhqt.elapsed : (jiffies - bhqt.start) / HZ);
	for (i = 0; i < BHQT_NR_STATS; i++)
		seq_printf(m, "%s %llu\n", bhqt_stat_names[i],
			   i == BHQT_OPS ? bhqt_total_ops() :
			   i == BHQT_CHECKS ? bhqt_total_checks() : bhqt_sum(i));
	seq_printf(m, "violations %lu\n", bhqt_nr_violations());
	for (i = 0; i < BHQT_NR_VIOLATIONS; i++)
		seq_printf(m, "violations_%s %ld\n", bhqt_violation_names[i],
			   atomic_long_read(&bhqt.violations[i]));
	seq_printf(m, "oneshots_pending %ld\n", atomic_long_read(&bhqt.oneshots_out));
	seq_printf(m, "tracepoints %d\n", bhqt.traced);
	bhqt_show_us(m, "max_latency_nonidle_us", &bhqt.max_nonidle_ns);
	bhqt_show_us(m, "max_latency_idle_us", &bhqt.max_idle_ns);
	bhqt_show_us(m, "probe_max_latency_nonidle_us", &bhqt.probe_max_nonidle_ns);
	bhqt_show_us(m, "probe_max_latency_idle_us", &bhqt.probe_max_idle_ns);
	bhqt_life_stats_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bhqt_stats);

/* Our directory goes under bhq's own: /sys/kernel/debug/bhq/torture. */
static void bhqt_debugfs_init(void)
{
	struct dentry *parent = debugfs_lookup("bhq", NULL);

	if (IS_ERR_OR_NULL(parent)) {
		pr_warn("no debugfs directory bhq/, results only in dmesg\n");
		return;
	}
	bhqt.dir = debugfs_create_dir("torture", parent);
	dput(parent);
	debugfs_create_file("ops", 0444, bhqt.dir, NULL, &bhqt_ops_fops);
	debugfs_create_file("checks", 0444, bhqt.dir, NULL, &bhqt_checks_fops);
	debugfs_create_file("violations", 0444, bhqt.dir, NULL, &bhqt_violations_fops);
	debugfs_create_file("status", 0444, bhqt.dir, NULL, &bhqt_status_fops);
	debugfs_create_file("stats", 0444, bhqt.dir, NULL, &bhqt_stats_fops);
}

/* ---- set-up ---- */

/* Is @val within @min..@max?  If not, say so. */
static bool bhqt_in_range(const char *name, unsigned int val,
			  unsigned int def, unsigned int min, unsigned int max)
{
	if (val >= min && val <= max)
		return true;
	pr_err("invalid parameter %s=%u: the allowed range is %u..%u (default %u)\n",
	       name, val, min, max, def);
	return false;
}

/* Every parameter out of its range is reported; then the weights. */
static int bhqt_check_params(void)
{
	bool ok = true;

#define BHQT_PARAM(param, dflt, lo, hi, ...)				\
	(ok &= bhqt_in_range(#param, bhqt_##param, dflt, lo, hi))
#define BHQT_BOOL_PARAM(...)
#include "bhq_torture_params.h"

	return ok ? bhqt_check_mixes() : -EINVAL;
}

/*
 * Polling before sleeping on some contexts (@on), none on the others, so
 * that both kinds of thread meet the same load.
 */
static int bhqt_ctx_poll(struct bhqt_ctx *tctx, bool on)
{
	int err;

	if (!on || !bhqt_poll_max_ns)
		return 0;
	err = bhq_ctx_set_polling(tctx->ctx, bhqt_poll_max_ns, 0, 0);
	if (err) {
		pr_err("%s: bhq_ctx_set_polling(): %d\n", tctx->name, err);
		return err;
	}
	tctx->polling = true;
	return 0;
}

static int bhqt_ctx_init(struct bhqt_ctx *tctx, unsigned int idx, int cpu,
			 unsigned int flags, const char *name)
{
	tctx->idx = idx;
	tctx->cpu = cpu;
	tctx->manual = flags & BHQ_CTX_MANUAL;
	init_llist_head(&tctx->grave);
	prandom_seed_state(&tctx->rnd, get_random_u64());
	strscpy(tctx->name, name, sizeof(tctx->name));
	tctx->last_stamp = kcalloc(bhqt.nr_prods, sizeof(u64), GFP_KERNEL);
	if (!tctx->last_stamp)
		return -ENOMEM;
	if (cpu >= 0) {
		tctx->ctx = bhq_cpu_ctx(cpu);
		bhqt.cpu_bc[cpu] = tctx;
		if (!tctx->ctx)
			return -ENODEV;
		return bhqt_ctx_poll(tctx, cpu % 2);
	}
	tctx->ctx = bhq_ctx_create(name, flags);
	if (IS_ERR(tctx->ctx)) {
		int err = PTR_ERR(tctx->ctx);

		tctx->ctx = NULL;
		pr_err("cannot create context %s: %d\n", name, err);
		return err;
	}
	tctx->owned = true;
	return bhqt_ctx_poll(tctx, !(flags & BHQ_CTX_MANUAL) && !(idx % 2));
}

static int bhqt_ctxs_init(void)
{
	unsigned int cpu, i, idx = 0;
	char name[BHQ_CTX_NAME_MAX + 1];
	int err;

	for_each_possible_cpu(cpu) {
		snprintf(name, sizeof(name), "cpu%u", cpu);
		err = bhqt_ctx_init(&bhqt.ctxs[idx], idx, cpu, 0, name);
		idx++;
		if (err)
			return err;
	}
	for (i = 0; i < bhqt_nr_threaded + bhqt_nr_manual; i++, idx++) {
		bool manual = i >= bhqt_nr_threaded;

		snprintf(name, sizeof(name), "bhqt-%c%u", manual ? 'm' : 't',
			 manual ? i - bhqt_nr_threaded : i);
		err = bhqt_ctx_init(&bhqt.ctxs[idx], idx, -1,
				    manual ? BHQ_CTX_MANUAL : 0, name);
		if (err)
			return err;
	}
	return 0;
}

static int bhqt_alloc(void)
{
	bhqt.nr_cpu_ctxs = num_possible_cpus();
	bhqt.nr_ctxs = bhqt.nr_cpu_ctxs + bhqt_nr_threaded + bhqt_nr_manual;
	bhqt.nr_prods = nr_cpu_ids * BHQT_NR_KINDS + bhqt.nr_ctxs;
	bhqt.counters = alloc_percpu(struct bhqt_counters);
	bhqt.hp_gen = kcalloc(nr_cpu_ids, sizeof(*bhqt.hp_gen), GFP_KERNEL);
	bhqt.cpu_bc = kcalloc(nr_cpu_ids, sizeof(*bhqt.cpu_bc), GFP_KERNEL);
	bhqt.ctxs = kcalloc(bhqt.nr_ctxs, sizeof(*bhqt.ctxs), GFP_KERNEL);
	bhqt.prods = kcalloc(bhqt.nr_prods, sizeof(*bhqt.prods), GFP_KERNEL);
	if (!bhqt.counters || !bhqt.hp_gen || !bhqt.cpu_bc || !bhqt.ctxs || !bhqt.prods)
		return -ENOMEM;
	return 0;
}

struct task_struct *bhqt_kthread_create(int (*fn)(void *), void *arg,
					const char *name)
{
	struct task_struct *t = kthread_create(fn, arg, "%s", name);

	if (IS_ERR(t)) {
		pr_err("cannot create kthread %s: %ld\n", name, PTR_ERR(t));
		return NULL;
	}
	return t;
}

static int bhqt_create_threads(void)
{
	unsigned int i;

	for (i = 0; i < bhqt.nr_ctxs; i++) {
		struct bhqt_ctx *tctx = &bhqt.ctxs[i];

		if (!tctx->manual)
			continue;
		tctx->poll_task = bhqt_kthread_create(bhqt_manual_ctx_fn, tctx, tctx->name);
		if (!tctx->poll_task)
			return -ENOMEM;
		tctx->poller = tctx->poll_task;
	}
	bhqt.probe_task = bhqt_kthread_create(bhqt_probe_thread, NULL, "bhqt-probe");
	bhqt.control = bhqt_kthread_create(bhqt_control_fn, NULL, "bhqt-control");
	return bhqt.probe_task && bhqt.control ? 0 : -ENOMEM;
}

static void bhqt_wake_threads(void)
{
	unsigned int i;

	for (i = 0; i < bhqt.nr_prods; i++) {
		if (bhqt.prods[i].task)
			wake_up_process(bhqt.prods[i].task);
	}
	for (i = 0; i < bhqt.nr_ctxs; i++) {
		if (bhqt.ctxs[i].poll_task)
			wake_up_process(bhqt.ctxs[i].poll_task);
	}
	wake_up_process(bhqt.probe_task);
	wake_up_process(bhqt.control);
}

/* Frees what is left; a stuck context's BHs and the context are leaked. */
static void bhqt_free(void)
{
	unsigned int i, j, n = 2 * bhqt.nr_ctxs * bhqt_nr_bhs;

	bhqt_tp_exit();
	for (i = 0; bhqt.prods && i < bhqt.nr_prods; i++) {
		struct bhqt_producer *p = &bhqt.prods[i];

		for (j = 0; p->slots && j < n; j++) {
			if (p->slots[j] && !p->slots[j]->tctx->stuck)
				kfree(p->slots[j]);
		}
		kfree(p->slots);
		kfree(p->stamps);
	}
	for (i = 0; bhqt.ctxs && i < bhqt.nr_ctxs; i++)
		kfree(bhqt.ctxs[i].last_stamp);
	kfree(bhqt.prods);
	kfree(bhqt.ctxs);
	kfree(bhqt.cpu_bc);
	kfree(bhqt.hp_gen);
	free_percpu(bhqt.counters);
	bhqt_life_free();
}

/* Undo a failed load: nothing ran yet, so there is nothing to check. */
static void bhqt_abort(void)
{
	unsigned int i;

	WRITE_ONCE(bhqt.stopping, true);
	if (bhqt.control)
		kthread_stop(bhqt.control);
	bhqt_onoff_stop();
	bhqt_life_stop();
	bhqt_stop_producers();
	bhqt_stop_manual_pollers();
	if (bhqt.ctxs) {
		bhqt_delete_all();
		for (i = 0; i < bhqt.nr_ctxs; i++) {
			if (bhqt.ctxs[i].ctx)
				bhqt_reap(&bhqt.ctxs[i]);
		}
		for (i = 0; i < bhqt.nr_ctxs; i++) {
			if (bhqt.ctxs[i].owned && bhqt.ctxs[i].ctx)
				bhq_ctx_destroy(bhqt.ctxs[i].ctx);
		}
		bhqt_ctxs_unpoll();
	}
	if (bhqt.probe_ctx)
		bhqt_destroy_probe();
	bhqt_free();
}

static int __init bhqt_init(void)
{
	int err;

	err = bhqt_check_params();
	if (err)
		return err;
	err = bhqt_alloc();
	err = err ?: bhqt_ctxs_init();
	if (!err)
		bhqt_tp_init();
	err = err ?: bhqt_prods_init();
	err = err ?: bhqt_probe_init();
	err = err ?: bhqt_create_threads();
	err = err ?: bhqt_start_cpus();
	err = err ?: bhqt_life_init();
	err = err ?: bhqt_onoff_init();
	if (err) {
		bhqt_abort();
		return err;
	}
	bhqt.start = jiffies;
	bhqt_debugfs_init();
	bhqt_wake_threads();
	bhqt_life_start();
	bhqt_onoff_start();
	pr_info("started: %u contexts (%u per-CPU, %u threaded, %u manual), %u producers per CPU, %u BHs each per context, %s\n",
		bhqt.nr_ctxs, bhqt.nr_cpu_ctxs, bhqt_nr_threaded, bhqt_nr_manual,
		1 + bhqt_irq_producers + bhqt_softirq_producers, 2 * bhqt_nr_bhs,
		bhqt_seconds ? "timed" : "until rmmod");
	return 0;
}

static void __exit bhqt_exit(void)
{
	debugfs_remove_recursive(bhqt.dir);
	kthread_stop(bhqt.control);
	/* The control thread never ran if rmmod came first. */
	if (READ_ONCE(bhqt.status) < BHQT_SUCCESS)
		bhqt_shutdown();
	pr_alert("End of test: %s (seconds=%lu ops=%llu scheduled=%llu runs=%llu checks=%llu violations=%lu hotplug=%llu hotplug_cycles=%llu spin_hits=%llu)\n",
		 bhqt_status_names[bhqt.status], bhqt.elapsed, bhqt_total_ops(),
		 bhqt_sum(BHQT_SCHEDULED), bhqt_sum(BHQT_RUNS), bhqt_total_checks(),
		 bhqt_nr_violations(),
		 bhqt_sum(BHQT_HP_ONLINE) + bhqt_sum(BHQT_HP_OFFLINE),
		 bhqt_sum(BHQT_HP_CYCLES), bhqt.spin_hits);
	bhqt_free();
}

module_init(bhqt_init);
module_exit(bhqt_exit);

MODULE_DESCRIPTION("bhq torture test: concurrent BH life cycles, checked");
MODULE_LICENSE("GPL");
