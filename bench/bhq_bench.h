/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bhq_bench internals shared by the benchmark files: the run's settings,
 * the results buffer and its line format, statistics, and the reference
 * models of QEMU's bottom halves.
 *
 * Every figure is printed as one line of the results file
 * (/sys/kernel/debug/bhq_bench/results):
 *
 *	csv,<benchmark>,<mechanism>,<param>,<metric>,<median>,<min>,<max>,<unit>
 *
 * where median, min and max are taken over the repetitions and printed
 * with three decimals.  Other lines: "info,<key>,<value>" (the run's
 * settings), "cdf,<benchmark>,<mechanism>,<quantile>,<ns>" (latency
 * distributions, quantile in units of 0.01 %),
 * "window,<us>,<phase>,<window_ns>,<max_ns>,<changes>,<spin_ns>" (the
 * polling window over time, bench_polling.c) and a last "status,ok".
 */
#ifndef _BHQ_BENCH_H
#define _BHQ_BENCH_H

#include <linux/compiler_attributes.h>
#include <linux/time64.h>
#include <linux/types.h>

struct bhq_ctx;
struct task_struct;

/*
 * The polling window of the "bhq_poll" rows (bhq_ctx_set_polling()):
 * QEMU's IOThread default poll-max-ns.
 */
#define BENCH_POLL_MAX_NS	32768
/*
 * The gap of the paced scenarios, in which the producer spins between
 * its items instead of sleeping: well inside that window.
 */
#define BENCH_PACE_NS		(10 * NSEC_PER_USEC)

/**
 * struct bench_cfg - the settings of one run, fixed once validated
 * @quick: the short form used by `make check`
 * @reps: repetitions of every figure
 * @max_n: the largest N of the complexity benchmark
 * @samples: latency samples per repetition
 * @cpu_a: the producer's CPU, where the benchmarks run
 * @cpu_b: the consumer's CPU of the cross-CPU benchmarks, -1 for none
 * @timeout: bound of every wait, in jiffies
 */
struct bench_cfg {
	bool quick;
	unsigned int reps;
	unsigned int max_n;
	unsigned int samples;
	unsigned int cpu_a;
	int cpu_b;
	unsigned long timeout;
};

extern struct bench_cfg bench_cfg;

/**
 * struct bench_fig - one figure over the repetitions
 * @med: median
 * @min: smallest repetition
 * @max: largest repetition
 *
 * In thousandths of the figure's unit.
 */
struct bench_fig {
	u64 med;
	u64 min;
	u64 max;
};

/* bench_main.c */
__printf(1, 2) void bench_out(const char *fmt, ...);
void bench_fig_of(u64 *v, unsigned int n, struct bench_fig *fig);
void bench_emit(const char *bench, const char *mech, const char *param,
		const char *metric, const struct bench_fig *fig, const char *unit);
void bench_emit_reps(const char *bench, const char *mech, const char *param,
		     const char *metric, u64 *v, const char *unit);
u64 bench_per_op(u64 ns, u64 ops);
u64 bench_rate(u64 ops, u64 ns);
void bench_sort(u64 *v, unsigned int n);
u64 bench_task_cpu_ns(struct task_struct *task);
void bench_spin_ns(u64 ns);
void bench_wait_relax(void);

/* One benchmark per file; each returns 0 or a negative errno. */
int bench_complexity(void);
int bench_dispatch(bool throughput, bool latency, bool wakeups);
void bench_memory(void);
int bench_profile(void);
int bench_polling(void);

/**
 * struct bench_poll_saved - a context's polling settings, to put back
 * @max_ns: its longest window
 * @grow: its grow factor
 * @shrink: its shrink divisor
 *
 * bhq has no call that reads them: bench_polling.c reads the context.
 */
struct bench_poll_saved {
	u64 max_ns;
	unsigned int grow;
	unsigned int shrink;
};

void bench_poll_save(struct bhq_ctx *ctx, struct bench_poll_saved *saved);
void bench_poll_restore(struct bhq_ctx *ctx, const struct bench_poll_saved *saved);

/*
 * bench_models.c: models of QEMU's bottom halves, written for this
 * benchmark (they are not QEMU code).  "qm19" models QEMU up to 4.2
 * (util/async.c before 2020): every BH created is on one list that each
 * aio_bh_poll() walks.  "qm" models QEMU since 5.0: scheduled BHs are
 * pushed on a list, and aio_compute_timeout() walks the pending ones.
 */
struct qm19_ctx;
struct qm19_bh;
struct qm_ctx;
struct qm_bh;

typedef void (*qm_func_t)(void *opaque);

struct qm19_ctx *qm19_ctx_new(void);
void qm19_ctx_free(struct qm19_ctx *ctx);
struct qm19_bh *qm19_bh_new(struct qm19_ctx *ctx, qm_func_t cb, void *opaque);
void qm19_bh_schedule(struct qm19_bh *bh);
int qm19_bh_poll(struct qm19_ctx *ctx);

struct qm_ctx *qm_ctx_new(void);
void qm_ctx_free(struct qm_ctx *ctx);
struct qm_bh *qm_bh_new(struct qm_ctx *ctx, qm_func_t cb, void *opaque);
void qm_bh_free(struct qm_bh *bh);
void qm_bh_schedule(struct qm_bh *bh);
void qm_bh_schedule_idle(struct qm_bh *bh);
int qm_bh_poll(struct qm_ctx *ctx);
s64 qm_compute_timeout(struct qm_ctx *ctx);
size_t qm_bh_size(void);

#endif /* _BHQ_BENCH_H */
