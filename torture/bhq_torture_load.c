// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_torture load: the CPU producers (a kthread, a hardirq and a softirq
 * hrtimer per CPU), their operations on free and ordered BHs and
 * oneshots, drawn by the weights of the parameters, and the callbacks,
 * which check their run and then act as producers of their own.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/spinlock.h>

#include <linux/bhq.h>
#include "bhq_torture.h"

/* The mark of an operation on a BH of @tctx, see F1 in Documentation/torture.rst. */
static unsigned long bhqt_mark(struct bhqt_ctx *tctx)
{
	/*
	 * Orders the operation (the BH flags bhq just changed) before the
	 * read of cbseq; pairs with the smp_mb() in bhqt_event().
	 */
	smp_mb();
	return READ_ONCE(tctx->cbseq);
}

static struct bhqt_bh **bhqt_slot(struct bhqt_producer *p, bool ordered,
				  unsigned int ctx, unsigned int k)
{
	return &p->slots[((ordered ? bhqt.nr_ctxs : 0) + ctx) * bhqt_nr_bhs + k];
}

static struct bhqt_producer *bhqt_cb_prod(struct bhqt_ctx *tctx)
{
	return &bhqt.prods[nr_cpu_ids * BHQT_NR_KINDS + tctx->idx];
}

/* A oneshot's argument; freed by its callback. */
struct bhqt_oneshot {
	struct bhqt_ctx *tctx;
	unsigned int prod;
	u64 stamp;
	u64 gen;
	u64 ns;
};

/* ---- the mixes of operations, by the weights of the parameters ---- */

/**
 * struct bhqt_weight - the weight of an operation in its mix
 * @name: its parameter
 * @val: its value
 */
struct bhqt_weight {
	const char *name;
	const unsigned int *val;
};

#define BHQT_WEIGHT(param)	{ .name = #param, .val = &bhqt_##param }

/* The weights of each mix, by operation. */
static const struct bhqt_weight bhqt_weights[BHQT_NR_MIXES][BHQT_MIX_MAX_OPS] = {
	[BHQT_MIX_TARGET] = {
		[BHQT_TARGET_FREE] = BHQT_WEIGHT(weight_free),
		[BHQT_TARGET_ORDERED] = BHQT_WEIGHT(weight_ordered),
		[BHQT_TARGET_ONESHOT] = BHQT_WEIGHT(weight_oneshot),
	},
	[BHQT_MIX_FREE] = {
		[BHQT_FREE_SCHEDULE] = BHQT_WEIGHT(weight_schedule),
		[BHQT_FREE_SCHEDULE_IDLE] = BHQT_WEIGHT(weight_schedule_idle),
		[BHQT_FREE_CANCEL] = BHQT_WEIGHT(weight_cancel),
		[BHQT_FREE_DELETE] = BHQT_WEIGHT(weight_delete),
	},
	[BHQT_MIX_ORDERED] = {
		[BHQT_ORDERED_SCHEDULE] = BHQT_WEIGHT(weight_ordered_schedule),
		[BHQT_ORDERED_SCHEDULE_IDLE] = BHQT_WEIGHT(weight_ordered_schedule_idle),
		[BHQT_ORDERED_DELETE] = BHQT_WEIGHT(weight_ordered_delete),
	},
	[BHQT_MIX_SELF] = {
		[BHQT_SELF_NONE] = BHQT_WEIGHT(weight_self_none),
		[BHQT_SELF_SCHEDULE] = BHQT_WEIGHT(weight_self_schedule),
		[BHQT_SELF_SCHEDULE_IDLE] = BHQT_WEIGHT(weight_self_schedule_idle),
		[BHQT_SELF_DELETE] = BHQT_WEIGHT(weight_self_delete),
	},
};

/* The sum of each mix's weights, set at load. */
static unsigned int bhqt_mix_total[BHQT_NR_MIXES];

/**
 * bhqt_pick() - draw an operation from a mix by its weights
 * @mix: the mix
 * @r: random bits
 *
 * Return: the operation, an index in @mix's enum.
 */
unsigned int bhqt_pick(enum bhqt_mix mix, u32 r)
{
	const struct bhqt_weight *w = bhqt_weights[mix];
	unsigned int x = r % bhqt_mix_total[mix], op;

	for (op = 0; x >= *w[op].val; op++)
		x -= *w[op].val;
	return op;
}

/* Sum each mix's weights; they must not all be 0. */
int bhqt_check_mixes(void)
{
	const struct bhqt_weight *w;
	unsigned int mix, op;
	char names[160];
	int len;

	for (mix = 0; mix < BHQT_NR_MIXES; mix++) {
		w = bhqt_weights[mix];
		bhqt_mix_total[mix] = 0;
		len = 0;
		for (op = 0; op < BHQT_MIX_MAX_OPS && w[op].val; op++) {
			bhqt_mix_total[mix] += *w[op].val;
			len += scnprintf(names + len, sizeof(names) - len, "%s%s",
					 op ? ", " : "", w[op].name);
		}
		if (!bhqt_mix_total[mix]) {
			pr_err("invalid parameters: the weights %s are all 0\n",
			       names);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- operations on free and ordered BHs, under b->lock ---- */

static void bhqt_count_schedule(bool idle)
{
	bhqt_inc(BHQT_OPS);
	bhqt_inc(BHQT_SCHEDULED);
	if (idle)
		bhqt_inc(BHQT_SCHEDULED_IDLE);
}

/**
 * bhqt_do_schedule() - schedule a free BH and record it
 * @b: the BH, locked, not deleted
 * @idle: bhq_bh_schedule_idle() instead of bhq_bh_schedule()
 * @margin: 1 from a callback of the BH's context, else 2
 */
static void bhqt_do_schedule(struct bhqt_bh *b, bool idle, u8 margin)
{
	if (idle)
		bhq_bh_schedule_idle(b->bh);
	else
		bhq_bh_schedule(b->bh);
	b->sched_mark = bhqt_mark(b->tctx);
	b->sched_margin = margin;
	b->nr_sched++;
	b->last_sched = true;
	bhqt_count_schedule(idle);
}

static void bhqt_do_cancel(struct bhqt_bh *b)
{
	bhq_bh_cancel(b->bh);
	b->cancel_mark = bhqt_mark(b->tctx);
	b->cancel_floor = b->nr_sched;
	b->last_sched = false;
	bhqt_inc(BHQT_OPS);
	bhqt_inc(BHQT_CANCELS);
}

/* An armed ordered BH leaves the counts of the timeout check. */
static void bhqt_disarm(struct bhqt_bh *b)
{
	if (!b->armed_idle)
		atomic_dec(&b->tctx->armed_nonidle);
	atomic_dec(&b->tctx->armed_any);
	b->armed_stamp = 0;
}

/**
 * bhqt_do_delete() - delete a BH and record it
 * @b: the BH, locked, not deleted
 * @margin: 1 from a callback of the BH's context, else 2
 *
 * An armed ordered BH leaves the timeout counts first: a poller that saw
 * the delete in its dequeue then sees the decrement too.
 */
static void bhqt_do_delete(struct bhqt_bh *b, u8 margin)
{
	if (b->ordered && b->armed_stamp)
		bhqt_disarm(b);
	bhq_bh_delete(b->bh);
	b->bh = NULL;
	b->del_mark = bhqt_mark(b->tctx);
	b->del_margin = margin;
	b->deleted = true;
	bhqt_inc(BHQT_OPS);
	bhqt_inc(BHQT_DELETES);
}

/**
 * bhqt_arm() - schedule an ordered BH and record the schedule
 * @b: the BH, locked, not deleted, not armed
 * @p: its producer (sequential: the stamps are its own)
 * @idle: schedule it idle
 *
 * cb_poll is read before the schedule: every poll up to that id had
 * carved its slice before the schedule, so none of them may run it.
 */
static void bhqt_arm(struct bhqt_bh *b, struct bhqt_producer *p, bool idle)
{
	struct bhqt_ctx *tctx = b->tctx;

	b->armed_stamp = ++p->stamps[tctx->idx];
	b->armed_after_poll = READ_ONCE(tctx->cb_poll);
	b->armed_ns = ktime_get_ns();
	b->armed_idle = idle;
	b->stalled = false;
	if (idle)
		bhq_bh_schedule_idle(b->bh);
	else
		bhq_bh_schedule(b->bh);
	/* Counted once the schedule is visible; pairs with bhqt_check_timeout(). */
	smp_mb__before_atomic();
	atomic_inc(&tctx->armed_any);
	if (!idle)
		atomic_inc(&tctx->armed_nonidle);
	bhqt_count_schedule(idle);
}

/* ---- callbacks ---- */

static void bhqt_oneshot_fn(void *opaque);

/**
 * bhqt_oneshot() - schedule a stamped oneshot
 * @p: the producer (sequential)
 * @tctx: the target context
 * @gfp: GFP_ATOMIC from interrupts
 */
static void bhqt_oneshot(struct bhqt_producer *p, struct bhqt_ctx *tctx, gfp_t gfp)
{
	struct bhqt_oneshot *o;

	/*
	 * On PREEMPT_RT the allocator may not be called from hard interrupt
	 * context (a _HARD hrtimer), whatever the gfp: no oneshot there.
	 */
	if (IS_ENABLED(CONFIG_PREEMPT_RT) && in_hardirq())
		return;
	o = kmalloc(sizeof(*o), gfp);
	if (!o) {
		bhqt_inc(BHQT_ALLOC_FAILURES);
		return;
	}
	o->tctx = tctx;
	o->prod = p->idx;
	o->stamp = ++p->stamps[tctx->idx];
	o->gen = READ_ONCE(tctx->cb_poll);
	o->ns = ktime_get_ns();
	atomic_long_inc(&bhqt.oneshots_out);
	/* @o may be run and freed before this returns. */
	if (bhq_schedule_oneshot(tctx->ctx, bhqt_oneshot_fn, o, gfp)) {
		atomic_long_dec(&bhqt.oneshots_out);
		kfree(o);
		bhqt_inc(BHQT_ALLOC_FAILURES);
		return;
	}
	bhqt_inc(BHQT_ONESHOTS);
	bhqt_count_schedule(false);
}

/* A free BH's callback schedules or deletes its own BH. */
static void bhqt_cb_self(struct bhqt_bh *b, u32 r)
{
	unsigned int op = bhqt_pick(BHQT_MIX_SELF, r);
	unsigned long flags;

	if (op == BHQT_SELF_NONE)
		return;
	raw_spin_lock_irqsave(&b->lock, flags);
	if (!b->deleted) {
		if (op == BHQT_SELF_DELETE) {
			bhqt_do_delete(b, 1);
			bhqt_inc(BHQT_SELF_DELETES);
		} else {
			bhqt_do_schedule(b, op == BHQT_SELF_SCHEDULE_IDLE, 1);
			bhqt_inc(BHQT_SELF_SCHEDULES);
		}
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

/**
 * bhqt_cb_actions() - what a callback does after its checks
 * @tctx: its context (the caller is its poller)
 * @b: its BH, NULL for a oneshot
 *
 * A free BH may re-schedule or delete itself; on a manual context the
 * callback may then schedule a oneshot and nest a poll (a BH that deleted
 * itself and polls again must not run in that poll).  Elsewhere it may
 * schedule a oneshot on any context.
 */
static void bhqt_cb_actions(struct bhqt_ctx *tctx, struct bhqt_bh *b)
{
	u32 r = prandom_u32_state(&tctx->rnd);

	if (READ_ONCE(bhqt.stopping) || bhqt_held())
		return;
	if (b && !b->ordered)
		bhqt_cb_self(b, r);
	if (r & 0x200)
		bhqt_check_timeout(tctx);
	if (!tctx->manual) {
		if ((r >> 12) % 16 == 0)
			bhqt_oneshot(bhqt_cb_prod(tctx), &bhqt.ctxs[(r >> 16) % bhqt.nr_ctxs],
				     GFP_KERNEL);
		return;
	}
	if ((r >> 12) % 8 == 0)
		bhqt_oneshot(bhqt_cb_prod(tctx), tctx, GFP_KERNEL);
	if ((r >> 16) % 4 == 0 && tctx->depth < bhqt_max_nest) {
		bhqt_poll_manual(tctx);
		bhqt_check_timeout(tctx);
	}
}

/* The epilogue of every torture callback: one more event, see F1. */
static void bhqt_cb_exit(struct bhqt_ctx *tctx)
{
	bhqt_event(tctx);
}

static void bhqt_free_fn(void *opaque)
{
	struct bhqt_bh *b = opaque;
	struct bhqt_ctx *tctx = b->tctx;
	unsigned long q = bhqt_cb_enter(tctx);
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	if (b->deleted)
		bhqt_check_deleted(b, q);
	else
		bhqt_match_run(b, q);
	raw_spin_unlock_irqrestore(&b->lock, flags);
	bhqt_cb_actions(tctx, b);
	bhqt_cb_exit(tctx);
}

static void bhqt_ordered_fn(void *opaque)
{
	struct bhqt_bh *b = opaque;
	struct bhqt_ctx *tctx = b->tctx;
	unsigned long q = bhqt_cb_enter(tctx);
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	if (b->deleted) {
		bhqt_check_deleted(b, q);
	} else if (!b->armed_stamp) {
		bhqt_inc(BHQT_CHECKS);
		bhqt_violation(BHQT_V_SPURIOUS,
			       "%s: ordered BH of producer %u ran without a schedule",
			       tctx->name, b->prod->idx);
	} else {
		bhqt_inc(BHQT_CHECKS);
		bhqt_order_check(tctx, b->prod->idx, b->armed_stamp, b->armed_after_poll,
				 b->armed_ns, b->armed_idle);
		bhqt_disarm(b);
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
	bhqt_cb_actions(tctx, b);
	bhqt_cb_exit(tctx);
}

static void bhqt_oneshot_fn(void *opaque)
{
	struct bhqt_oneshot *o = opaque;
	struct bhqt_ctx *tctx = o->tctx;

	bhqt_cb_enter(tctx);
	bhqt_order_check(tctx, o->prod, o->stamp, o->gen, o->ns, false);
	kfree(o);
	atomic_long_dec(&bhqt.oneshots_out);
	bhqt_cb_actions(tctx, NULL);
	bhqt_cb_exit(tctx);
}

/* ---- producers ---- */

/**
 * bhqt_free_op() - one random operation on a free BH of @p
 * @p: the producer owning @slot
 * @slot: the BH's slot
 * @r: random bits
 */
static void bhqt_free_op(struct bhqt_producer *p, struct bhqt_bh **slot, u32 r)
{
	struct bhqt_bh *b = READ_ONCE(*slot);
	unsigned long flags;
	bool bury;

	if (!b)
		return;
	raw_spin_lock_irqsave(&b->lock, flags);
	if (!b->deleted) {
		switch (bhqt_pick(BHQT_MIX_FREE, r)) {
		case BHQT_FREE_SCHEDULE:
			bhqt_do_schedule(b, false, 2);
			break;
		case BHQT_FREE_SCHEDULE_IDLE:
			bhqt_do_schedule(b, true, 2);
			break;
		case BHQT_FREE_CANCEL:
			bhqt_do_cancel(b);
			break;
		default:
			bhqt_do_delete(b, 2);
			break;
		}
	}
	bury = b->deleted;
	raw_spin_unlock_irqrestore(&b->lock, flags);
	if (bury)
		bhqt_bury(slot, b);
}

/**
 * bhqt_ordered_op() - one random operation on an ordered BH of @p
 * @p: the producer owning @slot
 * @slot: the BH's slot
 * @r: random bits
 */
static void bhqt_ordered_op(struct bhqt_producer *p, struct bhqt_bh **slot, u32 r)
{
	struct bhqt_bh *b = READ_ONCE(*slot);
	unsigned int op = bhqt_pick(BHQT_MIX_ORDERED, r);
	unsigned long flags;
	bool bury;

	if (!b)
		return;
	raw_spin_lock_irqsave(&b->lock, flags);
	if (!b->deleted) {
		if (b->armed_stamp) {
			bhqt_inc(BHQT_CHECKS);
			bhqt_check_stall(b);
		}
		if (op == BHQT_ORDERED_DELETE)
			bhqt_do_delete(b, 2);
		else if (!b->armed_stamp)
			bhqt_arm(b, p, op == BHQT_ORDERED_SCHEDULE_IDLE);
	}
	bury = b->deleted;
	raw_spin_unlock_irqrestore(&b->lock, flags);
	if (bury)
		bhqt_bury(slot, b);
}

/**
 * bhqt_random_op() - one random operation of a CPU producer
 * @p: the producer
 * @gfp: allocation flags for oneshots
 */
static void bhqt_random_op(struct bhqt_producer *p, gfp_t gfp)
{
	u32 r = prandom_u32_state(&p->rnd);
	u32 r2 = prandom_u32_state(&p->rnd);
	unsigned int ctx = r % bhqt.nr_ctxs;
	unsigned int k = (r >> 8) % bhqt_nr_bhs;

	if (bhqt_held())
		return;
	switch (bhqt_pick(BHQT_MIX_TARGET, r >> 16)) {
	case BHQT_TARGET_FREE:
		bhqt_free_op(p, bhqt_slot(p, false, ctx, k), r2);
		break;
	case BHQT_TARGET_ORDERED:
		bhqt_ordered_op(p, bhqt_slot(p, true, ctx, k), r2);
		break;
	default:
		bhqt_oneshot(p, &bhqt.ctxs[ctx], gfp);
		break;
	}
}

/**
 * bhqt_bh_create() - allocate a free or ordered BH
 * @tctx: its context
 * @p: its producer
 * @ordered: an ordered BH
 *
 * Context: process context.
 * Return: the BH, or NULL if out of memory.
 */
static struct bhqt_bh *bhqt_bh_create(struct bhqt_ctx *tctx, struct bhqt_producer *p,
				      bool ordered)
{
	struct bhqt_bh *b = kzalloc(sizeof(*b), GFP_KERNEL);

	if (!b)
		goto fail;
	raw_spin_lock_init(&b->lock);
	b->tctx = tctx;
	b->prod = p;
	b->ordered = ordered;
	b->bh = bhq_bh_new(tctx->ctx, ordered ? bhqt_ordered_fn : bhqt_free_fn, b);
	if (!b->bh) {
		kfree(b);
		goto fail;
	}
	bhqt_inc(BHQT_OPS);
	bhqt_inc(BHQT_CREATES);
	return b;
fail:
	bhqt_inc(BHQT_ALLOC_FAILURES);
	return NULL;
}

/* Fill the empty slots of @p; the producer only ever empties them. */
static int bhqt_refill(struct bhqt_producer *p)
{
	unsigned int n = 2 * bhqt.nr_ctxs * bhqt_nr_bhs, i;
	struct bhqt_bh *b;

	for (i = 0; i < n; i++) {
		if (READ_ONCE(p->slots[i]))
			continue;
		b = bhqt_bh_create(&bhqt.ctxs[(i / bhqt_nr_bhs) % bhqt.nr_ctxs], p,
				   i >= n / 2);
		if (!b)
			return -ENOMEM;
		/* Fully ordered: @b is initialized before it is seen. */
		if (cmpxchg(&p->slots[i], NULL, b)) {
			bhq_bh_delete(b->bh);
			kfree(b);
		}
	}
	return 0;
}

/* The kthread of a CPU re-creates the deleted BHs of its CPU's producers. */
static void bhqt_refill_cpu(unsigned int cpu)
{
	enum bhqt_kind kind;

	for (kind = 0; kind < BHQT_NR_KINDS; kind++) {
		struct bhqt_producer *p = bhqt_cpu_prod(cpu, kind);

		if (p->active)
			bhqt_refill(p);
	}
}

static int bhqt_producer_fn(void *arg)
{
	struct bhqt_producer *p = arg;
	unsigned int i;

	while (!kthread_should_stop()) {
		if (!READ_ONCE(bhqt.stopping)) {
			for (i = 0; i < bhqt_batch; i++)
				bhqt_random_op(p, GFP_KERNEL);
			bhqt_refill_cpu(p->cpu);
		}
		if (bhqt_batch_sleep_us)
			usleep_range(bhqt_batch_sleep_us, 2 * bhqt_batch_sleep_us);
		else
			cond_resched();
	}
	return 0;
}

static enum hrtimer_restart bhqt_timer_fn(struct hrtimer *timer)
{
	struct bhqt_producer *p = container_of(timer, struct bhqt_producer, timer);
	unsigned int i;

	if (READ_ONCE(bhqt.stopping))
		return HRTIMER_NORESTART;
	for (i = 0; i < bhqt_irq_ops; i++)
		bhqt_random_op(p, GFP_ATOMIC);
	hrtimer_forward_now(timer, ns_to_ktime((u64)bhqt_irq_period_us * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static enum hrtimer_mode bhqt_timer_mode(struct bhqt_producer *p)
{
	return p->kind == BHQT_HARDIRQ ? HRTIMER_MODE_REL_PINNED_HARD :
				       HRTIMER_MODE_REL_PINNED_SOFT;
}

/* Start the timer on the calling CPU. */
static void bhqt_timer_start(struct bhqt_producer *p)
{
	if (!READ_ONCE(bhqt.stopping))
		hrtimer_start(&p->timer,
			      ns_to_ktime((u64)bhqt_irq_period_us * NSEC_PER_USEC),
			      bhqt_timer_mode(p));
}

/* Called on @cpu (IPI at load, its hotplug thread when it comes online). */
void bhqt_timers_home(unsigned int cpu, bool cancel)
{
	enum bhqt_kind kind;

	for (kind = BHQT_HARDIRQ; kind < BHQT_NR_KINDS; kind++) {
		struct bhqt_producer *p = bhqt_cpu_prod(cpu, kind);

		if (!p->active)
			continue;
		if (cancel)
			hrtimer_cancel(&p->timer);
		bhqt_timer_start(p);
	}
}

void bhqt_timers_home_ipi(void *unused)
{
	bhqt_timers_home(smp_processor_id(), false);
}

/* ---- the end of the test ---- */

void bhqt_stop_producers(void)
{
	unsigned int i;

	bhqt_stop_cpus();
	for (i = 0; bhqt.prods && i < bhqt.nr_prods; i++) {
		struct bhqt_producer *p = &bhqt.prods[i];

		if (p->active && p->kind != BHQT_KTHREAD && p->cpu >= 0)
			hrtimer_cancel(&p->timer);
		if (p->task) {
			kthread_stop(p->task);
			p->task = NULL;
		}
	}
	if (bhqt.probe_task) {
		kthread_stop(bhqt.probe_task);
		bhqt.probe_task = NULL;
	}
}

void bhqt_delete_all(void)
{
	unsigned int i, j, n = 2 * bhqt.nr_ctxs * bhqt_nr_bhs;
	unsigned long flags;

	for (i = 0; bhqt.prods && i < bhqt.nr_prods; i++) {
		struct bhqt_producer *p = &bhqt.prods[i];

		for (j = 0; p->slots && j < n; j++) {
			struct bhqt_bh *b = p->slots[j];

			if (!b)
				continue;
			raw_spin_lock_irqsave(&b->lock, flags);
			if (!b->deleted)
				bhqt_do_delete(b, 2);
			raw_spin_unlock_irqrestore(&b->lock, flags);
			bhqt_bury(&p->slots[j], b);
		}
	}
}

/* ---- set-up ---- */

static int bhqt_prod_init(struct bhqt_producer *p, unsigned int idx, int cpu,
			  enum bhqt_kind kind, bool active)
{
	unsigned int n = 2 * bhqt.nr_ctxs * bhqt_nr_bhs;

	p->idx = idx;
	p->cpu = cpu;
	p->kind = kind;
	p->active = active;
	prandom_seed_state(&p->rnd, get_random_u64());
	p->stamps = kcalloc(bhqt.nr_ctxs, sizeof(u64), GFP_KERNEL);
	if (!p->stamps)
		return -ENOMEM;
	if (cpu >= 0 && kind != BHQT_KTHREAD) {
		hrtimer_init(&p->timer, CLOCK_MONOTONIC,
			     kind == BHQT_HARDIRQ ? HRTIMER_MODE_REL_HARD :
						  HRTIMER_MODE_REL_SOFT);
		p->timer.function = bhqt_timer_fn;
	}
	if (!active || cpu < 0)
		return 0;
	p->slots = kcalloc(n, sizeof(*p->slots), GFP_KERNEL);
	if (!p->slots)
		return -ENOMEM;
	return bhqt_refill(p);
}

int bhqt_prods_init(void)
{
	unsigned int cpu, i;
	int err;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		bool possible = cpu_possible(cpu);

		err = bhqt_prod_init(bhqt_cpu_prod(cpu, BHQT_KTHREAD),
				     cpu * BHQT_NR_KINDS + BHQT_KTHREAD, cpu,
				     BHQT_KTHREAD, possible);
		err = err ?: bhqt_prod_init(bhqt_cpu_prod(cpu, BHQT_HARDIRQ),
					    cpu * BHQT_NR_KINDS + BHQT_HARDIRQ, cpu,
					    BHQT_HARDIRQ, possible && bhqt_irq_producers);
		err = err ?: bhqt_prod_init(bhqt_cpu_prod(cpu, BHQT_SOFTIRQ),
					    cpu * BHQT_NR_KINDS + BHQT_SOFTIRQ, cpu,
					    BHQT_SOFTIRQ, possible && bhqt_softirq_producers);
		if (err)
			return err;
	}
	for (i = 0; i < bhqt.nr_ctxs; i++) {
		err = bhqt_prod_init(&bhqt.prods[nr_cpu_ids * BHQT_NR_KINDS + i],
				     nr_cpu_ids * BHQT_NR_KINDS + i, -1,
				     BHQT_KTHREAD, true);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Producer kthreads for every possible CPU, bound to the online ones.
 * Called with the CPU hotplug lock held.
 */
int bhqt_create_producers(void)
{
	unsigned int cpu;
	char name[24];

	for_each_possible_cpu(cpu) {
		struct bhqt_producer *p = bhqt_cpu_prod(cpu, BHQT_KTHREAD);

		snprintf(name, sizeof(name), "bhqt-p/%u", cpu);
		p->task = bhqt_kthread_create(bhqt_producer_fn, p, name);
		if (!p->task)
			return -ENOMEM;
		if (cpu_online(cpu))
			kthread_bind(p->task, cpu);
		atomic_set(&bhqt.hp_gen[cpu], cpu_online(cpu) ? 0 : 1);
	}
	return 0;
}
