// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_bench - the benchmarks of bhq, run when the module is loaded.
 *
 *	insmod bhq_bench.ko [quick=1] [reps=R] [max_n=N] [samples=S]
 *			    [cpu_a=A] [cpu_b=B] [only=LIST]
 *
 * Loading runs every benchmark selected by @only on CPU @cpu_a (the
 * loading task is pinned there for the run, then given its affinity
 * back), with CPU @cpu_b as the consumer of the cross-CPU ones, and keeps
 * the results in /sys/kernel/debug/bhq_bench/results until the module is
 * unloaded; bhq_bench.h describes the format.  Bad parameters fail the
 * load with -EINVAL and a message naming the parameter; a benchmark that
 * fails (a bounded wait that timed out, an allocation) fails the load
 * with its error.  scripts/bench.sh turns the results into tables and
 * plots.
 */

#include <linux/build_bug.h>
#include <linux/compiler.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/processor.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>

#include "bhq_bench.h"

static bool quick;
module_param(quick, bool, 0444);
MODULE_PARM_DESC(quick, "short run for `make check`: small N, few repetitions (default 0)");

static unsigned int reps;
module_param(reps, uint, 0444);
MODULE_PARM_DESC(reps, "repetitions of every figure, 3-51 (0: 7, or 3 if quick)");

static unsigned int max_n;
module_param(max_n, uint, 0444);
MODULE_PARM_DESC(max_n, "largest N of the complexity benchmark, 1-1000000 (0: 100000, or 1000 if quick)");

static unsigned int samples;
module_param(samples, uint, 0444);
MODULE_PARM_DESC(samples, "latency samples per repetition, 100-100000 (0: 3000, or 200 if quick)");

static int cpu_a;
module_param(cpu_a, int, 0444);
MODULE_PARM_DESC(cpu_a, "the producer's CPU (default 0)");

static int cpu_b = -1;
module_param(cpu_b, int, 0444);
MODULE_PARM_DESC(cpu_b, "the consumer's CPU of the cross-CPU benchmarks (-1: the first other online CPU, none if there is none)");

static char *only = "all";
module_param(only, charp, 0444);
MODULE_PARM_DESC(only, "comma-separated benchmarks to run: complexity, throughput, latency, wakeups, memory, profile, polling, or all (default)");

struct bench_cfg bench_cfg;

/* The results file: text lines, kept until the module is unloaded. */
#define BENCH_BUF_SIZE	(512 * 1024)

static char *bench_buf;
static size_t bench_len;
static bool bench_overflow;
static struct dentry *bench_debugfs;

/**
 * bench_out() - append one line to the results
 * @fmt: printf format of the line, without the newline
 *
 * Lines that do not fit are dropped and fail the run at the end.
 */
void bench_out(const char *fmt, ...)
{
	size_t room = BENCH_BUF_SIZE - bench_len;
	va_list ap;
	int n;

	if (bench_overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(bench_buf + bench_len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || n + 1 >= room) {
		bench_buf[bench_len] = '\0';
		bench_overflow = true;
		return;
	}
	bench_len += n;
	bench_buf[bench_len++] = '\n';
	bench_buf[bench_len] = '\0';
}

static int bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

void bench_sort(u64 *v, unsigned int n)
{
	sort(v, n, sizeof(*v), bench_cmp_u64, NULL);
}

/**
 * bench_fig_of() - median, min and max of some repetitions
 * @v: the values, sorted in place
 * @n: how many, at least 1
 * @fig: the result; an even @n gives the mean of the two middle values
 */
void bench_fig_of(u64 *v, unsigned int n, struct bench_fig *fig)
{
	bench_sort(v, n);
	fig->min = v[0];
	fig->max = v[n - 1];
	fig->med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/**
 * bench_emit() - print one figure as a csv line
 * @bench: the benchmark
 * @mech: the mechanism measured
 * @param: the benchmark's parameter, such as "N=100" or "K=16"
 * @metric: what is measured
 * @fig: the figure, in thousandths of @unit
 * @unit: the unit
 */
void bench_emit(const char *bench, const char *mech, const char *param,
		const char *metric, const struct bench_fig *fig, const char *unit)
{
	bench_out("csv,%s,%s,%s,%s,%llu.%03llu,%llu.%03llu,%llu.%03llu,%s",
		  bench, mech, param, metric,
		  fig->med / 1000, fig->med % 1000,
		  fig->min / 1000, fig->min % 1000,
		  fig->max / 1000, fig->max % 1000, unit);
}

/* bench_emit() of the bench_cfg.reps values in @v (sorted in place). */
void bench_emit_reps(const char *bench, const char *mech, const char *param,
		     const char *metric, u64 *v, const char *unit)
{
	struct bench_fig fig;

	bench_fig_of(v, bench_cfg.reps, &fig);
	bench_emit(bench, mech, param, metric, &fig, unit);
}

/* Cost of one operation in thousandths of a nanosecond. */
u64 bench_per_op(u64 ns, u64 ops)
{
	return div64_u64(ns * 1000, max_t(u64, ops, 1));
}

/* Operations per second, in thousandths. */
u64 bench_rate(u64 ops, u64 ns)
{
	return mul_u64_u64_div_u64(ops, NSEC_PER_SEC * 1000ULL, max_t(u64, ns, 1));
}

/**
 * bench_task_cpu_ns() - the CPU time a task has run for
 * @task: the task, alive
 *
 * Its scheduler's sum_exec_runtime: exact for a task that sleeps; for one
 * that runs it lags by the part of its current run the scheduler has not
 * accounted yet (at most a tick).
 *
 * Return: nanoseconds.
 */
u64 bench_task_cpu_ns(struct task_struct *task)
{
	return READ_ONCE(task->se.sum_exec_runtime);
}

/**
 * bench_wait_relax() - one turn of a producer's spin that waits for another CPU
 *
 * Such a spin must let stop_machine() have this CPU: under TCG the
 * clocksource watchdog finds the TSC unstable and switches clocksource
 * with stop_machine(), whose stopper on the consumer's CPU then waits,
 * with interrupts off, for ours.  The consumer cannot run, and without
 * cond_resched() (PREEMPT_VOLUNTARY) the spin lasts until its timeout:
 * seen as a 20 s stall in every full run of ``make bench``.
 *
 * Context: process context.
 */
void bench_wait_relax(void)
{
	cond_resched();
	cpu_relax();
}

/* Spin, without sleeping, for @ns nanoseconds (short pauses only). */
void bench_spin_ns(u64 ns)
{
	u64 end = ktime_get_ns() + ns;

	while (ktime_get_ns() < end)
		cpu_relax();
}

static int bench_results_show(struct seq_file *m, void *unused)
{
	seq_write(m, bench_buf, bench_len);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bench_results);

/* The benchmarks that @only names, each a bit of bench_mask. */
enum bench_id {
	BENCH_ID_COMPLEXITY,
	BENCH_ID_THROUGHPUT,
	BENCH_ID_LATENCY,
	BENCH_ID_WAKEUPS,
	BENCH_ID_MEMORY,
	BENCH_ID_PROFILE,
	BENCH_ID_POLLING,
	BENCH_NR,
};

#define BENCH_COMPLEXITY	BIT(BENCH_ID_COMPLEXITY)
#define BENCH_THROUGHPUT	BIT(BENCH_ID_THROUGHPUT)
#define BENCH_LATENCY		BIT(BENCH_ID_LATENCY)
#define BENCH_WAKEUPS		BIT(BENCH_ID_WAKEUPS)
#define BENCH_MEMORY		BIT(BENCH_ID_MEMORY)
#define BENCH_PROFILE		BIT(BENCH_ID_PROFILE)
#define BENCH_POLLING		BIT(BENCH_ID_POLLING)
#define BENCH_ALL		(BIT(BENCH_NR) - 1)

static const char *const bench_names[] = {
	[BENCH_ID_COMPLEXITY]	= "complexity",
	[BENCH_ID_THROUGHPUT]	= "throughput",
	[BENCH_ID_LATENCY]	= "latency",
	[BENCH_ID_WAKEUPS]	= "wakeups",
	[BENCH_ID_MEMORY]	= "memory",
	[BENCH_ID_PROFILE]	= "profile",
	[BENCH_ID_POLLING]	= "polling",
};

static_assert(ARRAY_SIZE(bench_names) == BENCH_NR);

/* Parse @only into a mask of BENCH_*; 0 if a name is unknown. */
static unsigned int bench_parse_only(const char *list)
{
	unsigned int mask = 0;
	char *copy, *p, *name;
	int i;

	if (!strcmp(list, "all"))
		return BENCH_ALL;
	copy = kstrdup(list, GFP_KERNEL);
	if (!copy)
		return 0;
	p = copy;
	while ((name = strsep(&p, ","))) {
		i = match_string(bench_names, ARRAY_SIZE(bench_names), name);
		if (i < 0) {
			pr_err("bhq_bench: only=%s: unknown benchmark \"%s\"; known: complexity, throughput, latency, wakeups, memory, profile, polling, all\n",
			       list, name);
			mask = 0;
			break;
		}
		mask |= BIT(i);
	}
	kfree(copy);
	return mask;
}

/* Check a parameter against its range; 0 keeps the default. */
static bool bench_param_ok(const char *name, unsigned int *v, unsigned int def,
			   unsigned int lo, unsigned int hi)
{
	if (!*v) {
		*v = def;
		return true;
	}
	if (*v >= lo && *v <= hi)
		return true;
	pr_err("bhq_bench: %s=%u is out of range: %u to %u, or 0 for the default\n",
	       name, *v, lo, hi);
	return false;
}

static bool bench_cpu_ok(const char *name, int cpu)
{
	if (cpu >= 0 && cpu < nr_cpu_ids && cpu_online(cpu))
		return true;
	pr_err("bhq_bench: %s=%d is not an online CPU\n", name, cpu);
	return false;
}

static unsigned int bench_mask;

/* Validate the parameters into bench_cfg; false after a pr_err(). */
static bool bench_configure(void)
{
	struct bench_cfg *cfg = &bench_cfg;
	int cpu;

	cfg->quick = quick;
	cfg->reps = reps;
	cfg->max_n = max_n;
	cfg->samples = samples;
	if (!bench_param_ok("reps", &cfg->reps, quick ? 3 : 7, 3, 51) ||
	    !bench_param_ok("max_n", &cfg->max_n, quick ? 1000 : 100000, 1, 1000000) ||
	    !bench_param_ok("samples", &cfg->samples, quick ? 200 : 3000, 100, 100000))
		return false;

	if (!bench_cpu_ok("cpu_a", cpu_a))
		return false;
	cfg->cpu_a = cpu_a;
	if (cpu_b >= 0) {
		if (!bench_cpu_ok("cpu_b", cpu_b))
			return false;
		if (cpu_b == cpu_a) {
			pr_err("bhq_bench: cpu_b=%d must differ from cpu_a\n", cpu_b);
			return false;
		}
		cfg->cpu_b = cpu_b;
	} else if (cpu_b == -1) {
		cfg->cpu_b = -1;
		for_each_online_cpu(cpu) {
			if (cpu != cpu_a) {
				cfg->cpu_b = cpu;
				break;
			}
		}
	} else {
		pr_err("bhq_bench: cpu_b=%d: a CPU, or -1 for any other online CPU\n", cpu_b);
		return false;
	}
	cfg->timeout = 20 * HZ;

	bench_mask = bench_parse_only(only ? only : "");
	return bench_mask != 0;
}

static int bench_run(void)
{
	int err = 0;

	bench_out("info,quick,%d", bench_cfg.quick);
	bench_out("info,reps,%u", bench_cfg.reps);
	bench_out("info,max_n,%u", bench_cfg.max_n);
	bench_out("info,samples,%u", bench_cfg.samples);
	bench_out("info,cpu_a,%u", bench_cfg.cpu_a);
	bench_out("info,cpu_b,%d", bench_cfg.cpu_b);
	bench_out("info,online_cpus,%u", num_online_cpus());
	bench_out("info,hz,%d", HZ);
	bench_out("info,only,%s", only);

	if (bench_mask & BENCH_MEMORY)
		bench_memory();
	if (bench_mask & BENCH_PROFILE)
		err = bench_profile();
	if (!err && (bench_mask & BENCH_COMPLEXITY))
		err = bench_complexity();
	if (!err && (bench_mask & (BENCH_THROUGHPUT | BENCH_LATENCY | BENCH_WAKEUPS)))
		err = bench_dispatch(!!(bench_mask & BENCH_THROUGHPUT),
				     !!(bench_mask & BENCH_LATENCY),
				     !!(bench_mask & BENCH_WAKEUPS));
	if (!err && (bench_mask & BENCH_POLLING))
		err = bench_polling();
	if (!err && bench_overflow) {
		pr_err("bhq_bench: the results do not fit in %d bytes\n", BENCH_BUF_SIZE);
		err = -ENOSPC;
	}
	if (!err)
		bench_out("status,ok");
	return err;
}

static int __init bhq_bench_init(void)
{
	cpumask_var_t saved;
	u64 start;
	int err;

	if (!bench_configure())
		return -EINVAL;

	bench_buf = kvzalloc(BENCH_BUF_SIZE, GFP_KERNEL);
	if (!bench_buf)
		return -ENOMEM;
	if (!alloc_cpumask_var(&saved, GFP_KERNEL)) {
		err = -ENOMEM;
		goto err_free_buf;
	}

	/* Everything runs on CPU A; the loading task gets its CPUs back. */
	cpumask_copy(saved, current->cpus_ptr);
	err = set_cpus_allowed_ptr(current, cpumask_of(bench_cfg.cpu_a));
	if (err) {
		pr_err("bhq_bench: cannot run on CPU %u: %d\n", bench_cfg.cpu_a, err);
		goto err_free_mask;
	}
	pr_info("bhq_bench: running on CPU %u (consumer CPU %d), %u repetitions%s\n",
		bench_cfg.cpu_a, bench_cfg.cpu_b, bench_cfg.reps,
		bench_cfg.quick ? ", quick" : "");
	start = ktime_get_ns();
	err = bench_run();
	set_cpus_allowed_ptr(current, saved);
	free_cpumask_var(saved);
	if (err) {
		pr_err("bhq_bench: a benchmark failed: %d\n", err);
		goto err_free_buf;
	}

	bench_debugfs = debugfs_create_dir("bhq_bench", NULL);
	debugfs_create_file("results", 0444, bench_debugfs, NULL, &bench_results_fops);
	pr_info("bhq_bench: done in %llu ms; results in /sys/kernel/debug/bhq_bench/results\n",
		div_u64(ktime_get_ns() - start, NSEC_PER_MSEC));
	return 0;

err_free_mask:
	free_cpumask_var(saved);
err_free_buf:
	kvfree(bench_buf);
	return err;
}
module_init(bhq_bench_init);

static void __exit bhq_bench_exit(void)
{
	debugfs_remove_recursive(bench_debugfs);
	kvfree(bench_buf);
}
module_exit(bhq_bench_exit);

MODULE_DESCRIPTION("bhq benchmarks: complexity, throughput, latency, wakeups, memory, profile, polling");
MODULE_LICENSE("GPL");
