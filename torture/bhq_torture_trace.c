// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_torture probes on bhq's tracepoints bhq_poll_start, bhq_poll_end and
 * bhq_sleep: they give the polls of threaded contexts an id (the poll
 * check) and check the timeout their threads sleep with (the timeout check).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/smp.h>
#include <linux/tracepoint.h>

#include <linux/bhq.h>
#include <trace/events/bhq.h>

#include "bhq_torture.h"

/* ---- bhq's tracepoints: polls and sleeps of threaded contexts ---- */

/* The context under test behind @ctx, if any; called by its poller. */
static struct bhqt_ctx *bhqt_find(struct bhq_ctx *ctx)
{
	unsigned int cpu = raw_smp_processor_id(), i;
	struct bhqt_ctx *tctx = bhqt.cpu_bc[cpu];

	/* Fast path: a per-CPU context's thread on its own CPU. */
	if (tctx && READ_ONCE(tctx->ctx) == ctx)
		return tctx->manual ? NULL : tctx;
	for (i = 0; i < bhqt.nr_ctxs; i++) {
		tctx = &bhqt.ctxs[i];
		if (READ_ONCE(tctx->ctx) == ctx)
			return tctx->manual ? NULL : tctx;
	}
	return NULL;
}

/* A threaded context's poll starts: give it an id, as bhqt_poll_manual(). */
static void bhqt_tp_poll_start(void *data, struct bhq_ctx *ctx,
			       unsigned int depth, unsigned int ran)
{
	struct bhqt_ctx *tctx = bhqt_find(ctx);
	u64 id;

	if (!tctx)
		return;
	bhqt_event(tctx);
	/* Fully ordered: the id is visible before the poll carves. */
	id = atomic64_inc_return(&tctx->polls);
	if (depth > BHQT_MAX_DEPTH) {
		/* Unknown: no poll check can fail. */
		tctx->cur_poll = U64_MAX;
		return;
	}
	tctx->poll_ids[depth - 1] = id;
	tctx->cur_poll = id;
}

/*
 * A threaded context's poll ends: at depth 1, count the ordered BHs still
 * waiting.  No callback runs between here and the thread's next sleep.
 */
static void bhqt_tp_poll_end(void *data, struct bhq_ctx *ctx,
			     unsigned int depth, unsigned int ran)
{
	struct bhqt_ctx *tctx = bhqt_find(ctx);

	if (!tctx)
		return;
	bhqt_event(tctx);
	if (depth >= 2 && depth <= BHQT_MAX_DEPTH + 1)
		tctx->cur_poll = tctx->poll_ids[depth - 2];
	if (depth != 1)
		return;
	tctx->cur_poll = 0;
	tctx->snap_nonidle = atomic_read_acquire(&tctx->armed_nonidle);
	tctx->snap_any = atomic_read_acquire(&tctx->armed_any);
	tctx->snap_valid = true;
}

/*
 * The thread goes to sleep with a non-zero @timeout (bhq traces no other
 * sleep).  An ordered BH counted at the end of its last poll is still
 * pending: the timeout must have been 0 for a non-idle one, finite for an
 * idle one.  Exact: see "timeout" in
 * Documentation/torture.rst.
 */
static void bhqt_tp_sleep(void *data, struct bhq_ctx *ctx, s64 timeout)
{
	struct bhqt_ctx *tctx = bhqt_find(ctx);

	if (!tctx || !tctx->snap_valid)
		return;
	bhqt_inc(BHQT_CHECKS);
	bhqt_inc(BHQT_SLEEP_CHECKS);
	if (tctx->snap_nonidle > 0)
		bhqt_violation(BHQT_V_TIMEOUT,
			       "%s: thread slept with timeout %lld while %d non-idle BHs were pending",
			       tctx->name, timeout, tctx->snap_nonidle);
	else if (timeout == BHQ_TIMEOUT_INFINITE && tctx->snap_any > 0)
		bhqt_violation(BHQT_V_TIMEOUT,
			       "%s: thread slept without timeout while %d BHs were pending",
			       tctx->name, tctx->snap_any);
}

void bhqt_tp_exit(void)
{
	if (!bhqt.traced)
		return;
	unregister_trace_bhq_sleep(bhqt_tp_sleep, NULL);
	unregister_trace_bhq_poll_end(bhqt_tp_poll_end, NULL);
	unregister_trace_bhq_poll_start(bhqt_tp_poll_start, NULL);
	/* No probe of ours runs any more once this returns. */
	tracepoint_synchronize_unregister();
	bhqt.traced = false;
}

/**
 * bhqt_tp_init() - probe bhq's poll and sleep tracepoints
 *
 * bhq exports them.  Should a probe not register, the poll check covers
 * only the manual contexts and the sleep check is not made ("tracepoints"
 * in stats is 0, which scripts/guest-torture.sh does not accept).
 *
 * Context: process context, before any BH of the torture exists.
 */
void bhqt_tp_init(void)
{
	int err;

	err = register_trace_bhq_poll_start(bhqt_tp_poll_start, NULL);
	if (err)
		goto fail;
	err = register_trace_bhq_poll_end(bhqt_tp_poll_end, NULL);
	if (err)
		goto fail_poll_start;
	err = register_trace_bhq_sleep(bhqt_tp_sleep, NULL);
	if (err)
		goto fail_poll_end;
	bhqt.traced = true;
	return;

fail_poll_end:
	unregister_trace_bhq_poll_end(bhqt_tp_poll_end, NULL);
fail_poll_start:
	unregister_trace_bhq_poll_start(bhqt_tp_poll_start, NULL);
	tracepoint_synchronize_unregister();
fail:
	pr_info("bhq's tracepoints unavailable (%d): no poll or sleep checks on threaded contexts\n",
		err);
}
