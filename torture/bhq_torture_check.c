// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_torture checker: the checks every callback makes, the final
 * accounting, and the latency probe on a quiet threaded context.  What
 * each check proves, and F1 and F2 they rest on, is in "How the checker
 * sees bhq" and "The checks, exactly" of Documentation/torture.rst.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/spinlock.h>

#include <linux/bhq.h>
#include "bhq_torture.h"

/* Probe pairs needed before their lateness is judged. */
#define BHQT_PROBE_MIN_PAIRS	20

/* F1: did an operation with this mark precede the dequeue of callback @q? */
static bool bhqt_before(unsigned long mark, u8 margin, unsigned long q)
{
	return q >= mark + margin;
}

/* ---- checks made by every callback ---- */

/* The first callback of a threaded context names its thread. */
static void bhqt_check_task(struct bhqt_ctx *tctx)
{
	struct task_struct *t = READ_ONCE(tctx->poller);

	if (!t && !tctx->manual) {
		t = cmpxchg(&tctx->poller, NULL, current);
		if (!t)
			t = current;
	}
	bhqt_inc(BHQT_CHECKS);
	if (t != current)
		bhqt_violation(BHQT_V_TASK, "%s: callback run by %s/%d, not by its poller %s/%d",
			       tctx->name, current->comm, task_pid_nr(current),
			       t ? t->comm : "(none)", t ? task_pid_nr(t) : 0);
}

/**
 * bhqt_check_cpu() - a per-CPU context's callback runs on its CPU
 * @tctx: the context
 *
 * The generation is read before and after the CPU: equal and even means
 * that our hotplug callbacks did not run across the read.  The CPU must
 * also not be dying: from the start of its offline operation, before our
 * offline callback, the scheduler already moves a waking thread bound to
 * it elsewhere (and leaves it unbound).
 */
static void bhqt_check_cpu(struct bhqt_ctx *tctx)
{
	atomic_t *gen = &bhqt.hp_gen[tctx->cpu];
	unsigned int cpu;
	bool dying;
	int g1, g2;

	g1 = atomic_read_acquire(gen);
	dying = cpu_dying(tctx->cpu);
	cpu = raw_smp_processor_id();
	/* Read the generation again only after the CPU number. */
	smp_rmb();
	g2 = atomic_read(gen);
	if (cpu == tctx->cpu) {
		bhqt_inc(BHQT_CHECKS);
		return;
	}
	if (g1 != g2 || (g1 & 1) || dying) {
		bhqt_inc(BHQT_RUNS_CPU_UNSTABLE);
		return;
	}
	bhqt_inc(BHQT_CHECKS);
	bhqt_violation(BHQT_V_CPU, "%s: callback ran on CPU %u while CPU %d was online",
		       tctx->name, cpu, tctx->cpu);
}

/**
 * bhqt_event() - one more event of @tctx's poller, see F1
 * @tctx: the context; called by its poller only
 *
 * Return: the event's number.
 */
unsigned long bhqt_event(struct bhqt_ctx *tctx)
{
	unsigned long q = tctx->cbseq + 1;

	WRITE_ONCE(tctx->cbseq, q);
	/* F1: the event comes before this context's next dequeue. */
	smp_mb();
	return q;
}

/**
 * bhqt_cb_enter() - the prologue of every torture callback
 * @tctx: the callback's context
 *
 * Return: the callback's index on @tctx (its cbseq after the increment).
 */
unsigned long bhqt_cb_enter(struct bhqt_ctx *tctx)
{
	unsigned long q;

	/* Its poll has carved: see "poll" in Documentation/torture.rst. */
	if (tctx->cur_poll != U64_MAX)
		WRITE_ONCE(tctx->cb_poll, tctx->cur_poll);
	q = bhqt_event(tctx);
	bhqt_inc(BHQT_RUNS);
	bhqt_check_task(tctx);
	if (tctx->cpu >= 0)
		bhqt_check_cpu(tctx);
	return q;
}

/**
 * bhqt_check_timeout() - the poller's bhq_compute_timeout() is right
 * @tctx: the context; called by its poller only
 *
 * See "timeout" in Documentation/torture.rst.
 */
void bhqt_check_timeout(struct bhqt_ctx *tctx)
{
	int nonidle = atomic_read_acquire(&tctx->armed_nonidle);
	int any = atomic_read_acquire(&tctx->armed_any);
	s64 timeout;

	if (nonidle <= 0 && any <= 0)
		return;
	timeout = bhq_compute_timeout(tctx->ctx);
	bhqt_inc(BHQT_CHECKS);
	bhqt_inc(BHQT_TIMEOUT_CHECKS);
	if (nonidle > 0 && timeout != 0)
		bhqt_violation(BHQT_V_TIMEOUT, "%s: timeout %lld with %d non-idle BHs pending",
			       tctx->name, timeout, nonidle);
	else if (timeout == BHQ_TIMEOUT_INFINITE)
		bhqt_violation(BHQT_V_TIMEOUT, "%s: infinite timeout with %d BHs pending",
			       tctx->name, any);
}

/* Did this run start after the BH's delete reached bhq? */
void bhqt_check_deleted(struct bhqt_bh *b, unsigned long q)
{
	bhqt_inc(BHQT_CHECKS);
	if (!bhqt_before(b->del_mark, b->del_margin, q)) {
		bhqt_inc(BHQT_RUNS_RACING_DELETE);
		return;
	}
	bhqt_violation(BHQT_V_AFTER_DELETE,
		       "%s: %s BH of producer %u ran after its delete (callback %lu, delete at %lu)",
		       b->tctx->name, b->ordered ? "ordered" : "free",
		       b->prod->idx, q, b->del_mark);
}

/**
 * bhqt_order_check() - FIFO, poll and latency checks of an enqueue
 * @tctx: the context running it (its poller calls this)
 * @prod: the producer that scheduled it
 * @stamp: the producer's FIFO stamp for @tctx
 * @gen: @tctx's cb_poll read before the schedule
 * @ns: time of the schedule
 * @idle: scheduled idle
 */
void bhqt_order_check(struct bhqt_ctx *tctx, unsigned int prod, u64 stamp,
		      u64 gen, u64 ns, bool idle)
{
	u64 *last = &tctx->last_stamp[prod];
	u64 lat = ktime_get_ns() - ns;

	bhqt_inc(BHQT_CHECKS);
	if (stamp <= *last)
		bhqt_violation(BHQT_V_FIFO, "%s: producer %u's BH #%llu ran after its BH #%llu",
			       tctx->name, prod, stamp, *last);
	*last = max(*last, stamp);

	if (tctx->manual || bhqt.traced) {
		bhqt_inc(BHQT_CHECKS);
		if (tctx->cur_poll <= gen)
			bhqt_violation(BHQT_V_POLL,
				       "%s: poll %llu ran a BH scheduled after poll %llu had carved",
				       tctx->name, tctx->cur_poll, gen);
	}

	bhqt_max(idle ? &bhqt.max_idle_ns : &bhqt.max_nonidle_ns, lat);
	bhqt_inc(BHQT_CHECKS);
	if (lat > bhqt_stall_ns())
		bhqt_violation(BHQT_V_STALL, "%s: %s BH ran %llu ms after its schedule",
			       tctx->name, idle ? "idle" : "non-idle",
			       lat / NSEC_PER_MSEC);
}

/**
 * bhqt_match_run() - match a run of a free BH to a schedule of its own
 * @b: the BH, locked, not deleted
 * @q: the run's callback index
 *
 * See "spurious" in Documentation/torture.rst.  @b->match_floor collects
 * the schedules known not to be able to justify this run; the greedy
 * match takes the lowest schedule above it not used by an earlier run.
 */
void bhqt_match_run(struct bhqt_bh *b, unsigned long q)
{
	u64 floor = max(b->match_floor, b->older_run_nr_sched);
	u64 i;

	if (b->runs) {
		/* Known to precede the previous run's dequeue, see F1. */
		if (bhqt_before(b->sched_mark, b->sched_margin, b->prev_run_cbseq))
			floor = max(floor, b->nr_sched);
		else if (bhqt_before(b->prev_run_sched_mark,
				     b->prev_run_sched_margin, b->prev_run_cbseq))
			floor = max(floor, b->prev_run_nr_sched);
		floor = max(floor, b->prev_run_cancel_floor);
	}
	if (bhqt_before(b->cancel_mark, 2, q))
		floor = max(floor, b->cancel_floor);
	b->match_floor = floor;

	i = max(b->next_match, floor + 1);
	bhqt_inc(BHQT_CHECKS);
	if (i > b->nr_sched)
		bhqt_violation(BHQT_V_SPURIOUS,
			       "%s: free BH run %llu has no schedule of its own (%llu schedules, the first %llu used up or cancelled)",
			       b->tctx->name, b->runs + 1, b->nr_sched, floor);
	else
		b->next_match = i + 1;

	b->older_run_nr_sched = b->prev_run_nr_sched;
	b->prev_run_nr_sched = b->nr_sched;
	b->prev_run_cancel_floor = b->cancel_floor;
	b->prev_run_cbseq = q;
	b->prev_run_sched_mark = b->sched_mark;
	b->prev_run_sched_margin = b->sched_margin;
	b->runs++;
}

/* An armed ordered BH that waits too long is stuck. */
void bhqt_check_stall(struct bhqt_bh *b)
{
	u64 wait = ktime_get_ns() - b->armed_ns;

	if (b->stalled || wait <= bhqt_stall_ns())
		return;
	b->stalled = true;
	bhqt_violation(BHQT_V_STALL, "%s: %s ordered BH of producer %u pending for %llu ms",
		       b->tctx->name, b->armed_idle ? "idle" : "non-idle",
		       b->prod->idx, wait / NSEC_PER_MSEC);
}

static void bhqt_probe_fn(void *opaque)
{
	struct bhqt_probe_bh *pb = opaque;

	pb->ns_run = ktime_get_ns();
	/* The prober may schedule @pb again as soon as this completes. */
	complete(&pb->done);
}

/**
 * bhqt_probe_wait() - wait for a probe BH, within latency_ms, then stall_ms
 * @pb: the probe BH
 * @t0: when it was scheduled
 * @max: the maximum latency to update
 *
 * Return: false if it did not run within stall_ms either.
 */
static bool bhqt_probe_wait(struct bhqt_probe_bh *pb, u64 t0, atomic64_t *max)
{
	const char *what = pb == &bhqt.probe_idle ? "idle" : "non-idle";

	bhqt_inc(BHQT_CHECKS);
	bhqt_inc(BHQT_PROBES);
	if (!wait_for_completion_timeout(&pb->done, msecs_to_jiffies(bhqt_latency_ms))) {
		bhqt_violation(BHQT_V_LATENCY,
			       "probe: %s BH on a quiet threaded context not run within %u ms",
			       what, bhqt_latency_ms);
		if (!wait_for_completion_timeout(&pb->done, msecs_to_jiffies(bhqt_stall_ms))) {
			bhqt_violation(BHQT_V_STALL,
				       "probe: %s BH not run within %u ms more, probe stopped",
				       what, bhqt_stall_ms);
			return false;
		}
	}
	bhqt_max(max, pb->ns_run - t0);
	return true;
}

static void bhqt_probe_schedule(struct bhqt_probe_bh *pb, bool idle, u64 *t0)
{
	reinit_completion(&pb->done);
	*t0 = ktime_get_ns();
	if (idle)
		bhq_bh_schedule_idle(pb->bh);
	else
		bhq_bh_schedule(pb->bh);
}

/**
 * bhqt_probe_round() - one round of the latency probe
 * @round: selects the pattern: non-idle alone, idle then non-idle, idle
 *
 * In the second pattern the thread sleeps its idle timeout when the
 * non-idle BH comes (a pair, if the idle BH has not run yet); if that BH
 * still runs only when the idle timeout is over, the pair is late.
 *
 * Return: false if a probe BH is stuck.
 */
static bool bhqt_probe_round(unsigned int round)
{
	struct bhqt_probe_bh *n = &bhqt.probe_nonidle, *i = &bhqt.probe_idle;
	int held = atomic_read(&bhqt.held);
	bool idle_ran;
	u64 t0, t1;

	switch (round % 3) {
	case 0:
		bhqt_probe_schedule(n, false, &t0);
		return bhqt_probe_wait(n, t0, &bhqt.probe_max_nonidle_ns);
	case 1:
		bhqt_probe_schedule(i, true, &t0);
		usleep_range(2000, 3000);
		idle_ran = completion_done(&i->done);
		bhqt_probe_schedule(n, false, &t1);
		if (!bhqt_probe_wait(n, t1, &bhqt.probe_max_nonidle_ns))
			return false;
		/* A delay window may have held the wakeup: not a pair. */
		if (held & 1 || atomic_read(&bhqt.held) != held)
			idle_ran = true;
		if (!idle_ran)
			bhqt_inc(BHQT_PROBES_PAIRS);
		if (!idle_ran && n->ns_run - t0 >= BHQ_IDLE_TIMEOUT_NS)
			bhqt_inc(BHQT_PROBES_LATE);
		return bhqt_probe_wait(i, t0, &bhqt.probe_max_idle_ns);
	default:
		bhqt_probe_schedule(i, true, &t0);
		return bhqt_probe_wait(i, t0, &bhqt.probe_max_idle_ns);
	}
}

int bhqt_probe_thread(void *unused)
{
	unsigned int round = 0;

	while (!kthread_should_stop() && !READ_ONCE(bhqt.stopping)) {
		if (!bhqt_held() && !bhqt_probe_round(round++))
			break;
		usleep_range(5000, 10000);
	}
	while (!kthread_should_stop())
		schedule_timeout_idle(HZ);
	return 0;
}

/*
 * A non-idle schedule that does not wake a thread sleeping its idle
 * timeout makes nearly every pair late; scheduling noise, a few on a
 * Debian kernel, but on the debug kernel under TCG, where a woken thread
 * may wait 100 ms and more for its vCPU, a third of them and up to 65% in
 * a short run.  So more than 80% late is a violation.
 */
void bhqt_probe_check(void)
{
	u64 pairs = bhqt_sum(BHQT_PROBES_PAIRS), late = bhqt_sum(BHQT_PROBES_LATE);

	if (pairs < BHQT_PROBE_MIN_PAIRS)
		return;
	bhqt_inc(BHQT_CHECKS);
	if (late * 5 > pairs * 4)
		bhqt_violation(BHQT_V_LATENCY,
			       "probe: %llu of %llu non-idle BHs scheduled behind an idle one ran only after the idle timeout",
			       late, pairs);
}

/* See "lost" in Documentation/torture.rst. */
static void bhqt_final_check_bh(struct bhqt_bh *b)
{
	bhqt_inc(BHQT_CHECKS);
	if (b->ordered) {
		if (b->armed_stamp)
			bhqt_violation(BHQT_V_LOST,
				       "%s: ordered BH of producer %u never ran for its schedule",
				       b->tctx->name, b->prod->idx);
		return;
	}
	if (!b->last_sched)
		return;
	if (b->runs && bhqt_before(b->sched_mark, b->sched_margin, b->prev_run_cbseq))
		return;
	if (b->runs && b->prev_run_nr_sched >= b->nr_sched)
		bhqt_inc(BHQT_LOST_UNPROVEN);
	else
		bhqt_violation(BHQT_V_LOST,
			       "%s: free BH of producer %u not run after its last schedule (%llu schedules, %llu runs)",
			       b->tctx->name, b->prod->idx, b->nr_sched, b->runs);
}

void bhqt_final_check(void)
{
	unsigned int i, j, n = 2 * bhqt.nr_ctxs * bhqt_nr_bhs;
	unsigned long flags;

	for (i = 0; i < bhqt.nr_prods; i++) {
		struct bhqt_producer *p = &bhqt.prods[i];

		for (j = 0; p->slots && j < n; j++) {
			struct bhqt_bh *b = p->slots[j];

			if (!b || b->tctx->stuck)
				continue;
			raw_spin_lock_irqsave(&b->lock, flags);
			if (!b->deleted)
				bhqt_final_check_bh(b);
			raw_spin_unlock_irqrestore(&b->lock, flags);
		}
	}
}

void bhqt_destroy_probe(void)
{
	bhq_bh_delete(bhqt.probe_nonidle.bh);
	bhq_bh_delete(bhqt.probe_idle.bh);
	bhqt.probe_nonidle.bh = NULL;
	bhqt.probe_idle.bh = NULL;
	bhq_ctx_destroy(bhqt.probe_ctx);
	bhqt.probe_ctx = NULL;
}

static int bhqt_probe_bh_init(struct bhqt_probe_bh *pb)
{
	init_completion(&pb->done);
	pb->bh = bhq_bh_new(bhqt.probe_ctx, bhqt_probe_fn, pb);
	return pb->bh ? 0 : -ENOMEM;
}

int bhqt_probe_init(void)
{
	int err;

	bhqt.probe_ctx = bhq_ctx_create("bhqt-probe", 0);
	if (IS_ERR(bhqt.probe_ctx)) {
		err = PTR_ERR(bhqt.probe_ctx);
		bhqt.probe_ctx = NULL;
		pr_err("cannot create context bhqt-probe: %d\n", err);
		return err;
	}
	err = bhqt_probe_bh_init(&bhqt.probe_nonidle);
	return err ?: bhqt_probe_bh_init(&bhqt.probe_idle);
}
