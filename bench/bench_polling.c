// SPDX-License-Identifier: GPL-2.0
/*
 * Polling: what the adaptive polling of bhq_ctx_set_polling() costs once
 * the load stops, and how its window follows a load that changes.  On the
 * per-CPU context of CPU B, the consumer of the cross-CPU rows of
 * bench_dispatch.c, fed by the producer on CPU A; skipped with one CPU,
 * where a producer that spins would starve its consumer.
 *
 * Two windows are measured: bhq_poll's, up to BENCH_POLL_MAX_NS (QEMU's
 * default, the bhq_poll rows of bench_dispatch.c), and bhq_poll_1ms's, up
 * to BHQ_POLL_MAX_NS_LIMIT (1 ms, the largest), which is longer than a
 * wakeup even under TCG.
 *
 * idle: a trickle (one BH every 20 us for 20 ms) grows the window, a
 *	burst of 8 BHs ends it, then 1 s of silence (200 ms if quick).  For
 *	bhq (polling off), bhq_poll and bhq_poll_1ms: the window when the
 *	silence began (window_ns); the CPU time the context's thread ran
 *	for during the silence (cpu_ns) and during the silence after its
 *	first ms (cpu_ns_after_1ms); the thread's polling over the same two
 *	spans (spin_ns, spin_ns_after_1ms, from bhq's spin_ns counter).
 * window: for each window, 3 rounds (1 if quick) of 3 phases of 200 ms
 *	each (50 if quick): a trickle of one BH every 20 us, bursts of 8 BHs
 *	every 200 us, silence.  About 100 "window" lines per phase
 *	(bhq_bench.h): the largest window, the time since the start in us,
 *	the phase, the window then (ctx->poll_ns, within the largest), the
 *	largest window in force since the last line and how many times it
 *	changed (both from the bhq_poll_window tracepoint), and the ns the
 *	thread polled since the last line.
 *
 * The producer paces the BHs by spinning, without waiting for them, so
 * that the thread's idle periods are the gaps of the load, not a wakeup
 * of the producer.  bhq_internal.h is included to read the context's
 * window, settings and thread: bhq's API has no call that gives them.
 */

#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/printk.h>
#include <linux/processor.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/tracepoint.h>

#include <linux/bhq.h>
#include <trace/events/bhq.h>
#include "../kmod/bhq_internal.h"
#include "bhq_bench.h"

/* BHs used in turn, each queued again only once its callback ran. */
#define POLL_ITEMS		64
/*
 * The trickle's gap, us: inside bhq_poll's largest window, beyond a 16 us
 * one, so that a growing window ends at its largest.
 */
#define POLL_TRICKLE_US		20
/* The gap between bursts, us: beyond bhq_poll's largest window. */
#define POLL_BURST_GAP_US	200
#define POLL_BURST		8

struct poll_bench;

/**
 * struct poll_item - one BH of the polling benchmark
 * @bh: the BH, on the context under test
 * @pb: the benchmark it belongs to
 * @busy: queued and its callback not yet run
 */
struct poll_item {
	struct bhq_bh *bh;
	struct poll_bench *pb;
	bool busy;
};

/**
 * struct poll_bench - the polling benchmark's state
 * @ctx: the per-CPU context of CPU B
 * @items: its BHs
 * @next: the item to queue next
 * @outstanding: items queued whose callback has not run yet
 * @max_window: the largest window set since the last sample (tracepoint)
 * @changes: window changes since the last sample (tracepoint)
 */
struct poll_bench {
	struct bhq_ctx *ctx;
	struct poll_item items[POLL_ITEMS];
	unsigned int next;
	atomic_t outstanding;
	atomic64_t max_window;
	atomic_t changes;
};

/**
 * bench_poll_save() - keep a context's polling settings
 * @ctx: a threaded or per-CPU context
 * @saved: where to keep them
 */
void bench_poll_save(struct bhq_ctx *ctx, struct bench_poll_saved *saved)
{
	saved->max_ns = READ_ONCE(ctx->poll_max_ns);
	saved->grow = READ_ONCE(ctx->poll_grow);
	saved->shrink = READ_ONCE(ctx->poll_shrink);
}

/**
 * bench_poll_restore() - put back what bench_poll_save() kept
 * @ctx: the context
 * @saved: its settings
 */
void bench_poll_restore(struct bhq_ctx *ctx, const struct bench_poll_saved *saved)
{
	int err = bhq_ctx_set_polling(ctx, saved->max_ns, saved->grow, saved->shrink);

	if (err)
		pr_warn("bhq_bench: cannot put back the polling of %s: %d\n", ctx->name, err);
}

static void poll_fn(void *opaque)
{
	struct poll_item *it = opaque;
	struct poll_bench *pb = it->pb;

	WRITE_ONCE(it->busy, false);
	atomic_dec(&pb->outstanding);
}

static int poll_timeout(const char *what)
{
	pr_err("bhq_bench: polling: %s within %lu s\n", what, bench_cfg.timeout / HZ);
	return -ETIMEDOUT;
}

/* Queue the next item, once its last callback ran. */
static int poll_queue(struct poll_bench *pb)
{
	struct poll_item *it = &pb->items[pb->next];
	u64 end;

	pb->next = (pb->next + 1) % POLL_ITEMS;
	if (READ_ONCE(it->busy)) {
		end = ktime_get_ns() + jiffies_to_nsecs(bench_cfg.timeout);
		while (READ_ONCE(it->busy)) {
			if (ktime_get_ns() > end)
				return poll_timeout("a BH did not run");
			bench_wait_relax();
		}
	}
	WRITE_ONCE(it->busy, true);
	atomic_inc(&pb->outstanding);
	bhq_bh_schedule(it->bh);
	return 0;
}

/* Spin until every callback ran. */
static int poll_wait_all(struct poll_bench *pb)
{
	u64 end = ktime_get_ns() + jiffies_to_nsecs(bench_cfg.timeout);

	while (atomic_read(&pb->outstanding)) {
		if (ktime_get_ns() > end)
			return poll_timeout("the BHs did not run");
		bench_wait_relax();
	}
	return 0;
}

/* @burst items back to back; then the producer spins for @gap_ns. */
static int poll_burst(struct poll_bench *pb, unsigned int burst, u64 gap_ns)
{
	unsigned int i;
	int err;

	for (i = 0; i < burst; i++) {
		err = poll_queue(pb);
		if (err)
			return err;
	}
	bench_spin_ns(gap_ns);
	return 0;
}

/*
 * The window the thread polls for when it runs out of work: its last one,
 * within the largest; a window left from earlier settings is not used.
 */
static u64 poll_window_ns(struct bhq_ctx *ctx)
{
	return min(READ_ONCE(ctx->poll_ns), READ_ONCE(ctx->poll_max_ns));
}

/* ---- idle: the silence after a burst ----------------------------------- */

enum {
	IDLE_WINDOW,
	IDLE_CPU,
	IDLE_CPU_AFTER_1MS,
	IDLE_SPIN,
	IDLE_SPIN_AFTER_1MS,
	IDLE_NR_FIGS,
};

static const char *const idle_metrics[] = {
	[IDLE_WINDOW]		= "window_ns",
	[IDLE_CPU]		= "cpu_ns",
	[IDLE_CPU_AFTER_1MS]	= "cpu_ns_after_1ms",
	[IDLE_SPIN]		= "spin_ns",
	[IDLE_SPIN_AFTER_1MS]	= "spin_ns_after_1ms",
};

static_assert(ARRAY_SIZE(idle_metrics) == IDLE_NR_FIGS);

/* The mechanisms measured: polling off, and the two windows. */
static const struct {
	const char *name;
	u64 max_ns;
} poll_mechs[] = {
	{ .name = "bhq", .max_ns = 0 },
	{ .name = "bhq_poll", .max_ns = BENCH_POLL_MAX_NS },
	{ .name = "bhq_poll_1ms", .max_ns = BHQ_POLL_MAX_NS_LIMIT },
};

#define POLL_NR_MECHS	ARRAY_SIZE(poll_mechs)

/* The silence, in ms. */
static unsigned int idle_ms(void)
{
	return bench_cfg.quick ? 200 : 1000;
}

/* Sleep until @t (ktime_get_ns()), at least a little. */
static void poll_sleep_until(u64 t)
{
	u64 now = ktime_get_ns();

	if (t > now + 2 * NSEC_PER_MSEC)
		msleep(div_u64(t - now, NSEC_PER_MSEC) - 1);
	while (ktime_get_ns() < t)
		usleep_range(100, 200);
}

/*
 * One repetition: trickle, burst, silence; the thread's CPU time and
 * polling during the silence, in thousandths of ns, into
 * @fig[IDLE_NR_FIGS].
 */
static int poll_idle(struct poll_bench *pb, u64 max_ns, u64 *fig)
{
	struct task_struct *thread = pb->ctx->thread;
	struct bhq_stats st0, st1, st2;
	u64 t0, cpu0, cpu1, cpu2, end;
	int err;

	err = bhq_ctx_set_polling(pb->ctx, max_ns, 0, 0);
	if (err)
		return err;
	/* Asleep, so that the trickle starts from the same window each time. */
	usleep_range(2000, 3000);
	end = ktime_get_ns() + 20 * NSEC_PER_MSEC;
	while (!err && ktime_get_ns() < end)
		err = poll_burst(pb, 1, POLL_TRICKLE_US * NSEC_PER_USEC);
	if (!err)
		err = poll_burst(pb, POLL_BURST, 0);
	if (!err)
		err = poll_wait_all(pb);
	if (err)
		goto out;

	t0 = ktime_get_ns();
	cpu0 = bench_task_cpu_ns(thread);
	bhq_ctx_get_stats(pb->ctx, &st0);
	fig[IDLE_WINDOW] = poll_window_ns(pb->ctx) * 1000;
	poll_sleep_until(t0 + NSEC_PER_MSEC);
	cpu1 = bench_task_cpu_ns(thread);
	bhq_ctx_get_stats(pb->ctx, &st1);
	poll_sleep_until(t0 + (u64)idle_ms() * NSEC_PER_MSEC);
	cpu2 = bench_task_cpu_ns(thread);
	bhq_ctx_get_stats(pb->ctx, &st2);

	fig[IDLE_CPU] = (cpu2 - cpu0) * 1000;
	fig[IDLE_CPU_AFTER_1MS] = (cpu2 - cpu1) * 1000;
	fig[IDLE_SPIN] = (st2.spin_ns - st0.spin_ns) * 1000;
	fig[IDLE_SPIN_AFTER_1MS] = (st2.spin_ns - st1.spin_ns) * 1000;
out:
	bhq_ctx_set_polling(pb->ctx, 0, 0, 0);
	return err;
}

static int poll_idle_all(struct poll_bench *pb)
{
	unsigned int reps = bench_cfg.reps, r, j, i, f;
	u64 fig[IDLE_NR_FIGS];
	char param[24];
	int err = 0;
	u64 *v;

	v = kcalloc(POLL_NR_MECHS * IDLE_NR_FIGS * reps, sizeof(*v), GFP_KERNEL);
	if (!v)
		return -ENOMEM;
	for (r = 0; r < reps; r++) {
		for (j = 0; j < POLL_NR_MECHS; j++) {
			i = (j + r) % POLL_NR_MECHS;
			err = poll_idle(pb, poll_mechs[i].max_ns, fig);
			if (err)
				goto out;
			for (f = 0; f < IDLE_NR_FIGS; f++)
				v[(i * IDLE_NR_FIGS + f) * reps + r] = fig[f];
		}
	}
	snprintf(param, sizeof(param), "silence=%ums", idle_ms());
	for (i = 0; i < POLL_NR_MECHS; i++) {
		for (f = 0; f < IDLE_NR_FIGS; f++)
			bench_emit_reps("idle", poll_mechs[i].name, param, idle_metrics[f],
					&v[(i * IDLE_NR_FIGS + f) * reps], "ns");
	}
out:
	kfree(v);
	return err;
}

/* ---- window: the window over a changing load --------------------------- */

/* The phases of one round; a burst of 0 is silence. */
static const struct {
	const char *name;
	unsigned int burst;
	u64 gap_ns;
} poll_phases[] = {
	{ .name = "trickle", .burst = 1, .gap_ns = POLL_TRICKLE_US * NSEC_PER_USEC },
	{ .name = "bursts", .burst = POLL_BURST, .gap_ns = POLL_BURST_GAP_US * NSEC_PER_USEC },
	{ .name = "silence" },
};

/**
 * struct poll_sampler - where the window lines are
 * @max_ns: the largest window
 * @period: the time between two lines
 * @start: when the load began
 * @next: when the next line is due
 * @window: the window at the last line
 * @spin_ns: the spin_ns counter at the last line
 */
struct poll_sampler {
	u64 max_ns;
	u64 period;
	u64 start;
	u64 next;
	u64 window;
	u64 spin_ns;
};

/* Called by bhq's thread when its window changes. */
static void poll_window_probe(void *data, struct bhq_ctx *ctx, u64 old_ns, u64 new_ns,
			      u64 block_ns)
{
	struct poll_bench *pb = data;
	s64 seen;

	if (ctx != pb->ctx)
		return;
	atomic_inc(&pb->changes);
	seen = atomic64_read(&pb->max_window);
	while ((s64)new_ns > seen && !atomic64_try_cmpxchg(&pb->max_window, &seen, new_ns))
		;
}

/* A window line, if one is due. */
static void poll_sample(struct poll_bench *pb, struct poll_sampler *ps, const char *phase)
{
	u64 now = ktime_get_ns(), window, max_set;
	struct bhq_stats st;
	int changes;

	if (now < ps->next)
		return;
	ps->next = max(ps->next + ps->period, now);
	/* The changes first: one after this read shows in the window. */
	max_set = atomic64_xchg(&pb->max_window, 0);
	changes = atomic_xchg(&pb->changes, 0);
	window = poll_window_ns(pb->ctx);
	bhq_ctx_get_stats(pb->ctx, &st);
	bench_out("window,%llu,%llu,%s,%llu,%llu,%d,%llu", ps->max_ns,
		  div_u64(now - ps->start, NSEC_PER_USEC), phase, window,
		  max(ps->window, max_set), changes, st.spin_ns - ps->spin_ns);
	ps->window = window;
	ps->spin_ns = st.spin_ns;
}

/* The phases, 100 lines each, with windows up to @max_ns. */
static int poll_window_run(struct poll_bench *pb, u64 max_ns, u64 phase_ns,
			   unsigned int rounds)
{
	unsigned int r, p;
	struct poll_sampler ps = { .max_ns = max_ns, .period = phase_ns / 100 };
	struct bhq_stats st;
	u64 end;
	int err;

	err = bhq_ctx_set_polling(pb->ctx, max_ns, 0, 0);
	if (err)
		return err;
	/* Asleep, as before a silence. */
	usleep_range(2000, 3000);
	atomic64_set(&pb->max_window, 0);
	atomic_set(&pb->changes, 0);
	bhq_ctx_get_stats(pb->ctx, &st);
	ps.window = poll_window_ns(pb->ctx);
	ps.spin_ns = st.spin_ns;
	ps.start = ktime_get_ns();
	ps.next = ps.start;
	for (r = 0; r < rounds && !err; r++) {
		for (p = 0; p < ARRAY_SIZE(poll_phases) && !err; p++) {
			end = ktime_get_ns() + phase_ns;
			while (!err && ktime_get_ns() < end) {
				poll_sample(pb, &ps, poll_phases[p].name);
				if (poll_phases[p].burst)
					err = poll_burst(pb, poll_phases[p].burst,
							 poll_phases[p].gap_ns);
				else
					usleep_range(500, 600);
				cond_resched();
			}
		}
	}
	if (!err)
		err = poll_wait_all(pb);
	bhq_ctx_set_polling(pb->ctx, 0, 0, 0);
	return err;
}

static int poll_window(struct poll_bench *pb)
{
	u64 phase_ns = (bench_cfg.quick ? 50 : 200) * NSEC_PER_MSEC;
	unsigned int rounds = bench_cfg.quick ? 1 : 3, i;
	bool traced;
	int err;

	err = register_trace_bhq_poll_window(poll_window_probe, pb);
	traced = !err;
	bench_out("info,poll_window_trace,%s", traced ? "ok" : "unavailable");
	if (!traced)
		pr_info("bhq_bench: bhq_poll_window not traced (%d): no changes between samples\n",
			err);
	bench_out("info,poll_rounds,%u", bench_cfg.quick ? 1 : 3);
	bench_out("info,poll_phase_ms,%llu", div_u64(phase_ns, NSEC_PER_MSEC));
	err = 0;
	for (i = 0; i < POLL_NR_MECHS && !err; i++) {
		if (poll_mechs[i].max_ns)
			err = poll_window_run(pb, poll_mechs[i].max_ns, phase_ns, rounds);
	}
	if (traced) {
		unregister_trace_bhq_poll_window(poll_window_probe, pb);
		tracepoint_synchronize_unregister();
	}
	return err;
}

/**
 * bench_polling() - the idle and window benchmarks of polling
 *
 * Puts the context's polling settings back as they were.
 *
 * Return: 0, -ENOMEM, -EINVAL, or -ETIMEDOUT if a BH did not run.
 */
int bench_polling(void)
{
	struct bench_poll_saved saved;
	struct poll_bench *pb;
	unsigned int i;
	int err = 0;

	if (bench_cfg.cpu_b < 0) {
		bench_out("info,polling,skipped: one CPU");
		return 0;
	}
	pb = kzalloc(sizeof(*pb), GFP_KERNEL);
	if (!pb)
		return -ENOMEM;
	pb->ctx = bhq_cpu_ctx(bench_cfg.cpu_b);
	if (!pb->ctx) {
		kfree(pb);
		return -EINVAL;
	}
	for (i = 0; i < POLL_ITEMS; i++) {
		pb->items[i].pb = pb;
		pb->items[i].bh = bhq_bh_new(pb->ctx, poll_fn, &pb->items[i]);
		if (!pb->items[i].bh) {
			err = -ENOMEM;
			goto out;
		}
	}
	bench_poll_save(pb->ctx, &saved);
	bench_out("info,poll_trickle_us,%u", POLL_TRICKLE_US);
	bench_out("info,poll_burst,%u", POLL_BURST);
	bench_out("info,poll_burst_gap_us,%u", POLL_BURST_GAP_US);
	bench_out("info,idle_ms,%u", idle_ms());
	err = poll_idle_all(pb);
	if (!err)
		err = poll_window(pb);
	bench_poll_restore(pb->ctx, &saved);
out:
	for (i = 0; i < POLL_ITEMS && pb->items[i].bh; i++)
		bhq_bh_delete(pb->items[i].bh);
	/* Deleted BHs are freed by the thread's next poll. */
	bhq_ctx_flush(pb->ctx);
	kfree(pb);
	return err;
}
