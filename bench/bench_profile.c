// SPDX-License-Identifier: GPL-2.0
/*
 * Profile: the cost of the primitives that bhq and the other mechanisms
 * are made of, on this machine, and of bhq's own steps.  They explain the
 * other figures: under TCG a locked instruction costs far more, relative
 * to a plain one, than on hardware.
 *
 * Every figure is ns per operation of a loop of that operation, loop
 * overhead included (the "loop" row is the empty loop): in each
 * repetition, the fastest of PROF_CHUNKS chunks of the loop, as a slower
 * chunk is one that something else interrupted.  The batch rows are ns
 * per item of batches of PROF_BATCH: PROF_BATCH items queued, then one
 * dequeue of them all (the floor) or one poll (bhq's manual context).
 */

#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/err.h>
#include <linux/irqflags.h>
#include <linux/ktime.h>
#include <linux/limits.h>
#include <linux/llist.h>
#include <linux/minmax.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include <linux/bhq.h>
#include "bhq_bench.h"

enum {
	PROF_LOOP,
	PROF_THIS_CPU_INC,
	PROF_ATOMIC_INC,
	PROF_ATOMIC_XCHG,
	PROF_ATOMIC_CMPXCHG,
	PROF_ATOMIC_FETCH_OR,
	PROF_SMP_MB,
	PROF_IRQ_SAVE,
	PROF_SPIN_LOCK,
	PROF_INDIRECT_CALL,
	PROF_KTIME,
	PROF_FLOOR,
	PROF_BHQ_SCHED_PENDING,
	PROF_BHQ_POLL_EMPTY,
	PROF_BHQ_SCHED_POLL,
	PROF_BHQ_TIMEOUT,
	PROF_FLOOR_BATCH,
	PROF_BHQ_BATCH,
	PROF_NR,
};

/* Each repetition runs the loop in this many chunks. */
#define PROF_CHUNKS	20
/* Items per batch of the batch rows. */
#define PROF_BATCH	16
static_assert(PROF_BATCH == 16, "the batch rows' names say 16");

static const char *const prof_names[] = {
	[PROF_LOOP]			= "loop",
	[PROF_THIS_CPU_INC]		= "this_cpu_inc",
	[PROF_ATOMIC_INC]		= "atomic_inc",
	[PROF_ATOMIC_XCHG]		= "atomic_xchg",
	[PROF_ATOMIC_CMPXCHG]		= "atomic_cmpxchg",
	[PROF_ATOMIC_FETCH_OR]		= "atomic_fetch_or",
	[PROF_SMP_MB]			= "smp_mb",
	[PROF_IRQ_SAVE]			= "local_irq_save_restore",
	[PROF_SPIN_LOCK]		= "raw_spin_lock_irqsave_unlock",
	[PROF_INDIRECT_CALL]		= "indirect_call",
	[PROF_KTIME]			= "ktime_get_ns",
	[PROF_FLOOR]			= "llist_floor_add_del_call",
	[PROF_BHQ_SCHED_PENDING]	= "bhq_schedule_pending_bh",
	[PROF_BHQ_POLL_EMPTY]		= "bhq_poll_nothing_pending",
	[PROF_BHQ_SCHED_POLL]		= "bhq_schedule_then_poll",
	[PROF_BHQ_TIMEOUT]		= "bhq_compute_timeout",
	[PROF_FLOOR_BATCH]		= "llist_floor_batch16_per_item",
	[PROF_BHQ_BATCH]		= "bhq_batch16_per_bh",
};

static_assert(ARRAY_SIZE(prof_names) == PROF_NR);

/**
 * struct prof_state - what the profiled operations work on
 * @pcpu_counter: a per-CPU counter
 * @atomic_counter: an atomic counter
 * @lock: a raw spinlock
 * @indirect_fn: an indirect call target, read through READ_ONCE()
 * @floor: llist_floor's list
 * @node: llist_floor's one node
 * @nodes: llist_floor's nodes for the batch row
 * @ctx: a bhq manual context
 * @bh: its BH
 * @bhs: its BHs for the batch row
 * @ran: callbacks run
 */
struct prof_state {
	u64 __percpu *pcpu_counter;
	atomic_t atomic_counter;
	raw_spinlock_t lock;
	void (*indirect_fn)(struct prof_state *st);
	struct llist_head floor;
	struct llist_node node;
	struct llist_node nodes[PROF_BATCH];
	struct bhq_ctx *ctx;
	struct bhq_bh *bh;
	struct bhq_bh *bhs[PROF_BATCH];
	unsigned long ran;
};

static noinline void prof_call_target(struct prof_state *st)
{
	st->ran++;
}

static void prof_bh_fn(void *opaque)
{
	struct prof_state *st = opaque;

	st->ran++;
}

/* Time @iters runs of @stmt; the barrier keeps the loop a loop. */
#define PROF_TIME(iters, stmt)						\
({									\
	unsigned int __i;						\
	u64 __t_start = ktime_get_ns();					\
									\
	for (__i = 0; __i < (iters); __i++) {				\
		stmt;							\
		barrier();						\
	}								\
	ktime_get_ns() - __t_start;					\
})

/* The compiler cannot see through the pointer: a real indirect call. */
static __always_inline void prof_indirect(struct prof_state *st)
{
	void (*fn)(struct prof_state *st) = READ_ONCE(st->indirect_fn);

	fn(st);
}

static void prof_floor(struct prof_state *st)
{
	struct llist_node *first;

	llist_add(&st->node, &st->floor);
	first = llist_reverse_order(llist_del_all(&st->floor));
	if (first)
		prof_indirect(st);
}

/* PROF_BATCH nodes in, then out in one go, one indirect call each. */
static void prof_floor_batch(struct prof_state *st)
{
	struct llist_node *node, *next;
	unsigned int i;

	for (i = 0; i < PROF_BATCH; i++)
		llist_add(&st->nodes[i], &st->floor);
	node = llist_reverse_order(llist_del_all(&st->floor));
	llist_for_each_safe(node, next, node)
		prof_indirect(st);
}

/* PROF_BATCH BHs scheduled, then one poll that runs them all. */
static void prof_bhq_batch(struct prof_state *st)
{
	unsigned int i;

	for (i = 0; i < PROF_BATCH; i++)
		bhq_bh_schedule(st->bhs[i]);
	bhq_poll(st->ctx);
}

static u64 prof_measure(struct prof_state *st, unsigned int op, unsigned int n)
{
	unsigned long flags;
	u64 sink = 0;
	int old;

	switch (op) {
	case PROF_LOOP:
		return PROF_TIME(n, (void)0);
	case PROF_THIS_CPU_INC:
		return PROF_TIME(n, this_cpu_inc(*st->pcpu_counter));
	case PROF_ATOMIC_INC:
		return PROF_TIME(n, atomic_inc(&st->atomic_counter));
	case PROF_ATOMIC_XCHG:
		return PROF_TIME(n, atomic_xchg(&st->atomic_counter, __i));
	case PROF_ATOMIC_CMPXCHG:
		return PROF_TIME(n, old = atomic_read(&st->atomic_counter);
				 atomic_cmpxchg(&st->atomic_counter, old, old + 1));
	case PROF_ATOMIC_FETCH_OR:
		return PROF_TIME(n, atomic_fetch_or(__i, &st->atomic_counter));
	case PROF_SMP_MB:
		/* Orders nothing: its cost is what is measured. */
		return PROF_TIME(n, smp_mb());
	case PROF_IRQ_SAVE:
		return PROF_TIME(n, local_irq_save(flags); local_irq_restore(flags));
	case PROF_SPIN_LOCK:
		return PROF_TIME(n, raw_spin_lock_irqsave(&st->lock, flags);
				 raw_spin_unlock_irqrestore(&st->lock, flags));
	case PROF_INDIRECT_CALL:
		return PROF_TIME(n, prof_indirect(st));
	case PROF_KTIME:
		return PROF_TIME(n, sink += ktime_get_ns());
	case PROF_FLOOR:
		return PROF_TIME(n, prof_floor(st));
	case PROF_BHQ_SCHED_PENDING:
		/* The BH stays pending: every schedule but the first coalesces. */
		return PROF_TIME(n, bhq_bh_schedule(st->bh));
	case PROF_BHQ_POLL_EMPTY:
		return PROF_TIME(n, bhq_poll(st->ctx));
	case PROF_BHQ_SCHED_POLL:
		return PROF_TIME(n, bhq_bh_schedule(st->bh); bhq_poll(st->ctx));
	case PROF_BHQ_TIMEOUT:
		return PROF_TIME(n, sink += bhq_compute_timeout(st->ctx));
	case PROF_FLOOR_BATCH:
		/* n items, so that the caller's division gives ns per item. */
		return PROF_TIME(n / PROF_BATCH, prof_floor_batch(st));
	case PROF_BHQ_BATCH:
		return PROF_TIME(n / PROF_BATCH, prof_bhq_batch(st));
	}
	return sink;
}

/**
 * bench_profile() - primitive costs, and bhq's steps, in ns per operation
 *
 * Return: 0, or a negative errno if the bhq context could not be made.
 */
int bench_profile(void)
{
	/* Chunks of a whole number of batches. */
	unsigned int n = bench_cfg.quick ? 3200 : 102400;
	unsigned int reps = bench_cfg.reps, r, op, c;
	struct prof_state st = { .indirect_fn = prof_call_target };
	int err = 0;
	u64 *v, cost;

	raw_spin_lock_init(&st.lock);
	init_llist_head(&st.floor);
	v = kcalloc(PROF_NR * reps, sizeof(*v), GFP_KERNEL);
	st.pcpu_counter = alloc_percpu(u64);
	st.ctx = bhq_ctx_create("bhq_bench_prof", BHQ_CTX_MANUAL);
	if (IS_ERR(st.ctx)) {
		err = PTR_ERR(st.ctx);
		st.ctx = NULL;
	} else {
		st.bh = bhq_bh_new(st.ctx, prof_bh_fn, &st);
		for (c = 0; c < PROF_BATCH; c++) {
			st.bhs[c] = bhq_bh_new(st.ctx, prof_bh_fn, &st);
			if (!st.bhs[c])
				err = -ENOMEM;
		}
	}
	if (!err && (!v || !st.pcpu_counter || !st.bh))
		err = -ENOMEM;

	for (r = 0; !err && r < reps; r++) {
		for (op = 0; op < PROF_NR; op++) {
			v[op * reps + r] = U64_MAX;
			for (c = 0; c < PROF_CHUNKS; c++) {
				cost = prof_measure(&st, op, n / PROF_CHUNKS);
				cost = bench_per_op(cost, n / PROF_CHUNKS);
				v[op * reps + r] = min(v[op * reps + r], cost);
			}
			/* Leave nothing pending for the next operation. */
			bhq_poll(st.ctx);
		}
		cond_resched();
	}
	for (op = 0; !err && op < PROF_NR; op++)
		bench_emit_reps("profile", prof_names[op], "-", "cost", &v[op * reps], "ns");

	bhq_bh_delete(st.bh);
	for (c = 0; c < PROF_BATCH; c++)
		bhq_bh_delete(st.bhs[c]);
	bhq_ctx_destroy(st.ctx);
	free_percpu(st.pcpu_counter);
	kfree(v);
	return err;
}
