// SPDX-License-Identifier: GPL-2.0
/*
 * bhq queue: the life cycle of a BH (allocation, schedule, cancel, delete,
 * free).  Slices, the poll and the timeout are in bhq_poll.c.
 *
 * Concurrency rules
 * -----------------
 * Schedulers (any CPU, any context but NMI) touch only bh->flags, the
 * context's @pending llist, its @nonidle flag and per-CPU counters.  The
 * poller (one task at a time, see "Ownership" in bhq_poll.c) owns
 * everything else: the slices, the poll frames, freeing BHs.
 *
 * A BH is on at most one list because only the caller that turns PENDING
 * on adds it (the atomic_fetch_or in bhq_bh_schedule_flags() and
 * bhq_bh_delete(); bhq_bh_requeue() for the poller itself), and only the
 * poller turns PENDING off, after it has read bh->node.next (the fully
 * ordered atomic_fetch_andnot in bhq_bh_dequeue()).
 *
 * The non-idle flag (Paolo Bonzini's idea in his review of QEMU's
 * "util/async: make bh_aio_poll() O(1)"): a non-idle schedule sets
 * ctx->nonidle after publishing the BH, the poll clears it before carving.
 * Both sides are fully ordered (llist_add's cmpxchg / the BH's fetch_or
 * before the scheduler's read of the flag, the xchg of llist_del_all()
 * after the poll's clear), so this is the store-buffering pattern: either
 * the poll's llist_del_all() sees the BH, or the scheduler's read of the
 * flag sees the cleared value and sets it again.  One more case: a non-idle schedule
 * that coalesces onto a BH whose idle scheduler has set PENDING but not
 * yet added it; that scheduler re-reads the BH's NONIDLE bit after its
 * llist_add() and carries it to the flag (bhq_nonidle_while_adding()).  A
 * non-idle BH is never pending with the flag clear once its schedule
 * returned.  Clearing the flag at the end of the poll, as the review
 * literally suggests, loses the flag of every BH that a callback schedules
 * during the poll.
 *
 * The thread's sleep: schedulers that make @pending non-empty, or turn
 * @nonidle on, wake the thread unless it is polling (bhq_kick()).  Before
 * it may sleep the thread clears ctx->poller, then set_current_state() (a
 * full barrier), then reads the flag and the list in
 * bhq_compute_timeout(): again the store-buffering pattern, so one of the
 * two sees the other.  (A busy thread that sees the flag set polls again
 * without the barrier; it does not sleep on that path.)
 *
 * Lifetimes: a schedule still returning
 * -------------------------------------
 * Once a schedule has published its BH (llist_add(), or the fetch_or that
 * finds it pending), another CPU may run the callback, and the callback
 * may delete its own BH or complete what its owner waits for before
 * destroying the context.  The scheduler still reads the context (flag,
 * thread, counters: the context it read from the BH before the publish)
 * and, for an idle schedule, the BH's flags; it writes nothing of the BH
 * after the publish.  So a schedule runs in an RCU read-side section: a
 * context is freed only after a grace period (bhq_ctx.c), and BHs come
 * from a SLAB_TYPESAFE_BY_RCU cache, so the memory of a BH freed
 * meanwhile is still a struct bhq_bh until the scheduler leaves its
 * section.  The section is rcu_read_lock_sched():
 * since the RCU flavours were consolidated (v5.0) a grace period waits
 * for preemption-disabled regions too, and under PREEMPT_RCU (Debian's
 * kernels) rcu_read_lock() is two out-of-line calls, 6% of the profile
 * benchmark's samples, where preempt_disable() is one inline increment.
 * A schedule is short and may come from any context anyway.
 *
 * Type-stable is not the same BH: the cache may hand the slot out again
 * at once, so the idle schedule may read the flags of another BH, of
 * this context or another, scheduled or not.  That is harmless: its
 * NONIDLE bit can only turn this context's flag on needlessly, which
 * bhq_compute_timeout()'s contract allows (it may over-estimate
 * urgency), and the other BH is neither written nor counted.  The
 * bhq_lifetime KUnit suite checks that interleaving
 * (bhq_lifetime_idle_schedule_reads_reused_bh).
 *
 * The price of type-stable BHs is that KASAN cannot see a use after
 * delete: a schedule, cancel or delete of a BH after its delete acts on
 * whatever BH sits in the slot by then, and the misuse checks on
 * DELETED work only until the slot is reused.  So CONFIG_BHQ_DEBUG
 * builds take BHs from a plain cache by default and free them after a
 * grace period (call_rcu(), which waits for the schedules' sections as
 * the type-stable cache does): a returning schedule still reads its own
 * deleted BH, and any later use is a use after free for KASAN.  The
 * rcu_head is in a wrapper of debug builds, struct bhq_bh_rcu; struct
 * bhq_bh keeps its 40 bytes.  bhq.debug_bh_cache=typesafe (read-only)
 * gives debug builds the cache of normal builds, for a test of the reuse
 * (make kunit passes it: UML has no KASAN to lose).
 */

#include <linux/bug.h>
#include <linux/completion.h>
#include <linux/export.h>
#include <linux/llist.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "bhq_internal.h"
#include <trace/events/bhq.h>

static struct kmem_cache *bhq_bh_cache;

/*
 * A BH of the debug builds' plain cache, with what its free after a grace
 * period needs (see "Lifetimes" above).
 */
struct bhq_bh_rcu {
	struct bhq_bh bh;
	struct rcu_head rcu;
};

#ifdef CONFIG_BHQ_DEBUG
/* bhq.debug_bh_cache: false for "rcu" (the default), true for "typesafe". */
static bool bhq_bh_typesafe;

static int bhq_debug_bh_cache_set(const char *val,
				  const struct kernel_param *kp)
{
	if (sysfs_streq(val, "rcu")) {
		bhq_bh_typesafe = false;
	} else if (sysfs_streq(val, "typesafe")) {
		bhq_bh_typesafe = true;
	} else {
		pr_err("bhq: debug_bh_cache=%s: must be rcu or typesafe\n", val);
		return -EINVAL;
	}
	return 0;
}

static int bhq_debug_bh_cache_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", bhq_bh_typesafe ? "typesafe" : "rcu");
}

static const struct kernel_param_ops bhq_debug_bh_cache_ops = {
	.set = bhq_debug_bh_cache_set,
	.get = bhq_debug_bh_cache_get,
};

module_param_cb(debug_bh_cache, &bhq_debug_bh_cache_ops, NULL, 0444);
MODULE_PARM_DESC(debug_bh_cache,
		 "CONFIG_BHQ_DEBUG: BHs come from a plain cache and are freed after a grace period (rcu, the default) or from the type-stable cache of normal builds (typesafe)");

#if IS_ENABLED(CONFIG_KUNIT)
/**
 * bhq_debug_bh_cache_typesafe() - is the BH cache type-stable?
 *
 * For bhq's KUnit suites only (CONFIG_BHQ_DEBUG and CONFIG_KUNIT): whether
 * bhq.debug_bh_cache=typesafe gave this debug build the
 * SLAB_TYPESAFE_BY_RCU cache of normal builds, where a freed BH's memory
 * may be handed out again at once, rather than the plain cache whose
 * frees wait for a grace period.
 *
 * Context: any.
 * Return: true for the type-stable cache.
 */
bool bhq_debug_bh_cache_typesafe(void)
{
	return bhq_bh_typesafe;
}
EXPORT_SYMBOL_IF_KUNIT(bhq_debug_bh_cache_typesafe);
#endif
#else
/* Normal builds: always the type-stable cache. */
static const bool bhq_bh_typesafe = true;
#endif

int bhq_queue_init(void)
{
	/* A BH's address is its object's in either cache. */
	BUILD_BUG_ON(offsetof(struct bhq_bh_rcu, bh));

	/* See "Lifetimes" at the top of this file. */
	if (bhq_bh_typesafe)
		bhq_bh_cache = KMEM_CACHE(bhq_bh, SLAB_TYPESAFE_BY_RCU);
	else
		bhq_bh_cache = KMEM_CACHE(bhq_bh_rcu, 0);
	return bhq_bh_cache ? 0 : -ENOMEM;
}

void bhq_queue_exit(void)
{
	/* The plain cache's frees still waiting for their grace period. */
	if (!bhq_bh_typesafe)
		rcu_barrier();
	kmem_cache_destroy(bhq_bh_cache);
}

void bhq_ctx_init_queue(struct bhq_ctx *ctx)
{
	init_llist_head(&ctx->pending);
	atomic_set(&ctx->nonidle, 0);
	INIT_LIST_HEAD(&ctx->slices);
	xa_init_flags(&ctx->bhs, XA_FLAGS_ALLOC1);
}

void bhq_bh_init(struct bhq_bh *bh, struct bhq_ctx *ctx, bhq_func_t func,
		 void *opaque, unsigned int flags)
{
	bh->node.next = NULL;
	bh->ctx = ctx;
	bh->func = func;
	bh->opaque = opaque;
	atomic_set(&bh->flags, flags);
	bh->id = 0;
}

/*
 * Wake the context's thread after @pending became non-empty or @nonidle
 * was turned on.  ctx->thread stays valid while the caller is in its RCU
 * read-side section: the context holds a reference on it until the grace
 * period after destroy.  Not needed while the thread polls (a poll, or
 * the polling before it sleeps, bhq_poll_spin()): when it stops it clears
 * ->poller, then set_current_state() (full barrier) before
 * bhq_compute_timeout() reads @nonidle and @pending.  Pairs with the full
 * barrier of the llist_add() / atomic_xchg() that precedes this read of
 * ->poller.
 */
static void bhq_kick(struct bhq_ctx *ctx)
{
	struct task_struct *thread = ctx->thread;

	if (!thread || READ_ONCE(ctx->poller) == (unsigned long)thread)
		return;
	bhq_debug_count_kick();
	/* Counted only when the thread was asleep, not for a running one. */
	if (wake_up_process(thread))
		bhq_count(&ctx->counters->wakeups);
}

/*
 * Turn the non-idle flag on; true if it was off.  Called after the BH is
 * published (llist_add) or found pending (fetch_or), both fully ordered,
 * so the plain read is the second half of the store-buffering pattern
 * with bhq_carve_slice(): reading 1 here means the carve has not cleared
 * the flag yet and will see the BH.
 *
 * A manual context has no thread to wake, so nobody needs to know who
 * turned the flag on: a plain store does.  Against the carve's clear
 * then llist_del_all() (fully ordered), our publish (fully ordered) then
 * this store is the "R" pattern with full barriers on both sides: either
 * the carve sees the BH, or our store comes after its clear and the flag
 * stays on.  The thread's wakeup needs the xchg: its full barrier orders
 * the flag before bhq_kick()'s read of ctx->poller (store buffering with
 * the thread's release of the role, then set_current_state(), then its
 * read of the flag).
 */
static bool bhq_mark_nonidle(struct bhq_ctx *ctx)
{
	if (atomic_read(&ctx->nonidle))
		return false;
	if (ctx->thread)
		return !atomic_xchg(&ctx->nonidle, 1);
	atomic_set(&ctx->nonidle, 1);
	return true;
}

/*
 * An idle schedule that adds @bh to the list: did a non-idle schedule
 * coalesce onto it meanwhile?  Such a schedule finds PENDING already set
 * (by our fetch_or) and only sets NONIDLE on the BH and the flag; a poll
 * may have cleared the flag since, without finding @bh on the list yet.
 * Then we must turn the flag on again.  Found by the spin model
 * (tools/model/bhq_protocol.pml, REREAD_AFTER_ADD).
 *
 * llist_add()'s cmpxchg orders this read after the add.  By now the
 * callback may have run and deleted @bh, and a poll freed it: the read is
 * still of a struct bhq_bh, because of the RCU read-side section and the
 * type-safe cache ("Lifetimes" above).  Flush barriers, which live on their
 * flusher's stack, are scheduled non-idle and never get here.
 */
static unsigned int bhq_nonidle_while_adding(struct bhq_bh *bh)
{
	return atomic_read(&bh->flags) & BHQ_BH_NONIDLE;
}

/* A schedule of a disabled BH backs out: counted and traced, nothing set. */
static void bhq_bh_refuse(struct bhq_ctx *ctx, struct bhq_bh *bh,
			  bhq_func_t func)
{
	bhq_count(&ctx->counters->refused);
	trace_bhq_schedule_refused(ctx, bh, func);
}

/*
 * The common part of every schedule; @set holds BHQ_BH_NONIDLE for a
 * non-idle one (a flush barrier has BHQ_BH_BARRIER in its flags).  Runs
 * under rcu_read_lock_sched() from before the BH is published to the return:
 * see "Lifetimes" at the top of this file.
 */
void bhq_bh_schedule_flags(struct bhq_bh *bh, unsigned int set)
{
	struct bhq_ctx *ctx = bh->ctx;
	/* For the trace: once published, @bh may be freed and reused. */
	bhq_func_t func = bh->func;
	bool added, kick = false;
	unsigned int old;

	/* Misuse; checked before any bit is set, so that nothing changes. */
	old = atomic_read(&bh->flags);
	if (bhq_misuse(old & (BHQ_BH_DELETED | BHQ_BH_ORPHANED),
		       "bhq: BH %ps scheduled after bhq_bh_delete() or after its context was destroyed\n",
		       func))
		return;

	rcu_read_lock_sched();
	/*
	 * In the section: a context poisoned by destroy is not freed yet.
	 * Barriers are destroy's own, or their flush or cancel was checked.
	 */
	if (!(old & BHQ_BH_BARRIER) && bhq_debug_ctx_dying(ctx, "schedule")) {
		rcu_read_unlock_sched();
		return;
	}
	set |= BHQ_BH_PENDING | BHQ_BH_SCHEDULED | BHQ_BH_COUNTED;
	/*
	 * Set the bits unless the BH is disabled, in one fully ordered
	 * cmpxchg: the loop x86's atomic_fetch_or() is made of anyway.  Pairs
	 * with the fetch_andnot in bhq_bh_dequeue(), and with the cmpxchg of
	 * bhq_bh_disable(): a schedule either comes before the disable (and
	 * the disabler's cancel clears what it set) or sees the count and
	 * backs out.
	 */
	do {
		if (unlikely(old & BHQ_BH_DISABLE_MASK)) {
			bhq_bh_refuse(ctx, bh, func);
			rcu_read_unlock_sched();
			return;
		}
	} while (!atomic_try_cmpxchg(&bh->flags, &old, old | set));
	added = !(old & BHQ_BH_PENDING);
	if (added)
		kick = llist_add(&bh->node, &ctx->pending);
	/* From here on the callback may run, and free what we touch. */
	bhq_debug_after_publish();

	bhq_count(&ctx->counters->scheduled);
	trace_bhq_schedule(ctx, bh, func, !(set & BHQ_BH_NONIDLE), !added);
	if (!added)
		bhq_count(&ctx->counters->coalesced);
	else if (!(set & BHQ_BH_NONIDLE))
		set |= bhq_nonidle_while_adding(bh);

	/* One wakeup at most: the list was empty, or the first non-idle BH. */
	if ((set & BHQ_BH_NONIDLE) && bhq_mark_nonidle(ctx))
		kick = true;
	if (kick)
		bhq_kick(ctx);
	rcu_read_unlock_sched();
}

/*
 * Disable @bh and cancel its schedule in one fully ordered step: from
 * here on every schedule of @bh backs out (bhq_bh_schedule_flags()), and
 * a poll that dequeues it skips it.  Nests: each call adds one to the
 * disable count.  False, after a warning, if the count would overflow.
 */
bool bhq_bh_disable(struct bhq_bh *bh)
{
	unsigned int old = atomic_read(&bh->flags), new;

	do {
		if (bhq_misuse((old & BHQ_BH_DISABLE_MASK) == BHQ_BH_DISABLE_MASK,
			       "bhq: BH %ps disabled too many times at once\n",
			       bh->func))
			return false;
		new = (old + BHQ_BH_DISABLE_ONE) &
		      ~(BHQ_BH_SCHEDULED | BHQ_BH_NONIDLE);
	} while (!atomic_try_cmpxchg(&bh->flags, &old, new));
	return true;
}

/*
 * Undo one bhq_bh_disable().  Release pairs with the cmpxchg of the first
 * schedule that sees the count at 0: what the disabler did before (say,
 * reset the callback's data) happens before the callback that schedule
 * leads to.
 */
void bhq_bh_enable(struct bhq_bh *bh)
{
	atomic_sub_return_release(BHQ_BH_DISABLE_ONE, &bh->flags);
}

/*
 * The poller puts a BH it has just dequeued back on the pending list, for
 * a later poll (a barrier met by a nested poll, a BH deleted by its own
 * running callback).  Nobody else can schedule it meanwhile: a barrier is
 * private to its flusher, and a deleted BH is never scheduled again.
 * Uncounted: the BH's one schedule is counted once, when it is run or
 * skipped for good.
 */
void bhq_bh_requeue(struct bhq_ctx *ctx, struct bhq_bh *bh)
{
	unsigned int set = BHQ_BH_PENDING;

	if (atomic_read(&bh->flags) & BHQ_BH_BARRIER)
		set |= BHQ_BH_SCHEDULED | BHQ_BH_COUNTED | BHQ_BH_NONIDLE;
	atomic_or(set, &bh->flags);
	llist_add(&bh->node, &ctx->pending);
	/* The next poll must come without a timeout, as for any flush. */
	if (set & BHQ_BH_NONIDLE)
		bhq_mark_nonidle(ctx);
}

/**
 * bhq_bh_schedule() - make a BH run in the next poll of its context
 * @bh: the BH
 *
 * Lock-free and O(1).  A BH that is already pending is not queued again,
 * it runs once.  A BH that is not pending when it is scheduled while a
 * poll runs (from a callback, or from another CPU) runs in a later poll,
 * never in the current one; one still waiting in the current poll's slice
 * just runs there.  BHs run in the order in which they were first
 * scheduled.  The context's
 * thread is woken only when the pending list was empty or this is the
 * first non-idle BH while only idle ones were pending.  Scheduling an idle
 * pending BH with this function makes it non-idle.  While a
 * bhq_bh_cancel_sync() of the BH is under way the schedule backs out: it
 * changes nothing and counts as ``refused``.
 *
 * Context: any context except NMI, with or without locks held; never
 * sleeps.
 * Return: nothing.
 */
void bhq_bh_schedule(struct bhq_bh *bh)
{
	bhq_bh_schedule_flags(bh, BHQ_BH_NONIDLE);
}
EXPORT_SYMBOL_GPL(bhq_bh_schedule);

/**
 * bhq_bh_schedule_idle() - schedule a BH that is not urgent
 * @bh: the BH
 *
 * As bhq_bh_schedule(), but while only idle BHs are pending the poll
 * timeout is BHQ_IDLE_TIMEOUT_NS instead of 0, and running them does not
 * count as progress for bhq_poll().  A non-idle schedule of the same BH
 * before it runs wins: the BH then counts as non-idle.
 *
 * Context: any context except NMI; never sleeps.
 * Return: nothing.
 */
void bhq_bh_schedule_idle(struct bhq_bh *bh)
{
	bhq_bh_schedule_flags(bh, 0);
}
EXPORT_SYMBOL_GPL(bhq_bh_schedule_idle);

/**
 * bhq_bh_cancel() - undo a schedule
 * @bh: the BH
 *
 * The BH will not run unless it is scheduled again.  If it is scheduled
 * again before a poll dequeued it, it keeps its original place in the
 * order.  It does not wait: a poll that dequeued the BH before the cancel
 * (on another CPU) may still be about to call the callback, or be inside
 * it, when this returns.  Use bhq_bh_cancel_sync() to wait for that.
 *
 * Context: any context except NMI; never sleeps.
 * Return: nothing.
 */
void bhq_bh_cancel(struct bhq_bh *bh)
{
	/* Misuse changes nothing, so it is checked before the bits change. */
	if (bhq_misuse(atomic_read(&bh->flags) & BHQ_BH_DELETED,
		       "bhq: BH %ps cancelled after bhq_bh_delete()\n", bh->func))
		return;
	/*
	 * Fully ordered: the poll that dequeues the BH after this sees it
	 * cancelled; bhq_bh_cancel_sync() relies on it too.
	 */
	atomic_fetch_andnot(BHQ_BH_SCHEDULED | BHQ_BH_NONIDLE, &bh->flags);
}
EXPORT_SYMBOL_GPL(bhq_bh_cancel);

static struct bhq_bh *bhq_bh_alloc(struct bhq_ctx *ctx, bhq_func_t func,
				   void *opaque, unsigned int flags, gfp_t gfp)
{
	struct bhq_bh *bh;

	bh = kmem_cache_alloc(bhq_bh_cache, gfp);
	if (!bh)
		return NULL;
	bhq_bh_init(bh, ctx, func, opaque, flags);
	return bh;
}

static void bhq_bh_free_rcu(struct rcu_head *rcu)
{
	kmem_cache_free(bhq_bh_cache, container_of(rcu, struct bhq_bh_rcu, rcu));
}

/*
 * Give back a BH that was published: at once to the type-stable cache,
 * after a grace period to the debug builds' plain one, so that a schedule
 * still returning reads a struct bhq_bh either way ("Lifetimes" above).
 */
static void bhq_bh_release(struct bhq_bh *bh)
{
	if (bhq_bh_typesafe)
		kmem_cache_free(bhq_bh_cache, bh);
	else
		call_rcu(&container_of(bh, struct bhq_bh_rcu, bh)->rcu,
			 bhq_bh_free_rcu);
}

void bhq_bh_free(struct bhq_ctx *ctx, struct bhq_bh *bh)
{
	if (bh->id)
		xa_erase(&ctx->bhs, bh->id);
	bhq_bh_release(bh);
	this_cpu_dec(ctx->counters->live);
	bhq_count(&ctx->counters->deleted);
}

/**
 * bhq_bh_new() - allocate a bottom half
 * @ctx: the context it will run on
 * @func: the callback
 * @opaque: the callback's argument
 *
 * The BH is not scheduled.  Free it with bhq_bh_delete().  A BH that is
 * to be scheduled from atomic context is allocated here beforehand:
 * bhq_bh_schedule() allocates nothing and may be called from any context
 * but NMI, on PREEMPT_RT too.
 *
 * Context: process context, may sleep (GFP_KERNEL): no spinlock held,
 * interrupts and preemption enabled, not in softirq or hardirq context.
 * The same on PREEMPT_RT, where a spinlock_t sleeps but its section still
 * may not.
 * Return: the BH, or NULL if out of memory (or, with a warning, if @ctx
 * or @func is NULL).
 */
struct bhq_bh *bhq_bh_new(struct bhq_ctx *ctx, bhq_func_t func, void *opaque)
{
	struct bhq_bh *bh;

	might_sleep();
	if (bhq_misuse(!ctx || !func, "bhq: %s() needs a context and a callback\n",
		       __func__))
		return NULL;

	bh = bhq_bh_alloc(ctx, func, opaque, 0, GFP_KERNEL);
	if (!bh)
		return NULL;
	/* Tracked so that bhq_ctx_destroy() can name a leaked BH. */
	if (xa_alloc(&ctx->bhs, &bh->id, bh, xa_limit_32b, GFP_KERNEL)) {
		kmem_cache_free(bhq_bh_cache, bh);
		return NULL;
	}
	bhq_count(&ctx->counters->live);
	return bh;
}
EXPORT_SYMBOL_GPL(bhq_bh_new);

/**
 * bhq_schedule_oneshot() - run a callback once on a context
 * @ctx: the context
 * @func: the callback
 * @opaque: its argument
 * @gfp: allocation flags: GFP_ATOMIC from atomic context
 *
 * Allocates a BH, schedules it (non-idle), and frees it after it ran.
 *
 * Context: where the slab allocator may be called with @gfp, never from
 * NMI.  With GFP_KERNEL, process context, may sleep.  With GFP_ATOMIC or
 * GFP_NOWAIT, any context on a kernel without PREEMPT_RT.  On PREEMPT_RT
 * the slab allocator takes sleeping locks (its per-CPU local_lock_t and
 * the nodes' list_lock are spinlock_t there), so whatever @gfp says it may
 * not be called with interrupts or preemption disabled (local_irq_save(),
 * preempt_disable(), a raw_spinlock_t or bit spinlock held) nor from
 * hardirq context (an interrupt handler that is not threaded, an hrtimer
 * of a hard mode such as HRTIMER_MODE_REL_HARD, an smp_call_function()
 * callback, an IRQ_WORK_HARD_IRQ irq_work); under a spinlock_t, rwlock_t
 * or local_lock_t, in softirq context and in threaded interrupt handlers,
 * all preemptible there, GFP_ATOMIC does.  From the contexts excluded,
 * allocate the BH beforehand with bhq_bh_new() and use bhq_bh_schedule().
 * Return: 0, -ENOMEM, or -EINVAL (with a warning) if @ctx or @func is
 * NULL.
 */
int bhq_schedule_oneshot(struct bhq_ctx *ctx, bhq_func_t func, void *opaque,
			 gfp_t gfp)
{
	struct bhq_bh *bh;

	if (bhq_misuse(!ctx || !func, "bhq: %s() needs a context and a callback\n",
		       __func__))
		return -EINVAL;

	bh = bhq_bh_alloc(ctx, func, opaque, BHQ_BH_ONESHOT, gfp);
	if (!bh)
		return -ENOMEM;
	bhq_count(&ctx->counters->live);
	bhq_bh_schedule(bh);
	return 0;
}
EXPORT_SYMBOL_GPL(bhq_schedule_oneshot);

/**
 * bhq_bh_delete() - cancel a BH and free it
 * @bh: the BH; NULL is ignored
 *
 * The BH is freed by the next poll of its context (or by its destroy),
 * never while its callback runs; a callback may delete its own BH.  The
 * caller must not touch @bh afterwards.  Every schedule and cancel of
 * @bh must have been called before (see the table in the overview): a
 * schedule still returning is fine.  Like bhq_bh_cancel(), it does not
 * wait for a callback that is about to run or running on another CPU;
 * call bhq_bh_cancel_sync() first if the callback's data is to be freed.
 *
 * Context: any context except NMI; never sleeps.
 * Return: nothing.
 */
void bhq_bh_delete(struct bhq_bh *bh)
{
	struct bhq_ctx *ctx;
	unsigned int old;

	if (!bh)
		return;
	/*
	 * Read before the BH is published: once it is on the list, a poll
	 * on another CPU may free it at any moment.
	 */
	ctx = bh->ctx;

	old = atomic_read(&bh->flags);
	if (old & BHQ_BH_ORPHANED) {
		/* Its context is gone; the owner frees its leaked BH. */
		bhq_bh_release(bh);
		return;
	}
	if (bhq_misuse(old & BHQ_BH_DELETED,
		       "bhq: BH %ps deleted twice\n", bh->func))
		return;

	rcu_read_lock_sched();
	old = atomic_fetch_or(BHQ_BH_PENDING | BHQ_BH_DELETED, &bh->flags);
	/* A pending BH is freed when the poller dequeues it. */
	if (!(old & BHQ_BH_PENDING) && llist_add(&bh->node, &ctx->pending)) {
		bhq_debug_after_publish();
		bhq_kick(ctx);
	}
	rcu_read_unlock_sched();
}
EXPORT_SYMBOL_GPL(bhq_bh_delete);

/*
 * At destroy, after the drain: BHs the caller never deleted are a bug.
 * Name one, and leave them allocated but unusable: ORPHANED makes a later
 * schedule warn and a later delete free them without the context.
 */
void bhq_ctx_orphan_live(struct bhq_ctx *ctx)
{
	unsigned long index, leaked = 0;
	struct bhq_bh *bh;

	xa_for_each(&ctx->bhs, index, bh) {
		bhq_misuse(!leaked, "bhq: context %s destroyed with live BH %ps\n",
			   ctx->name, bh->func);
		atomic_or(BHQ_BH_ORPHANED, &bh->flags);
		leaked++;
	}
	if (leaked)
		pr_err("bhq: context %s: %lu BHs leaked\n", ctx->name, leaked);
	xa_destroy(&ctx->bhs);
}

