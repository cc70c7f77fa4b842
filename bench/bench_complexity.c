// SPDX-License-Identifier: GPL-2.0
/*
 * Complexity: the cost of bhq_poll() and bhq_compute_timeout() against
 * the number N of BHs, next to the models of QEMU's designs.
 *
 * poll: N BHs exist on a manual context, one of them is scheduled and
 *	the context polled, again and again.  bhq's poll only sees the
 *	scheduled BH; the pre-2020 QEMU model walks all N.
 * timeout_nonidle: N BHs are pending, the first scheduled non-idle and
 *	the N - 1 others idle, and the timeout is computed again and again.
 *	bhq reads a flag; QEMU's walk meets the non-idle BH last (its list
 *	is LIFO), after N - 1 idle ones.
 * timeout_idle: N idle BHs are pending; bhq reads the flag and the list
 *	head, QEMU's walk reads all N.
 *
 * Figures are ns per operation (schedule + poll, or one timeout), for
 * N = 1, 100, 1000, ... up to bench_cfg.max_n: in each repetition, the
 * fastest of 20 chunks of the loop (see cx_best()).  The models walk, so
 * their iteration count shrinks as N grows, to bound the run time.
 */

#include <linux/build_bug.h>
#include <linux/err.h>
#include <linux/ktime.h>
#include <linux/limits.h>
#include <linux/minmax.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include <linux/bhq.h>
#include "bhq_bench.h"

/**
 * struct cx_set - N BHs on each of bhq, the pre-2020 model and today's model
 * @n: how many BHs each has
 * @bhq_ctx: the bhq manual context
 * @bhq_bhs: its BHs
 * @qm19_ctx: the pre-2020 QEMU model's context
 * @qm19_bh: the model BH that the poll benchmark schedules
 * @qm_ctx: today's QEMU model's context
 * @qm_bhs: its BHs
 * @ran: callbacks run, all contexts together
 */
struct cx_set {
	unsigned int n;
	struct bhq_ctx *bhq_ctx;
	struct bhq_bh **bhq_bhs;
	struct qm19_ctx *qm19_ctx;
	struct qm19_bh *qm19_bh;
	struct qm_ctx *qm_ctx;
	struct qm_bh **qm_bhs;
	unsigned long ran;
};

/* The figures of one N, each with bench_cfg.reps values. */
enum {
	CX_BHQ_POLL,
	CX_QM19_POLL,
	CX_BHQ_TIMEOUT_NONIDLE,
	CX_QM_TIMEOUT_NONIDLE,
	CX_BHQ_TIMEOUT_IDLE,
	CX_QM_TIMEOUT_IDLE,
	CX_NR,
};

static void cx_fn(void *opaque)
{
	unsigned long *ran = opaque;

	(*ran)++;
}

static void cx_free(struct cx_set *cx)
{
	unsigned int i;

	if (cx->bhq_bhs) {
		for (i = 0; i < cx->n; i++)
			bhq_bh_delete(cx->bhq_bhs[i]);
	}
	if (!IS_ERR_OR_NULL(cx->bhq_ctx))
		bhq_ctx_destroy(cx->bhq_ctx);
	kvfree(cx->bhq_bhs);
	qm19_ctx_free(cx->qm19_ctx);
	if (cx->qm_bhs) {
		for (i = 0; i < cx->n; i++)
			qm_bh_free(cx->qm_bhs[i]);
	}
	qm_ctx_free(cx->qm_ctx);
	kvfree(cx->qm_bhs);
}

static int cx_alloc(struct cx_set *cx, unsigned int n)
{
	struct qm19_bh *qm19_bh;
	unsigned int i;

	memset(cx, 0, sizeof(*cx));
	cx->n = n;
	cx->bhq_ctx = bhq_ctx_create("bhq_bench_cx", BHQ_CTX_MANUAL);
	if (IS_ERR(cx->bhq_ctx))
		return PTR_ERR(cx->bhq_ctx);
	cx->bhq_bhs = kvcalloc(n, sizeof(*cx->bhq_bhs), GFP_KERNEL);
	cx->qm_bhs = kvcalloc(n, sizeof(*cx->qm_bhs), GFP_KERNEL);
	cx->qm19_ctx = qm19_ctx_new();
	cx->qm_ctx = qm_ctx_new();
	if (!cx->bhq_bhs || !cx->qm_bhs || !cx->qm19_ctx || !cx->qm_ctx)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		cx->bhq_bhs[i] = bhq_bh_new(cx->bhq_ctx, cx_fn, &cx->ran);
		cx->qm_bhs[i] = qm_bh_new(cx->qm_ctx, cx_fn, &cx->ran);
		qm19_bh = qm19_bh_new(cx->qm19_ctx, cx_fn, &cx->ran);
		if (!cx->bhq_bhs[i] || !cx->qm_bhs[i] || !qm19_bh)
			return -ENOMEM;
		if (!i)
			cx->qm19_bh = qm19_bh;
		if (i % 1024 == 1023)
			cond_resched();
	}
	return 0;
}

/*
 * Iterations of one repetition: @base for bhq, fewer for a model that
 * walks the N BHs, so that one repetition costs at most about @base
 * operations or 2 million BH visits (200 thousand if quick).
 */
static unsigned int cx_iters(unsigned int base, unsigned int n, bool walks)
{
	unsigned int budget = bench_cfg.quick ? 200000 : 2000000;

	return walks ? clamp(budget / n, 3U, base) : base;
}

enum cx_op { CX_OP_BHQ_POLL, CX_OP_QM19_POLL, CX_OP_BHQ_TIMEOUT, CX_OP_QM_TIMEOUT };

/* Run @iters of @op, in @ns; -EIO if a timeout was not @expect. */
static int cx_run(struct cx_set *cx, enum cx_op op, unsigned int iters, s64 expect, u64 *ns)
{
	unsigned int i, wrong = 0;
	u64 start = ktime_get_ns();

	switch (op) {
	case CX_OP_BHQ_POLL:
		for (i = 0; i < iters; i++) {
			bhq_bh_schedule(cx->bhq_bhs[0]);
			bhq_poll(cx->bhq_ctx);
		}
		break;
	case CX_OP_QM19_POLL:
		for (i = 0; i < iters; i++) {
			qm19_bh_schedule(cx->qm19_bh);
			qm19_bh_poll(cx->qm19_ctx);
		}
		break;
	case CX_OP_BHQ_TIMEOUT:
		for (i = 0; i < iters; i++)
			wrong += bhq_compute_timeout(cx->bhq_ctx) != expect;
		break;
	case CX_OP_QM_TIMEOUT:
		for (i = 0; i < iters; i++)
			wrong += qm_compute_timeout(cx->qm_ctx) != expect;
		break;
	}
	*ns = ktime_get_ns() - start;
	return wrong ? -EIO : 0;
}

/* Chunks of one repetition, and the operations in each. */
#define CX_CHUNKS	20U

static unsigned int cx_chunks(unsigned int iters, unsigned int *per)
{
	unsigned int chunks = min(iters, CX_CHUNKS);

	*per = iters / chunks;
	return chunks;
}

/**
 * cx_best() - the cost of one operation in one repetition
 * @cx: the BHs
 * @op: the operation
 * @iters: operations in all, run in up to CX_CHUNKS chunks
 * @expect: what a timeout must return
 * @cost: the cost of the fastest chunk, in thousandths of a ns
 *
 * The fastest chunk: these loops only compute, so a slower chunk is one
 * that something else (an interrupt, the host running another job
 * instead of this vCPU) interrupted.
 *
 * Return: 0, or -EIO if a timeout was wrong.
 */
static int cx_best(struct cx_set *cx, enum cx_op op, unsigned int iters, s64 expect, u64 *cost)
{
	unsigned int per, chunks = cx_chunks(iters, &per), c;
	u64 ns;
	int err;

	*cost = U64_MAX;
	for (c = 0; c < chunks; c++) {
		err = cx_run(cx, op, per, expect, &ns);
		if (err)
			return err;
		*cost = min(*cost, bench_per_op(ns, per));
		cond_resched();
	}
	return 0;
}

/* Schedule all N: the first non-idle unless @all_idle, the others idle. */
static void cx_schedule_all(struct cx_set *cx, bool all_idle)
{
	unsigned int i;

	for (i = 0; i < cx->n; i++) {
		if (i || all_idle) {
			bhq_bh_schedule_idle(cx->bhq_bhs[i]);
			qm_bh_schedule_idle(cx->qm_bhs[i]);
		} else {
			bhq_bh_schedule(cx->bhq_bhs[i]);
			qm_bh_schedule(cx->qm_bhs[i]);
		}
		if (i % 1024 == 1023)
			cond_resched();
	}
}

/* One repetition of the timeout benchmarks of one kind. */
static int cx_timeouts(struct cx_set *cx, bool all_idle, u64 *bhq_v, u64 *qm_v)
{
	unsigned int base_iters = bench_cfg.quick ? 2000 : 50000;
	s64 expect = all_idle ? BHQ_IDLE_TIMEOUT_NS : 0;
	unsigned long before = cx->ran;
	int err;

	cx_schedule_all(cx, all_idle);
	err = cx_best(cx, CX_OP_BHQ_TIMEOUT, cx_iters(base_iters, cx->n, false), expect, bhq_v);
	if (!err)
		err = cx_best(cx, CX_OP_QM_TIMEOUT, cx_iters(base_iters, cx->n, true),
			      expect, qm_v);
	bhq_poll(cx->bhq_ctx);
	qm_bh_poll(cx->qm_ctx);
	if (err)
		pr_err("bhq_bench: complexity: wrong timeout with N=%u%s\n",
		       cx->n, all_idle ? " idle BHs" : "");
	else if (cx->ran - before != 2UL * cx->n)
		err = -EIO;
	return err;
}

/* Every repetition of every figure for one N. */
static int cx_measure(struct cx_set *cx, u64 *v)
{
	unsigned int base_iters = bench_cfg.quick ? 1000 : 20000;
	unsigned int iters_bhq = cx_iters(base_iters, cx->n, false);
	unsigned int iters_qm19 = cx_iters(base_iters, cx->n, true);
	unsigned int reps = bench_cfg.reps, r, per_bhq, per_qm19;
	unsigned long before, expect;
	int err;

	expect = cx_chunks(iters_bhq, &per_bhq) * per_bhq +
		 cx_chunks(iters_qm19, &per_qm19) * per_qm19;
	for (r = 0; r < reps; r++) {
		before = cx->ran;
		err = cx_best(cx, CX_OP_BHQ_POLL, iters_bhq, 0, &v[CX_BHQ_POLL * reps + r]);
		if (!err)
			err = cx_best(cx, CX_OP_QM19_POLL, iters_qm19, 0,
				      &v[CX_QM19_POLL * reps + r]);
		if (!err && cx->ran - before != expect) {
			pr_err("bhq_bench: complexity: %lu callbacks ran, expected %lu\n",
			       cx->ran - before, expect);
			err = -EIO;
		}
		if (!err)
			err = cx_timeouts(cx, false, &v[CX_BHQ_TIMEOUT_NONIDLE * reps + r],
					  &v[CX_QM_TIMEOUT_NONIDLE * reps + r]);
		if (!err)
			err = cx_timeouts(cx, true, &v[CX_BHQ_TIMEOUT_IDLE * reps + r],
					  &v[CX_QM_TIMEOUT_IDLE * reps + r]);
		if (err)
			return err;
		cond_resched();
	}
	return 0;
}

static const struct {
	const char *bench;
	const char *mech;
} cx_figs[] = {
	[CX_BHQ_POLL]			= { .bench = "poll", .mech = "bhq" },
	[CX_QM19_POLL]			= { .bench = "poll", .mech = "qemu2019_model" },
	[CX_BHQ_TIMEOUT_NONIDLE]	= { .bench = "timeout_nonidle", .mech = "bhq" },
	[CX_QM_TIMEOUT_NONIDLE]		= { .bench = "timeout_nonidle", .mech = "qemu_model" },
	[CX_BHQ_TIMEOUT_IDLE]		= { .bench = "timeout_idle", .mech = "bhq" },
	[CX_QM_TIMEOUT_IDLE]		= { .bench = "timeout_idle", .mech = "qemu_model" },
};

static_assert(ARRAY_SIZE(cx_figs) == CX_NR);

/**
 * bench_complexity() - cost of poll and timeout against N, bhq and models
 *
 * Return: 0, -ENOMEM, or -EIO if a callback count or a timeout was wrong.
 */
int bench_complexity(void)
{
	unsigned int n, f, reps = bench_cfg.reps;
	struct cx_set cx;
	char param[24];
	int err = 0;
	u64 *v;

	v = kcalloc(CX_NR * reps, sizeof(*v), GFP_KERNEL);
	if (!v)
		return -ENOMEM;
	for (n = 1; n <= bench_cfg.max_n; n = n == 1 ? 100 : n * 10) {
		bench_out("info,complexity_n,%u", n);
		err = cx_alloc(&cx, n);
		if (!err)
			err = cx_measure(&cx, v);
		cx_free(&cx);
		if (err)
			break;
		snprintf(param, sizeof(param), "N=%u", n);
		for (f = 0; f < CX_NR; f++)
			bench_emit_reps(cx_figs[f].bench, cx_figs[f].mech, param, "cost",
					&v[f * reps], "ns");
	}
	kfree(v);
	return err;
}
