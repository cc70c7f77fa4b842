// SPDX-License-Identifier: GPL-2.0
/*
 * Dispatch benchmarks: throughput, latency and wakeups of bhq next to the
 * kernel's deferral mechanisms, all driven by the same producer code and
 * running the same callback, bench_ran().
 *
 * Mechanisms ("mech" in the results):
 *	bhq		a bhq per-CPU context, run by its kthread bhq/N, with
 *			polling off (bhq_ctx_set_polling(ctx, 0, 0, 0))
 *	bhq_poll	the same context and thread with polling on: before it
 *			sleeps the thread polls for up to its window, which
 *			adapts up to BENCH_POLL_MAX_NS (QEMU's IOThread
 *			default), with the default grow and shrink
 *	bhq_manual	a bhq manual context, polled by the producer itself
 *	kthread_worker	kthread_create_worker_on_cpu()
 *	workqueue	a per-CPU (bound) workqueue and queue_work_on()
 *	bh_workqueue	system_bh_wq and queue_work_on(): softirq context (6.9
 *			and later)
 *	irq_work	irq_work_queue() on the producer's own CPU only, as
 *			irq_work_queue_on() is not exported to modules
 *	llist_floor	llist_add(), then llist_del_all(), llist_reverse_order()
 *			and an indirect call, in the producer: the cheapest
 *			that any llist-based queue can be
 *
 * The producer runs on CPU A.  "same" benchmarks run the consumer on CPU
 * A too, "cross" ones on CPU B.  bhq and bhq_poll share their CPU's
 * per-CPU context: each of their measurements first sets its polling
 * (bench_begin()), bhq_poll's turns it off after, and the context's
 * settings at the start are put back at the end.
 *
 * throughput: dispatches per second.  self: one item queues itself again
 *	from its callback, in 16 chains of 2048 dispatches (same CPU only).
 *	K=n: rounds of n distinct items queued back to back, then waited
 *	for: the producer sleeps on a completion, or runs the queue itself
 *	for bhq_manual and llist_floor; as many rounds as fit in 250 ms (20
 *	ms if quick), up to 16384 items.  A repetition's figure is the
 *	median rate of its chains, or of its windows of 16 rounds.  For the
 *	mechanisms with a consumer thread of their own (bhq, bhq_poll,
 *	kthread_worker), also the CPU time that thread ran for per item.
 * latency: ns from just before the queue call to the start of the
 *	callback, one item at a time.  lat_same and lat_cross: with a pause
 *	of 50 to 100 us between samples so that every sample finds the
 *	consumer asleep.  lat_cross_10us: the producer spins until the
 *	callback ran, then BENCH_PACE_NS (10 us) more, so that the consumer
 *	was idle for less than a polling window.
 * wakeups: a trickle (one item, then a pause of 200 us) and bursts (8 or
 *	64 items back to back, then a pause of 1 ms), on CPU B; and, across
 *	CPUs only, the same paced by a spinning producer (trickle/10us: one
 *	item, then 10 us; burst=8/10us: 8 items, then 10 us), without
 *	waiting for the callbacks.  Counted: the consumer thread's voluntary
 *	context switches per item (each one is a sleep that one wakeup
 *	ended), for bhq, bhq_poll and kthread_worker, bhq's own counter of
 *	wake_up_process() calls that woke its thread, per item, and the
 *	consumer thread's CPU time per item.
 */

#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/irq_work.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/limits.h>
#include <linux/llist.h>
#include <linux/math64.h>
#include <linux/printk.h>
#include <linux/processor.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include <linux/bhq.h>
#include "bhq_bench.h"

/*
 * system_bh_wq came with 6.9; bench/Kbuild defines BENCH_HAVE_BH_WQ when
 * the kernel's headers declare it.  Older kernels have no bh_workqueue.
 */
#ifdef BENCH_HAVE_BH_WQ
#define BENCH_BH_WQ	true
#else
#define BENCH_BH_WQ	false
#endif

enum bench_mech {
	MECH_BHQ,
	MECH_BHQ_POLL,
	MECH_BHQ_MANUAL,
	MECH_KWORKER,
	MECH_WQ,
	MECH_BH_WQ,
	MECH_IRQ_WORK,
	MECH_FLOOR,
	NR_MECHS,
};

/**
 * struct bench_mech_info - what a mechanism is and can do
 * @name: its name in the results
 * @threaded: run by another context than the producer, which waits for it
 * @cross: can run on another CPU than the producer's
 * @own_thread: its callbacks run in a thread of its own, whose CPU time
 *	is the mechanism's (not a workqueue's shared workers, not an
 *	interrupted task)
 */
struct bench_mech_info {
	const char *name;
	bool threaded;
	bool cross;
	bool own_thread;
};

static const struct bench_mech_info bench_mechs[] = {
	[MECH_BHQ]		= { .name = "bhq", .threaded = true, .cross = true,
				    .own_thread = true },
	[MECH_BHQ_POLL]		= { .name = "bhq_poll", .threaded = true, .cross = true,
				    .own_thread = true },
	[MECH_BHQ_MANUAL]	= { .name = "bhq_manual", .threaded = false, .cross = false },
	[MECH_KWORKER]		= { .name = "kthread_worker", .threaded = true, .cross = true,
				    .own_thread = true },
	[MECH_WQ]		= { .name = "workqueue", .threaded = true, .cross = true },
	[MECH_BH_WQ]		= { .name = "bh_workqueue", .threaded = true, .cross = true },
	[MECH_IRQ_WORK]		= { .name = "irq_work", .threaded = true, .cross = false },
	[MECH_FLOOR]		= { .name = "llist_floor", .threaded = false, .cross = false },
};

static_assert(ARRAY_SIZE(bench_mechs) == NR_MECHS);

enum bench_mode {
	MODE_BATCH,	/* count down, complete at zero */
	MODE_SELF,	/* queue the item again until @chain_left reaches zero */
	MODE_LATENCY,	/* record the time from queue to callback */
};

/* Items of one set, the largest batch. */
#define BENCH_MAX_K	256
/* Throughput is measured over windows of this many rounds; at most... */
#define BENCH_WIN_ROUNDS	16
/* ...this many windows per figure. */
#define BENCH_MAX_WINS		1024
static const unsigned int bench_ks[] = { 1, 16, BENCH_MAX_K };

/* The sides: consumer on the producer's CPU, or on the other one. */
enum { SIDE_SAME, SIDE_CROSS, NR_SIDES };

struct bench_set;

/**
 * struct bench_item - one deferred call, of any mechanism
 * @bh: the BH of bhq, bhq_poll and bhq_manual
 * @kw: the work of kthread_worker
 * @work: the work of workqueue and bh_workqueue
 * @iw: the irq_work
 * @node: the llist node of llist_floor
 * @set: the set it belongs to
 * @t_sched: when it was queued (latency)
 * @busy: queued and its callback not yet run (set by bench_paced())
 */
struct bench_item {
	union {
		struct bhq_bh *bh;
		struct kthread_work kw;
		struct work_struct work;
		struct irq_work iw;
		struct llist_node node;
	};
	struct bench_set *set;
	u64 t_sched;
	bool busy;
};

/**
 * struct bench_set - one mechanism on one CPU, with its items
 * @mech: the mechanism
 * @threaded: bench_mechs[@mech].threaded
 * @cpu: the CPU its callbacks run on
 * @mode: what bench_ran() does
 * @spin: the producer spins on @remaining: @done is not completed
 * @items: BENCH_MAX_K items
 * @ctx: bhq's context
 * @worker: the kthread_worker
 * @wq: the bound workqueue
 * @floor: llist_floor's list
 * @floor_fn: llist_floor's indirect call
 * @remaining: callbacks still to run in this round
 * @done: completed when @remaining reaches zero (threaded mechanisms)
 * @chain_left: MODE_SELF: dispatches still to run in this chain
 * @t_end: MODE_SELF: when the last one ran
 * @lat_ns: MODE_LATENCY: the last sample
 * @consumer: the task that ran the first callback
 * @rates: the rates of the windows, or of the chains, of one throughput figure
 */
struct bench_set {
	enum bench_mech mech;
	bool threaded;
	unsigned int cpu;
	enum bench_mode mode;
	bool spin;
	struct bench_item *items;
	struct bhq_ctx *ctx;
	struct kthread_worker *worker;
	struct workqueue_struct *wq;
	struct llist_head floor;
	void (*floor_fn)(struct bench_item *it);
	atomic_t remaining;
	struct completion done;
	unsigned int chain_left;
	u64 t_end;
	u64 lat_ns;
	struct task_struct *consumer;
	u64 *rates;
};

static void bench_queue(struct bench_set *s, struct bench_item *it)
{
	switch (s->mech) {
	case MECH_BHQ:
	case MECH_BHQ_POLL:
	case MECH_BHQ_MANUAL:
		bhq_bh_schedule(it->bh);
		break;
	case MECH_KWORKER:
		kthread_queue_work(s->worker, &it->kw);
		break;
	case MECH_WQ:
		queue_work_on(s->cpu, s->wq, &it->work);
		break;
	case MECH_BH_WQ:
#ifdef BENCH_HAVE_BH_WQ
		queue_work_on(s->cpu, system_bh_wq, &it->work);
#endif
		break;
	case MECH_IRQ_WORK:
		irq_work_queue(&it->iw);
		break;
	case MECH_FLOOR:
		llist_add(&it->node, &s->floor);
		break;
	case NR_MECHS:
		break;
	}
}

/*
 * The one callback of every mechanism.  Once @remaining reaches zero the
 * producer may arm the set again: nothing of @s is read after that.
 */
static void bench_ran(struct bench_item *it)
{
	struct bench_set *s = it->set;
	bool notify = s->threaded && !s->spin;

	if (s->mode == MODE_LATENCY) {
		s->lat_ns = ktime_get_ns() - it->t_sched;
	} else if (s->mode == MODE_SELF) {
		if (--s->chain_left) {
			bench_queue(s, it);
			return;
		}
		s->t_end = ktime_get_ns();
	}
	if (unlikely(!READ_ONCE(s->consumer)))
		WRITE_ONCE(s->consumer, current);
	WRITE_ONCE(it->busy, false);
	if (atomic_dec_and_test(&s->remaining) && notify)
		complete(&s->done);
}

static void bench_bhq_fn(void *opaque)
{
	bench_ran(opaque);
}

static void bench_kw_fn(struct kthread_work *kw)
{
	bench_ran(container_of(kw, struct bench_item, kw));
}

static void bench_work_fn(struct work_struct *work)
{
	bench_ran(container_of(work, struct bench_item, work));
}

static void bench_irq_work_fn(struct irq_work *iw)
{
	bench_ran(container_of(iw, struct bench_item, iw));
}

static void bench_floor_fn(struct bench_item *it)
{
	bench_ran(it);
}

/* Run the queue of bhq_manual or llist_floor in the producer. */
static void bench_drive(struct bench_set *s)
{
	struct bench_item *it, *next;
	struct llist_node *first;

	if (s->mech == MECH_BHQ_MANUAL) {
		while (bhq_poll(s->ctx))
			;
		return;
	}
	while ((first = llist_del_all(&s->floor))) {
		first = llist_reverse_order(first);
		llist_for_each_entry_safe(it, next, first, node)
			s->floor_fn(it);
	}
}

/* Wait, boundedly, until the round's callbacks have run. */
static int bench_wait(struct bench_set *s)
{
	if (!s->threaded)
		bench_drive(s);
	else if (!wait_for_completion_timeout(&s->done, bench_cfg.timeout))
		goto timeout;
	if (!atomic_read(&s->remaining))
		return 0;
timeout:
	pr_err("bhq_bench: %s on CPU %u: %d callbacks did not run within %lu s\n",
	       bench_mechs[s->mech].name, s->cpu, atomic_read(&s->remaining),
	       bench_cfg.timeout / HZ);
	return -ETIMEDOUT;
}

/*
 * Arm @s for @n callbacks in @mode.  With @spin the producer waits with
 * bench_spin_done(), without sleeping: @done is left alone.
 */
static void bench_arm(struct bench_set *s, enum bench_mode mode, unsigned int n, bool spin)
{
	s->mode = mode;
	s->spin = spin;
	reinit_completion(&s->done);
	atomic_set(&s->remaining, n);
}

static int bench_spin_timeout(struct bench_set *s, const char *what)
{
	pr_err("bhq_bench: %s on CPU %u: %s within %lu s\n", bench_mechs[s->mech].name,
	       s->cpu, what, bench_cfg.timeout / HZ);
	return -ETIMEDOUT;
}

/* Spin, boundedly, until the callbacks armed with @spin have run. */
static int bench_spin_done(struct bench_set *s)
{
	u64 end = ktime_get_ns() + jiffies_to_nsecs(bench_cfg.timeout);

	/* Acquire: what the callbacks wrote before their decrement. */
	while (atomic_read_acquire(&s->remaining)) {
		if (ktime_get_ns() > end)
			return bench_spin_timeout(s, "callbacks did not run");
		bench_wait_relax();
	}
	return 0;
}

/**
 * bench_paced() - bursts of items paced by a spinning producer
 * @s: the set, its consumer on another CPU than the producer
 * @burst: items queued back to back
 * @rounds: bursts
 * @gap_ns: how long the producer spins after each burst
 *
 * The producer does not wait for the callbacks between bursts, so the
 * consumer's idle periods are about @gap_ns, however long a wakeup takes;
 * the items are used in turn, each only once its callback ran.  At the
 * end, waits until every callback ran.
 *
 * Return: 0 or -ETIMEDOUT.
 */
static int bench_paced(struct bench_set *s, unsigned int burst, unsigned int rounds,
		       u64 gap_ns)
{
	u64 end = ktime_get_ns() + jiffies_to_nsecs(bench_cfg.timeout);
	unsigned int r, i, next = 0;
	struct bench_item *it;

	bench_arm(s, MODE_BATCH, burst * rounds, true);
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < burst; i++) {
			it = &s->items[next];
			next = (next + 1) % BENCH_MAX_K;
			while (READ_ONCE(it->busy)) {
				if (ktime_get_ns() > end)
					return bench_spin_timeout(s, "an item did not run");
				bench_wait_relax();
			}
			WRITE_ONCE(it->busy, true);
			bench_queue(s, it);
		}
		bench_spin_ns(gap_ns);
		cond_resched();
	}
	return bench_spin_done(s);
}

/*
 * Before a measurement of bhq or bhq_poll: set the polling of their
 * shared context, off for bhq, on for bhq_poll.  A change reaches the
 * thread at its next idle period.
 */
static int bench_begin(struct bench_set *s)
{
	switch (s->mech) {
	case MECH_BHQ:
		return bhq_ctx_set_polling(s->ctx, 0, 0, 0);
	case MECH_BHQ_POLL:
		return bhq_ctx_set_polling(s->ctx, BENCH_POLL_MAX_NS, 0, 0);
	default:
		return 0;
	}
}

/* After a measurement: bhq_poll's context polls no more. */
static void bench_end(struct bench_set *s)
{
	if (s->mech == MECH_BHQ_POLL)
		bhq_ctx_set_polling(s->ctx, 0, 0, 0);
}

/* bhq's spin_ns counter of the set's context, 0 for other mechanisms. */
static u64 bench_spin_total(struct bench_set *s)
{
	struct bhq_stats stats;

	if (s->mech != MECH_BHQ && s->mech != MECH_BHQ_POLL)
		return 0;
	bhq_ctx_get_stats(s->ctx, &stats);
	return stats.spin_ns;
}

/* The CPU time of the set's consumer thread, 0 if it has none. */
static u64 bench_consumer_cpu_ns(struct bench_set *s)
{
	struct task_struct *consumer = READ_ONCE(s->consumer);

	if (!bench_mechs[s->mech].own_thread || !consumer)
		return 0;
	return bench_task_cpu_ns(consumer);
}

/* The median of @n window rates (sorted in place), 0 for none. */
static u64 bench_median(u64 *v, unsigned int n)
{
	struct bench_fig fig;

	if (!n)
		return 0;
	bench_fig_of(v, n, &fig);
	return fig.med;
}

/**
 * bench_batch() - run rounds of @k distinct items
 * @s: the set
 * @k: items per round, at most BENCH_MAX_K
 * @rounds: at most this many rounds
 * @budget: stop at the end of a window once this many ns passed
 * @rate: if not NULL, the median dispatch rate of the windows of
 *	BENCH_WIN_ROUNDS rounds, in thousandths per second
 *
 * A slow mechanism (or host) cannot stretch the run much beyond @budget.
 * The median window ignores the windows in which the host ran another
 * job instead of a vCPU, as long as they are fewer than half.
 *
 * Return: the number of rounds run, or -ETIMEDOUT.
 */
static int bench_batch(struct bench_set *s, unsigned int k, unsigned int rounds,
		       u64 budget, u64 *rate)
{
	u64 t_start = ktime_get_ns(), t_window = t_start, now;
	unsigned int r, i, wins = 0;
	int err;

	for (r = 0; r < rounds; r++) {
		bench_arm(s, MODE_BATCH, k, false);
		for (i = 0; i < k; i++)
			bench_queue(s, &s->items[i]);
		err = bench_wait(s);
		if (err)
			return err;
		if (r % BENCH_WIN_ROUNDS != BENCH_WIN_ROUNDS - 1)
			continue;
		now = ktime_get_ns();
		if (wins < BENCH_MAX_WINS)
			s->rates[wins++] = bench_rate(BENCH_WIN_ROUNDS * k, now - t_window);
		t_window = now;
		if (now - t_start > budget) {
			r++;
			break;
		}
	}
	if (rate)
		*rate = bench_median(s->rates, wins);
	return r;
}

/* Chains of one self-queueing item, and the dispatches of each. */
#define BENCH_SELF_CHAINS	16

/**
 * bench_self() - chains of one item that queues itself again
 * @s: the set
 * @m: dispatches in all, in BENCH_SELF_CHAINS chains
 * @rate: the median dispatch rate of the chains, in thousandths per second
 *
 * Return: 0 or -ETIMEDOUT.
 */
static int bench_self(struct bench_set *s, unsigned int m, u64 *rate)
{
	unsigned int per = m / BENCH_SELF_CHAINS, c;
	u64 t_start;
	int err;

	for (c = 0; c < BENCH_SELF_CHAINS; c++) {
		bench_arm(s, MODE_SELF, 1, false);
		s->chain_left = per;
		t_start = ktime_get_ns();
		bench_queue(s, &s->items[0]);
		err = bench_wait(s);
		if (err)
			return err;
		s->rates[c] = bench_rate(per, s->t_end - t_start);
	}
	*rate = bench_median(s->rates, BENCH_SELF_CHAINS);
	return 0;
}

static void bench_set_free(struct bench_set *s)
{
	unsigned int i;

	if (!s)
		return;
	switch (s->mech) {
	case MECH_BHQ:
	case MECH_BHQ_POLL:
	case MECH_BHQ_MANUAL:
		if (!s->ctx)
			break;
		for (i = 0; i < BENCH_MAX_K; i++)
			bhq_bh_delete(s->items[i].bh);
		/* Deleted BHs are freed by the next poll: flush, or drain. */
		if (s->mech != MECH_BHQ_MANUAL)
			bhq_ctx_flush(s->ctx);
		else
			bhq_ctx_destroy(s->ctx);
		break;
	case MECH_KWORKER:
		if (s->worker) {
			kthread_flush_worker(s->worker);
			kthread_destroy_worker(s->worker);
		}
		break;
	case MECH_WQ:
		if (s->wq)
			destroy_workqueue(s->wq);
		break;
	case MECH_BH_WQ:
		for (i = 0; i < BENCH_MAX_K; i++)
			flush_work(&s->items[i].work);
		break;
	case MECH_IRQ_WORK:
		for (i = 0; i < BENCH_MAX_K; i++)
			irq_work_sync(&s->items[i].iw);
		break;
	case MECH_FLOOR:
	case NR_MECHS:
		break;
	}
	kfree(s->rates);
	kfree(s->items);
	kfree(s);
}

/* Create the mechanism's instance on @cpu. */
static int bench_set_init_mech(struct bench_set *s)
{
	struct kthread_worker *worker;
	struct bhq_ctx *ctx;

	switch (s->mech) {
	case MECH_BHQ:
	case MECH_BHQ_POLL:
		s->ctx = bhq_cpu_ctx(s->cpu);
		return s->ctx ? 0 : -EINVAL;
	case MECH_BHQ_MANUAL:
		ctx = bhq_ctx_create("bhq_bench", BHQ_CTX_MANUAL);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
		s->ctx = ctx;
		return 0;
	case MECH_KWORKER:
		worker = kthread_create_worker_on_cpu(s->cpu, 0, "bhq_bench_kw/%u", s->cpu);
		if (IS_ERR(worker))
			return PTR_ERR(worker);
		s->worker = worker;
		return 0;
	case MECH_WQ:
		s->wq = alloc_workqueue("bhq_bench_wq%u", 0, 0, s->cpu);
		return s->wq ? 0 : -ENOMEM;
	case MECH_FLOOR:
		init_llist_head(&s->floor);
		s->floor_fn = bench_floor_fn;
		return 0;
	case MECH_BH_WQ:
	case MECH_IRQ_WORK:
	case NR_MECHS:
		break;
	}
	return 0;
}

static struct bench_set *bench_set_new(enum bench_mech mech, unsigned int cpu)
{
	struct bench_set *s;
	struct bench_item *it;
	unsigned int i;
	int err;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return ERR_PTR(-ENOMEM);
	s->mech = mech;
	s->threaded = bench_mechs[mech].threaded;
	s->cpu = cpu;
	init_completion(&s->done);
	s->items = kcalloc(BENCH_MAX_K, sizeof(*s->items), GFP_KERNEL);
	s->rates = kcalloc(BENCH_MAX_WINS, sizeof(*s->rates), GFP_KERNEL);
	if (!s->items || !s->rates) {
		kfree(s->rates);
		kfree(s->items);
		kfree(s);
		return ERR_PTR(-ENOMEM);
	}
	err = bench_set_init_mech(s);
	for (i = 0; !err && i < BENCH_MAX_K; i++) {
		it = &s->items[i];
		it->set = s;
		switch (mech) {
		case MECH_BHQ:
		case MECH_BHQ_POLL:
		case MECH_BHQ_MANUAL:
			it->bh = bhq_bh_new(s->ctx, bench_bhq_fn, it);
			if (!it->bh)
				err = -ENOMEM;
			break;
		case MECH_KWORKER:
			kthread_init_work(&it->kw, bench_kw_fn);
			break;
		case MECH_WQ:
		case MECH_BH_WQ:
			INIT_WORK(&it->work, bench_work_fn);
			break;
		case MECH_IRQ_WORK:
			init_irq_work(&it->iw, bench_irq_work_fn);
			break;
		case MECH_FLOOR:
		case NR_MECHS:
			break;
		}
	}
	if (err) {
		pr_err("bhq_bench: cannot set up %s on CPU %u: %d\n",
		       bench_mechs[mech].name, cpu, err);
		bench_set_free(s);
		return ERR_PTR(err);
	}
	return s;
}

/* ---- throughput -------------------------------------------------------- */

/* Scenarios: self, then one per entry of bench_ks. */
#define TP_SELF		0
#define TP_NR		(1 + ARRAY_SIZE(bench_ks))

static u64 *tp_slot(u64 *v, unsigned int side, unsigned int sc, unsigned int m)
{
	return &v[((side * TP_NR + sc) * NR_MECHS + m) * bench_cfg.reps];
}

/*
 * One figure of scenario @sc: the dispatch rate, the CPU time of the
 * consumer thread per item (0 if the mechanism has no thread of its own)
 * and the ns bhq's thread polled per item.
 */
static int tp_measure(struct bench_set *s, unsigned int sc, u64 *rate, u64 *cpu, u64 *spin)
{
	u64 cpu_start = bench_consumer_cpu_ns(s), spin_start = bench_spin_total(s), items;
	unsigned int k, rounds, m;
	int err;

	if (sc == TP_SELF) {
		m = bench_cfg.quick ? 2048 : 32768;
		err = bench_self(s, m, rate);
		items = m / BENCH_SELF_CHAINS * BENCH_SELF_CHAINS;
	} else {
		k = bench_ks[sc - 1];
		rounds = max((bench_cfg.quick ? 1024U : 16384U) / k, 4 * BENCH_WIN_ROUNDS);
		err = bench_batch(s, k, rounds, (bench_cfg.quick ? 20 : 250) * NSEC_PER_MSEC,
				  rate);
		items = (u64)max(err, 0) * k;
	}
	if (err < 0)
		return err;
	*cpu = bench_per_op(bench_consumer_cpu_ns(s) - cpu_start, items);
	*spin = bench_per_op(bench_spin_total(s) - spin_start, items);
	return 0;
}

static int bench_throughput(struct bench_set *sets[NR_SIDES][NR_MECHS])
{
	unsigned int r, side, sc, m, i;
	size_t n = NR_SIDES * TP_NR * NR_MECHS * bench_cfg.reps;
	u64 *v, *cpu, *spin;
	char param[16];
	int err = 0;

	v = kcalloc(n, sizeof(*v), GFP_KERNEL);
	cpu = kcalloc(n, sizeof(*cpu), GFP_KERNEL);
	spin = kcalloc(n, sizeof(*spin), GFP_KERNEL);
	if (!v || !cpu || !spin) {
		err = -ENOMEM;
		goto out;
	}
	/*
	 * Repetitions outermost, and each starts with another mechanism: a
	 * slow spell of the host hits them all alike.
	 */
	for (r = 0; r < bench_cfg.reps; r++) {
		for (side = 0; side < NR_SIDES; side++) {
			for (sc = side == SIDE_CROSS; sc < TP_NR; sc++) {
				for (i = 0; i < NR_MECHS; i++) {
					m = (i + r) % NR_MECHS;
					if (!sets[side][m])
						continue;
					err = bench_begin(sets[side][m]);
					if (!err)
						err = tp_measure(sets[side][m], sc,
								 &tp_slot(v, side, sc, m)[r],
								 &tp_slot(cpu, side, sc, m)[r],
								 &tp_slot(spin, side, sc, m)[r]);
					bench_end(sets[side][m]);
					if (err)
						goto out;
					cond_resched();
				}
			}
		}
	}
	for (side = 0; side < NR_SIDES; side++) {
		for (sc = side == SIDE_CROSS; sc < TP_NR; sc++) {
			if (sc == TP_SELF)
				snprintf(param, sizeof(param), "self");
			else
				snprintf(param, sizeof(param), "K=%u", bench_ks[sc - 1]);
			for (m = 0; m < NR_MECHS; m++) {
				if (!sets[side][m])
					continue;
				bench_emit_reps(side ? "tput_cross" : "tput_same",
						bench_mechs[m].name, param, "rate",
						tp_slot(v, side, sc, m), "per_s");
				if (bench_mechs[m].own_thread)
					bench_emit_reps(side ? "tput_cross" : "tput_same",
							bench_mechs[m].name, param, "cpu_per_item",
							tp_slot(cpu, side, sc, m), "ns");
				if (m == MECH_BHQ_POLL)
					bench_emit_reps(side ? "tput_cross" : "tput_same",
							bench_mechs[m].name, param, "spin_per_item",
							tp_slot(spin, side, sc, m), "ns");
			}
		}
	}
out:
	kfree(spin);
	kfree(cpu);
	kfree(v);
	return err;
}

/* ---- latency ----------------------------------------------------------- */

static const struct {
	const char *name;
	unsigned int quantile;	/* in units of 0.01 % */
} lat_pcts[] = {
	{ .name = "p50", .quantile = 5000 },
	{ .name = "p99", .quantile = 9900 },
	{ .name = "p99.9", .quantile = 9990 },
};

#define LAT_NR_PCTS	ARRAY_SIZE(lat_pcts)

/*
 * The scenarios: the consumer asleep at every sample, on either side; and
 * across CPUs, idle for BENCH_PACE_NS only.
 */
static const struct {
	const char *bench;
	unsigned int side;
	bool paced;
} lat_scenarios[] = {
	{ .bench = "lat_same", .side = SIDE_SAME },
	{ .bench = "lat_cross", .side = SIDE_CROSS },
	{ .bench = "lat_cross_10us", .side = SIDE_CROSS, .paced = true },
};

#define LAT_NR		ARRAY_SIZE(lat_scenarios)

/* The bench_cfg.reps values of percentile @p of mechanism @m in scenario @sc. */
static u64 *lat_slot(u64 *pct, unsigned int sc, unsigned int m, unsigned int p)
{
	return &pct[((sc * NR_MECHS + m) * LAT_NR_PCTS + p) * bench_cfg.reps];
}

/* The sample at quantile @q (0.01 % units) of @n sorted ones, nearest rank. */
static u64 lat_quantile(const u64 *v, unsigned int n, unsigned int q)
{
	u64 rank = DIV_ROUND_UP_ULL((u64)q * n, 10000);

	return v[clamp_t(u64, rank, 1, n) - 1];
}

/*
 * One repetition: @n samples, each from a sleeping consumer; or, @paced,
 * each BENCH_PACE_NS after the last callback, the producer spinning.
 */
static int lat_run(struct bench_set *s, u64 *v, unsigned int n, bool paced)
{
	struct bench_item *it = &s->items[0];
	unsigned int i;
	int err;

	for (i = 0; i < n; i++) {
		if (paced) {
			cond_resched();
			bench_spin_ns(BENCH_PACE_NS);
		} else {
			usleep_range(50, 100);
		}
		bench_arm(s, MODE_LATENCY, 1, paced);
		it->t_sched = ktime_get_ns();
		bench_queue(s, it);
		err = paced ? bench_spin_done(s) : bench_wait(s);
		if (err)
			return err;
		v[i] = s->lat_ns;
	}
	return 0;
}

/* The distribution: min, every percent, some tail quantiles, max. */
static void lat_cdf(const char *bench, const char *mech, const u64 *v, unsigned int n)
{
	static const unsigned int tail[] = { 50, 9950, 9990, 9995, 9999 };
	unsigned int q, i;

	for (q = 0; q <= 10000; q += 100)
		bench_out("cdf,%s,%s,%u,%llu", bench, mech, q, q ? lat_quantile(v, n, q) : v[0]);
	for (i = 0; i < ARRAY_SIZE(tail); i++)
		bench_out("cdf,%s,%s,%u,%llu", bench, mech, tail[i],
			  lat_quantile(v, n, tail[i]));
}

static int bench_latency(struct bench_set *sets[NR_SIDES][NR_MECHS])
{
	unsigned int reps = bench_cfg.reps, n = bench_cfg.samples;
	u64 *pool[LAT_NR][NR_MECHS] = {};
	unsigned int r, sc, m, p, i;
	struct bench_set *s;
	const char *bench;
	u64 *pct, *rep;
	int err = 0;

	pct = kcalloc(LAT_NR * NR_MECHS * LAT_NR_PCTS * reps, sizeof(*pct), GFP_KERNEL);
	if (!pct)
		return -ENOMEM;
	for (sc = 0; sc < LAT_NR; sc++) {
		for (m = 0; m < NR_MECHS; m++) {
			s = sets[lat_scenarios[sc].side][m];
			if (!s || !s->threaded)
				continue;
			pool[sc][m] = kvmalloc_array((size_t)reps * n, sizeof(u64), GFP_KERNEL);
			if (!pool[sc][m]) {
				err = -ENOMEM;
				goto out;
			}
		}
	}
	for (r = 0; r < reps; r++) {
		for (sc = 0; sc < LAT_NR; sc++) {
			for (i = 0; i < NR_MECHS; i++) {
				m = (i + r) % NR_MECHS;
				if (!pool[sc][m])
					continue;
				s = sets[lat_scenarios[sc].side][m];
				rep = pool[sc][m] + (size_t)r * n;
				err = bench_begin(s);
				if (!err)
					err = lat_run(s, rep, n, lat_scenarios[sc].paced);
				bench_end(s);
				if (err)
					goto out;
				bench_sort(rep, n);
				for (p = 0; p < LAT_NR_PCTS; p++)
					lat_slot(pct, sc, m, p)[r] =
						lat_quantile(rep, n, lat_pcts[p].quantile) * 1000;
			}
		}
	}
	for (sc = 0; sc < LAT_NR; sc++) {
		bench = lat_scenarios[sc].bench;
		for (m = 0; m < NR_MECHS; m++) {
			if (!pool[sc][m])
				continue;
			for (p = 0; p < LAT_NR_PCTS; p++)
				bench_emit_reps(bench, bench_mechs[m].name, lat_pcts[p].name,
						"latency", lat_slot(pct, sc, m, p), "ns");
			bench_sort(pool[sc][m], reps * n);
			lat_cdf(bench, bench_mechs[m].name, pool[sc][m], reps * n);
		}
	}
out:
	for (sc = 0; sc < LAT_NR; sc++) {
		for (m = 0; m < NR_MECHS; m++)
			kvfree(pool[sc][m]);
	}
	kfree(pct);
	return err;
}

/* ---- wakeups ----------------------------------------------------------- */

/*
 * @gap_us: the pause after each burst: a sleep, or, @paced, the producer
 * spinning (bench_paced(), across CPUs only).
 */
static const struct {
	const char *param;
	unsigned int burst;
	unsigned int gap_us;
	unsigned int rounds;
	bool paced;
} wake_scenarios[] = {
	{ .param = "trickle", .burst = 1, .gap_us = 200, .rounds = 400 },
	{ .param = "burst=8", .burst = 8, .gap_us = 1000, .rounds = 100 },
	{ .param = "burst=64", .burst = 64, .gap_us = 1000, .rounds = 50 },
	{ .param = "trickle/10us", .burst = 1, .gap_us = BENCH_PACE_NS / NSEC_PER_USEC,
	  .rounds = 2000, .paced = true },
	{ .param = "burst=8/10us", .burst = 8, .gap_us = BENCH_PACE_NS / NSEC_PER_USEC,
	  .rounds = 500, .paced = true },
};

#define WAKE_NR		ARRAY_SIZE(wake_scenarios)

/* The mechanisms of the wakeup benchmark: a thread each. */
static const enum bench_mech wake_mechs[] = { MECH_BHQ, MECH_BHQ_POLL, MECH_KWORKER };

#define WAKE_NR_MECHS	ARRAY_SIZE(wake_mechs)

/* What one repetition of one scenario gives, per item, in thousandths. */
enum { WAKE_SLEEPS, WAKE_CALLS, WAKE_CPU, WAKE_SPIN, WAKE_NR_FIGS };

static const struct {
	const char *metric;
	const char *unit;
} wake_figs[] = {
	[WAKE_SLEEPS]	= { .metric = "sleeps_per_item", .unit = "count" },
	[WAKE_CALLS]	= { .metric = "wake_calls_per_item", .unit = "count" },
	[WAKE_CPU]	= { .metric = "cpu_per_item", .unit = "ns" },
	[WAKE_SPIN]	= { .metric = "spin_per_item", .unit = "ns" },
};

static_assert(ARRAY_SIZE(wake_figs) == WAKE_NR_FIGS);

/* The bench_cfg.reps values of figure @f of wake_mechs[@i] in scenario @sc. */
static u64 *wake_slot(u64 *v, unsigned int sc, unsigned int i, unsigned int f)
{
	return &v[((sc * WAKE_NR_MECHS + i) * WAKE_NR_FIGS + f) * bench_cfg.reps];
}

/*
 * One repetition of one scenario: consumer sleeps, wake_up_process()
 * calls that woke bhq's thread and its polling time (bhq and bhq_poll
 * only) and the consumer's CPU time, per item, in thousandths, into
 * @fig[WAKE_NR_FIGS].
 */
static int wake_run(struct bench_set *s, unsigned int sc, u64 *fig)
{
	unsigned int burst = wake_scenarios[sc].burst;
	unsigned int gap = wake_scenarios[sc].gap_us;
	unsigned int rounds = wake_scenarios[sc].rounds;
	struct bhq_stats stats_before = {}, stats_after = {};
	unsigned long nvcsw_before, nvcsw_after;
	bool bhq = s->mech != MECH_KWORKER;
	struct task_struct *consumer;
	u64 items, cpu_before;
	unsigned int i;
	int err;

	if (bench_cfg.quick)
		rounds = max(rounds / 10, 2U);
	items = (u64)burst * rounds;

	/* A first item names the consumer thread; then let it sleep. */
	err = bench_batch(s, 1, 1, U64_MAX, NULL);
	if (err < 0)
		return err;
	consumer = READ_ONCE(s->consumer);
	if (!consumer)
		return -EIO;
	if (wake_scenarios[sc].paced)
		usleep_range(1000, 1500);
	else
		usleep_range(gap, gap + gap / 2);

	if (bhq)
		bhq_ctx_get_stats(s->ctx, &stats_before);
	nvcsw_before = READ_ONCE(consumer->nvcsw);
	cpu_before = bench_task_cpu_ns(consumer);
	if (wake_scenarios[sc].paced) {
		err = bench_paced(s, burst, rounds, (u64)gap * NSEC_PER_USEC);
		if (err)
			return err;
		/* The consumer's last sleep, as after the other scenarios. */
		usleep_range(1000, 1500);
	}
	for (i = 0; !wake_scenarios[sc].paced && i < rounds; i++) {
		err = bench_batch(s, burst, 1, U64_MAX, NULL);
		if (err < 0)
			return err;
		usleep_range(gap, gap + gap / 2);
	}
	nvcsw_after = READ_ONCE(consumer->nvcsw);
	fig[WAKE_CPU] = bench_per_op(bench_task_cpu_ns(consumer) - cpu_before, items);
	if (bhq)
		bhq_ctx_get_stats(s->ctx, &stats_after);
	fig[WAKE_SLEEPS] = div64_u64((u64)(nvcsw_after - nvcsw_before) * 1000, items);
	fig[WAKE_CALLS] = div64_u64((stats_after.wakeups - stats_before.wakeups) * 1000, items);
	fig[WAKE_SPIN] = bench_per_op(stats_after.spin_ns - stats_before.spin_ns, items);
	return 0;
}

static int bench_wakeups(struct bench_set *sets[NR_SIDES][NR_MECHS])
{
	unsigned int reps = bench_cfg.reps, r, sc, i, j, f;
	int side = sets[SIDE_CROSS][MECH_BHQ] ? SIDE_CROSS : SIDE_SAME;
	const char *bench = side == SIDE_CROSS ? "wake_cross" : "wake_same";
	u64 fig[WAKE_NR_FIGS];
	struct bench_set *s;
	int err = 0;
	u64 *v;

	v = kcalloc(WAKE_NR * WAKE_NR_MECHS * WAKE_NR_FIGS * reps, sizeof(u64), GFP_KERNEL);
	if (!v)
		return -ENOMEM;
	for (r = 0; r < reps; r++) {
		for (sc = 0; sc < WAKE_NR; sc++) {
			/* A spinning producer would starve a consumer on its CPU. */
			if (wake_scenarios[sc].paced && side != SIDE_CROSS)
				continue;
			for (j = 0; j < WAKE_NR_MECHS; j++) {
				i = (j + r) % WAKE_NR_MECHS;
				s = sets[side][wake_mechs[i]];
				err = bench_begin(s);
				if (!err)
					err = wake_run(s, sc, fig);
				bench_end(s);
				if (err)
					goto out;
				for (f = 0; f < WAKE_NR_FIGS; f++)
					wake_slot(v, sc, i, f)[r] = fig[f];
			}
		}
	}
	for (sc = 0; sc < WAKE_NR; sc++) {
		if (wake_scenarios[sc].paced && side != SIDE_CROSS)
			continue;
		for (i = 0; i < WAKE_NR_MECHS; i++) {
			for (f = 0; f < WAKE_NR_FIGS; f++) {
				if ((f == WAKE_CALLS && wake_mechs[i] == MECH_KWORKER) ||
				    (f == WAKE_SPIN && wake_mechs[i] != MECH_BHQ_POLL))
					continue;
				bench_emit_reps(bench, bench_mechs[wake_mechs[i]].name,
						wake_scenarios[sc].param, wake_figs[f].metric,
						wake_slot(v, sc, i, f), wake_figs[f].unit);
			}
		}
	}
out:
	kfree(v);
	return err;
}

/**
 * bench_dispatch() - the throughput, latency and wakeup benchmarks
 * @throughput: run the throughput benchmark
 * @latency: run the latency benchmark
 * @wakeups: run the wakeup benchmark
 *
 * Sets up every mechanism on CPU A, and those that can run cross-CPU on
 * CPU B (when there is one), runs one item on each that has a thread of
 * its own to know that thread, runs the benchmarks and tears everything
 * down, flushing what may still be queued.  The polling settings of the
 * per-CPU contexts of bhq and bhq_poll are put back as they were.
 *
 * Return: 0, -ENOMEM, or -ETIMEDOUT if a mechanism did not run its items.
 */
int bench_dispatch(bool throughput, bool latency, bool wakeups)
{
	struct bench_set *sets[NR_SIDES][NR_MECHS] = {};
	struct bench_poll_saved saved[NR_SIDES];
	unsigned int side, m;
	struct bench_set *s;
	int cpu, err = 0;

	if (bench_cfg.cpu_b < 0)
		bench_out("info,cross_cpu,skipped: one CPU");
	if (!BENCH_BH_WQ)
		bench_out("info,bh_workqueue,unavailable: no system_bh_wq before 6.9");
	for (side = 0; side < NR_SIDES && !err; side++) {
		cpu = side == SIDE_CROSS ? bench_cfg.cpu_b : bench_cfg.cpu_a;
		if (cpu < 0)
			break;
		for (m = 0; m < NR_MECHS; m++) {
			if ((side == SIDE_CROSS && !bench_mechs[m].cross) ||
			    (m == MECH_BH_WQ && !BENCH_BH_WQ))
				continue;
			s = bench_set_new(m, cpu);
			if (IS_ERR(s)) {
				err = PTR_ERR(s);
				break;
			}
			sets[side][m] = s;
			if (m == MECH_BHQ)
				bench_poll_save(s->ctx, &saved[side]);
		}
	}
	for (side = 0; side < NR_SIDES && !err; side++) {
		for (m = 0; m < NR_MECHS && !err; m++) {
			s = sets[side][m];
			if (!s || !bench_mechs[m].own_thread)
				continue;
			err = bench_begin(s);
			if (!err)
				err = bench_batch(s, 1, 1, U64_MAX, NULL);
			bench_end(s);
			err = min(err, 0);
		}
	}
	if (!err && throughput)
		err = bench_throughput(sets);
	if (!err && latency)
		err = bench_latency(sets);
	if (!err && wakeups)
		err = bench_wakeups(sets);
	for (side = 0; side < NR_SIDES; side++) {
		if (sets[side][MECH_BHQ])
			bench_poll_restore(sets[side][MECH_BHQ]->ctx, &saved[side]);
		for (m = 0; m < NR_MECHS; m++)
			bench_set_free(sets[side][m]);
	}
	return err;
}
