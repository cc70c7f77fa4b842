// SPDX-License-Identifier: GPL-2.0
/*
 * Profile: the cost of the primitives that bhq and the other mechanisms
 * are made of, on this machine, and of bhq's own steps.  They explain the
 * other figures: under TCG a locked instruction costs far more, relative
 * to a plain one, than on hardware.
 *
 * Every figure is ns per operation of a loop of that operation, loop
 * overhead included (the "loop" row is the empty loop): in each
 * repetition, the fastest of PR_CHUNKS chunks of the loop, as a slower
 * chunk is one that something else interrupted.
 */

#include <linux/atomic.h>
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
	PR_LOOP,
	PR_THIS_CPU_INC,
	PR_ATOMIC_INC,
	PR_ATOMIC_XCHG,
	PR_ATOMIC_CMPXCHG,
	PR_ATOMIC_FETCH_OR,
	PR_SMP_MB,
	PR_IRQ_SAVE,
	PR_SPIN_LOCK,
	PR_INDIRECT_CALL,
	PR_KTIME,
	PR_FLOOR,
	PR_BHQ_SCHED_PENDING,
	PR_BHQ_POLL_EMPTY,
	PR_BHQ_SCHED_POLL,
	PR_BHQ_TIMEOUT,
	PR_NR,
};

/* Each repetition runs the loop in this many chunks. */
#define PR_CHUNKS	20

static const char *const pr_names[PR_NR] = {
	[PR_LOOP]		= "loop",
	[PR_THIS_CPU_INC]	= "this_cpu_inc",
	[PR_ATOMIC_INC]		= "atomic_inc",
	[PR_ATOMIC_XCHG]	= "atomic_xchg",
	[PR_ATOMIC_CMPXCHG]	= "atomic_cmpxchg",
	[PR_ATOMIC_FETCH_OR]	= "atomic_fetch_or",
	[PR_SMP_MB]		= "smp_mb",
	[PR_IRQ_SAVE]		= "local_irq_save_restore",
	[PR_SPIN_LOCK]		= "raw_spin_lock_irqsave_unlock",
	[PR_INDIRECT_CALL]	= "indirect_call",
	[PR_KTIME]		= "ktime_get_ns",
	[PR_FLOOR]		= "llist_floor_add_del_call",
	[PR_BHQ_SCHED_PENDING]	= "bhq_schedule_pending_bh",
	[PR_BHQ_POLL_EMPTY]	= "bhq_poll_nothing_pending",
	[PR_BHQ_SCHED_POLL]	= "bhq_schedule_then_poll",
	[PR_BHQ_TIMEOUT]	= "bhq_compute_timeout",
};

/**
 * struct pr_state - what the profiled operations work on
 * @counter: a per-CPU counter
 * @a: an atomic
 * @lock: a raw spinlock
 * @fn: an indirect call target, read through READ_ONCE()
 * @floor: llist_floor's list
 * @node: llist_floor's one node
 * @ctx: a bhq manual context
 * @bh: its BH
 * @ran: callbacks run
 */
struct pr_state {
	u64 __percpu *counter;
	atomic_t a;
	raw_spinlock_t lock;
	void (*fn)(struct pr_state *st);
	struct llist_head floor;
	struct llist_node node;
	struct bhq_ctx *ctx;
	struct bhq_bh *bh;
	unsigned long ran;
};

static noinline void pr_fn(struct pr_state *st)
{
	st->ran++;
}

static void pr_bh_fn(void *opaque)
{
	struct pr_state *st = opaque;

	st->ran++;
}

/* Time @iters runs of @stmt; the barrier keeps the loop a loop. */
#define PR_TIME(iters, stmt)						\
({									\
	unsigned int __i;						\
	u64 __t0 = ktime_get_ns();					\
									\
	for (__i = 0; __i < (iters); __i++) {				\
		stmt;							\
		barrier();						\
	}								\
	ktime_get_ns() - __t0;						\
})

/* The compiler cannot see through the pointer: a real indirect call. */
static __always_inline void pr_indirect(struct pr_state *st)
{
	void (*fn)(struct pr_state *st) = READ_ONCE(st->fn);

	fn(st);
}

static void pr_floor(struct pr_state *st)
{
	struct llist_node *first;

	llist_add(&st->node, &st->floor);
	first = llist_reverse_order(llist_del_all(&st->floor));
	if (first)
		pr_indirect(st);
}

static u64 pr_measure(struct pr_state *st, unsigned int op, unsigned int n)
{
	unsigned long flags;
	u64 sink = 0;
	int old;

	switch (op) {
	case PR_LOOP:
		return PR_TIME(n, (void)0);
	case PR_THIS_CPU_INC:
		return PR_TIME(n, this_cpu_inc(*st->counter));
	case PR_ATOMIC_INC:
		return PR_TIME(n, atomic_inc(&st->a));
	case PR_ATOMIC_XCHG:
		return PR_TIME(n, atomic_xchg(&st->a, __i));
	case PR_ATOMIC_CMPXCHG:
		return PR_TIME(n, old = atomic_read(&st->a);
			       atomic_cmpxchg(&st->a, old, old + 1));
	case PR_ATOMIC_FETCH_OR:
		return PR_TIME(n, atomic_fetch_or(__i, &st->a));
	case PR_SMP_MB:
		/* Orders nothing: its cost is what is measured. */
		return PR_TIME(n, smp_mb());
	case PR_IRQ_SAVE:
		return PR_TIME(n, local_irq_save(flags); local_irq_restore(flags));
	case PR_SPIN_LOCK:
		return PR_TIME(n, raw_spin_lock_irqsave(&st->lock, flags);
			       raw_spin_unlock_irqrestore(&st->lock, flags));
	case PR_INDIRECT_CALL:
		return PR_TIME(n, pr_indirect(st));
	case PR_KTIME:
		return PR_TIME(n, sink += ktime_get_ns());
	case PR_FLOOR:
		return PR_TIME(n, pr_floor(st));
	case PR_BHQ_SCHED_PENDING:
		/* The BH stays pending: every schedule but the first coalesces. */
		return PR_TIME(n, bhq_bh_schedule(st->bh));
	case PR_BHQ_POLL_EMPTY:
		return PR_TIME(n, bhq_poll(st->ctx));
	case PR_BHQ_SCHED_POLL:
		return PR_TIME(n, bhq_bh_schedule(st->bh); bhq_poll(st->ctx));
	case PR_BHQ_TIMEOUT:
		return PR_TIME(n, sink += bhq_compute_timeout(st->ctx));
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
	unsigned int n = bench_cfg.quick ? 2000 : 100000;
	unsigned int reps = bench_cfg.reps, r, op, c;
	struct pr_state st = { .fn = pr_fn };
	int err = 0;
	u64 *v, cost;

	raw_spin_lock_init(&st.lock);
	init_llist_head(&st.floor);
	v = kcalloc(PR_NR * reps, sizeof(*v), GFP_KERNEL);
	st.counter = alloc_percpu(u64);
	st.ctx = bhq_ctx_create("bhq_bench_prof", BHQ_CTX_MANUAL);
	if (IS_ERR(st.ctx)) {
		err = PTR_ERR(st.ctx);
		st.ctx = NULL;
	} else {
		st.bh = bhq_bh_new(st.ctx, pr_bh_fn, &st);
	}
	if (!err && (!v || !st.counter || !st.bh))
		err = -ENOMEM;

	for (r = 0; !err && r < reps; r++) {
		for (op = 0; op < PR_NR; op++) {
			v[op * reps + r] = U64_MAX;
			for (c = 0; c < PR_CHUNKS; c++) {
				cost = pr_measure(&st, op, n / PR_CHUNKS);
				cost = bench_per_op(cost, n / PR_CHUNKS);
				v[op * reps + r] = min(v[op * reps + r], cost);
			}
			/* Leave nothing pending for the next operation. */
			bhq_poll(st.ctx);
		}
		cond_resched();
	}
	for (op = 0; !err && op < PR_NR; op++)
		bench_emit_reps("profile", pr_names[op], "-", "cost", &v[op * reps], "ns");

	bhq_bh_delete(st.bh);
	bhq_ctx_destroy(st.ctx);
	free_percpu(st.counter);
	kfree(v);
	return err;
}
