// SPDX-License-Identifier: GPL-2.0
/*
 * bhq queue: the life cycle of a BH, slices, poll and timeout.
 *
 * Concurrency rules
 * -----------------
 * Schedulers (any CPU, any context but NMI) touch only bh->flags, the
 * context's @pending llist, its @nonidle flag and per-CPU counters.  The
 * poller (one task at a time, bhq_poll_enter() checks it) owns everything
 * else: the slices, the poll frames, freeing BHs.
 *
 * A BH is on at most one list because only the caller that turns PENDING
 * on adds it (the atomic_fetch_or in bhq_bh_schedule_flags() and
 * bhq_bh_delete(); bhq_bh_reap() for a deferred free), and only the
 * poller turns PENDING off, after it has read bh->node.next (the fully
 * ordered atomic_fetch_andnot in bhq_bh_dequeue()).
 *
 * Poll: atomic_xchg(&ctx->nonidle, 0), then llist_del_all(&ctx->pending);
 * the list is reversed into FIFO order and appended to ctx->slices as a
 * slice.  BHs are dequeued from the oldest slice first.  A callback that
 * calls bhq_poll() again carves a new slice behind the outer ones and
 * finishes those first, so nested polls never reorder anything.
 *
 * The non-idle flag (the idea of the review of QEMU's "make aio_bh_poll()
 * O(1)"): a non-idle schedule sets ctx->nonidle after publishing the BH,
 * the poll clears it before carving.  Both sides are fully ordered
 * (llist_add's cmpxchg / the BH's fetch_or, and the xchg), so this is the
 * store-buffering pattern: either the poll's llist_del_all() sees the BH,
 * or the scheduler's read of the flag sees the cleared value and sets it
 * again.  One more case: a non-idle schedule that coalesces onto a BH
 * whose idle scheduler has set PENDING but not yet added it; that
 * scheduler re-reads the BH's NONIDLE bit after its llist_add() and
 * carries it to the flag (bhq_nonidle_while_adding()).  A non-idle BH is
 * never pending with the flag clear once its schedule returned.  Clearing
 * the flag at the end of the poll, as the review literally suggests,
 * loses the flag of every BH that a callback schedules during the poll.
 *
 * BHs carved off with the flag set may wait in slices while callbacks
 * ask for the timeout (nested polls); ctx->slices_nonidle covers them
 * until the last active slice is empty.
 *
 * The thread's sleep: schedulers that make @pending non-empty, or turn
 * @nonidle on, wake the thread unless it is polling (bhq_kick()).  Before
 * it may sleep the thread clears ctx->poller, then set_current_state() (a
 * full barrier), then reads the flag and the list in
 * bhq_compute_timeout(): again the store-buffering pattern, so one of the
 * two sees the other.  (A busy thread that sees the flag set polls again
 * without the barrier; it does not sleep on that path.)
 */

#include <linux/bug.h>
#include <linux/completion.h>
#include <linux/export.h>
#include <linux/llist.h>
#include <linux/printk.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "bhq_internal.h"
#include "bhq_trace.h"

/*
 * A slice of the pending list, carved off by one poll.  Lives on that
 * poll's stack and is unlinked as soon as its last BH is dequeued, so
 * ctx->slices holds exactly the slices with BHs still to dequeue.
 */
struct bhq_slice {
	struct list_head link;
	struct llist_node *first;
};

/* One active bhq_poll() call; frames of nested polls are chained. */
struct bhq_poll_frame {
	struct bhq_slice slice;
	struct bhq_bh *running;
	struct bhq_poll_frame *outer;
};

static struct kmem_cache *bhq_bh_cache;

int bhq_queue_init(void)
{
	bhq_bh_cache = KMEM_CACHE(bhq_bh, 0);
	return bhq_bh_cache ? 0 : -ENOMEM;
}

void bhq_queue_exit(void)
{
	kmem_cache_destroy(bhq_bh_cache);
}

void bhq_ctx_init_queue(struct bhq_ctx *ctx)
{
	init_llist_head(&ctx->pending);
	atomic_set(&ctx->nonidle, 0);
	INIT_LIST_HEAD(&ctx->slices);
	xa_init_flags(&ctx->bhs, XA_FLAGS_ALLOC1);
}

static void bhq_bh_init(struct bhq_bh *bh, struct bhq_ctx *ctx,
			bhq_func_t func, void *opaque, unsigned int flags)
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
 * was turned on.  Not needed while the thread polls: it clears ->poller,
 * then set_current_state() (full barrier) before bhq_compute_timeout()
 * reads @nonidle and @pending.  Pairs with the full barrier of the
 * llist_add() / atomic_xchg() that precedes this read of ->poller.
 */
static void bhq_kick(struct bhq_ctx *ctx)
{
	struct task_struct *thread = ctx->thread;

	if (!thread || READ_ONCE(ctx->poller) == thread)
		return;
	wake_up_process(thread);
	bhq_count(ctx, BHQ_STAT_WAKEUPS);
}

/*
 * Turn the non-idle flag on; true if it was off.  Called after the BH is
 * published (llist_add) or found pending (fetch_or), both fully ordered,
 * so the plain read is the second half of the store-buffering pattern
 * with bhq_carve_slice(): reading 1 here means the carve has not cleared
 * the flag yet and will see the BH.
 */
static bool bhq_mark_nonidle(struct bhq_ctx *ctx)
{
	return !atomic_read(&ctx->nonidle) && !atomic_xchg(&ctx->nonidle, 1);
}

/*
 * An idle schedule that adds @bh to the list: did a non-idle schedule
 * coalesce onto it meanwhile?  Such a schedule finds PENDING already set
 * (by our fetch_or) and only sets NONIDLE on the BH and the flag; a poll
 * may have cleared the flag since, without finding @bh on the list yet.
 * Then we must turn the flag on again.  Found by the spin model
 * (kmod/bhq_protocol.pml, REREAD_AFTER_ADD).
 *
 * llist_add()'s cmpxchg orders this read after the add.  Reading @bh
 * after publishing it is safe because a BH is not deleted while a
 * schedule of it is in flight (the contract of bhq_bh_delete()); oneshots
 * and flush barriers, which the poll frees or releases on its own, are
 * scheduled non-idle and never get here.
 */
static unsigned int bhq_nonidle_while_adding(struct bhq_bh *bh)
{
	return atomic_read(&bh->flags) & BHQ_BH_NONIDLE;
}

static void bhq_bh_schedule_flags(struct bhq_bh *bh, unsigned int set)
{
	struct bhq_ctx *ctx = bh->ctx;
	bool kick = false;
	unsigned int old;

	/* Misuse; checked before any bit is set, so that nothing changes. */
	if (bhq_misuse(atomic_read(&bh->flags) & (BHQ_BH_DELETED | BHQ_BH_ORPHANED),
		       "bhq: BH %ps scheduled after bhq_bh_delete() or after its context was destroyed\n",
		       bh->func))
		return;

	set |= BHQ_BH_PENDING | BHQ_BH_SCHEDULED | BHQ_BH_COUNTED;
	/* Pairs with the fetch_andnot in bhq_bh_dequeue(). */
	old = atomic_fetch_or(set, &bh->flags);

	bhq_count(ctx, BHQ_STAT_SCHEDULED);
	trace_bhq_schedule(ctx, bh, !(set & BHQ_BH_NONIDLE),
			   old & BHQ_BH_PENDING);
	if (!(old & BHQ_BH_PENDING)) {
		kick = llist_add(&bh->node, &ctx->pending);
		if (!(set & BHQ_BH_NONIDLE))
			set |= bhq_nonidle_while_adding(bh);
	} else {
		bhq_count(ctx, BHQ_STAT_COALESCED);
	}

	/* One wakeup at most: the list was empty, or the first non-idle BH. */
	if ((set & BHQ_BH_NONIDLE) && bhq_mark_nonidle(ctx))
		kick = true;
	if (kick)
		bhq_kick(ctx);
}

void bhq_bh_schedule(struct bhq_bh *bh)
{
	bhq_bh_schedule_flags(bh, BHQ_BH_NONIDLE);
}
EXPORT_SYMBOL_GPL(bhq_bh_schedule);

void bhq_bh_schedule_idle(struct bhq_bh *bh)
{
	bhq_bh_schedule_flags(bh, 0);
}
EXPORT_SYMBOL_GPL(bhq_bh_schedule_idle);

void bhq_bh_cancel(struct bhq_bh *bh)
{
	unsigned int old;

	old = atomic_fetch_andnot(BHQ_BH_SCHEDULED | BHQ_BH_NONIDLE,
				  &bh->flags);
	bhq_misuse(old & BHQ_BH_DELETED,
		   "bhq: BH %ps cancelled after bhq_bh_delete()\n", bh->func);
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

static void bhq_bh_free(struct bhq_ctx *ctx, struct bhq_bh *bh)
{
	if (bh->id)
		xa_erase(&ctx->bhs, bh->id);
	kmem_cache_free(bhq_bh_cache, bh);
	this_cpu_dec(ctx->counters->v[BHQ_STAT_LIVE]);
	bhq_count(ctx, BHQ_STAT_DELETED);
}

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
	bhq_count(ctx, BHQ_STAT_LIVE);
	return bh;
}
EXPORT_SYMBOL_GPL(bhq_bh_new);

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
	bhq_count(ctx, BHQ_STAT_LIVE);
	bhq_bh_schedule(bh);
	return 0;
}
EXPORT_SYMBOL_GPL(bhq_schedule_oneshot);

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

	old = atomic_fetch_or(BHQ_BH_PENDING | BHQ_BH_DELETED, &bh->flags);
	if (old & BHQ_BH_ORPHANED) {
		/* Its context is gone; the owner frees its leaked BH. */
		kmem_cache_free(bhq_bh_cache, bh);
		return;
	}
	if (bhq_misuse(old & BHQ_BH_DELETED,
		       "bhq: BH %ps deleted twice\n", bh->func))
		return;
	/* A pending BH is freed when the poller dequeues it. */
	if (!(old & BHQ_BH_PENDING) && llist_add(&bh->node, &ctx->pending))
		bhq_kick(ctx);
}
EXPORT_SYMBOL_GPL(bhq_bh_delete);

/* Is @bh's callback running in an active poll of @ctx (owner only)? */
static bool bhq_bh_running(struct bhq_ctx *ctx, struct bhq_bh *bh)
{
	struct bhq_poll_frame *frame;

	for (frame = ctx->innermost; frame; frame = frame->outer) {
		if (frame->running == bh)
			return true;
	}
	return false;
}

/*
 * Carve the pending list off as a new slice, behind the slices of outer
 * polls.  Clearing the flag before llist_del_all() is what keeps it
 * right; see "The non-idle flag" at the top of this file.
 */
static void bhq_carve_slice(struct bhq_ctx *ctx, struct bhq_slice *slice)
{
	struct llist_node *first;
	bool nonidle = false;

	/*
	 * Pairs with bhq_mark_nonidle().  Reading 0 clears nothing, so
	 * needs no ordering: a scheduler that sets the flag meanwhile
	 * leaves it set for the next poll.
	 */
	if (atomic_read(&ctx->nonidle))
		nonidle = atomic_xchg(&ctx->nonidle, 0);

	/*
	 * A plain read spares the xchg of an empty list (nested polls); it is
	 * ordered after the flag's xchg just as llist_del_all() would be.
	 */
	first = llist_empty(&ctx->pending) ? NULL : llist_del_all(&ctx->pending);
	if (first) {
		slice->first = llist_reverse_order(first);
		list_add_tail(&slice->link, &ctx->slices);
	}
	/*
	 * The BH that set the flag may sit in any active slice (it can have
	 * been carved off by an earlier poll before it set the flag).
	 */
	if (nonidle && !list_empty(&ctx->slices))
		WRITE_ONCE(ctx->slices_nonidle, true);
}

/* Take the next BH off the oldest slice; unlink the slice once empty. */
static struct bhq_bh *bhq_slice_pop(struct bhq_ctx *ctx)
{
	struct bhq_slice *slice;
	struct llist_node *node;

	slice = list_first_entry_or_null(&ctx->slices, struct bhq_slice, link);
	if (!slice)
		return NULL;

	node = slice->first;
	slice->first = node->next;
	if (!slice->first) {
		list_del(&slice->link);
		if (list_empty(&ctx->slices))
			WRITE_ONCE(ctx->slices_nonidle, false);
	}
	return llist_entry(node, struct bhq_bh, node);
}

/*
 * Turn PENDING off and return the flags the BH had.  Fully ordered: the
 * read of bh->node.next in bhq_slice_pop() happens before a scheduler can
 * see PENDING off and reuse the node (pairs with the fetch_or in
 * bhq_bh_schedule_flags() and bhq_bh_delete()).
 */
static unsigned int bhq_bh_dequeue(struct bhq_bh *bh)
{
	return atomic_fetch_andnot(BHQ_BH_DEQUEUE_MASK, &bh->flags);
}

/* Free a deleted BH, unless its callback is still on the stack. */
static void bhq_bh_reap(struct bhq_ctx *ctx, struct bhq_bh *bh)
{
	if (unlikely(bhq_bh_running(ctx, bh))) {
		/* Deleted by its own callback, then a nested poll: later. */
		atomic_or(BHQ_BH_PENDING, &bh->flags);
		llist_add(&bh->node, &ctx->pending);
		return;
	}
	bhq_bh_free(ctx, bh);
}

/*
 * Run or skip one dequeued BH.  Returns true if a non-idle callback ran.
 * After the callback returns, @bh is touched only when it is a oneshot:
 * any other BH may have been deleted, or (a flush barrier) gone out of
 * scope.
 */
static bool bhq_bh_dispatch(struct bhq_ctx *ctx, struct bhq_poll_frame *frame,
			    struct bhq_bh *bh)
{
	unsigned int flags = bhq_bh_dequeue(bh);
	bool nonidle = flags & BHQ_BH_NONIDLE;
	bhq_func_t func;

	if ((flags & (BHQ_BH_SCHEDULED | BHQ_BH_DELETED)) != BHQ_BH_SCHEDULED) {
		if (flags & BHQ_BH_COUNTED)
			bhq_count(ctx, BHQ_STAT_CANCELLED);
		if (flags & BHQ_BH_DELETED)
			bhq_bh_reap(ctx, bh);
		return false;
	}

	func = bh->func;
	frame->running = bh;
	trace_bhq_execute_start(ctx, bh, func);
	func(bh->opaque);
	trace_bhq_execute_end(ctx, bh, func);
	frame->running = NULL;

	bhq_count(ctx, BHQ_STAT_EXECUTED);
	if (!nonidle)
		bhq_count(ctx, BHQ_STAT_EXECUTED_IDLE);
	if (flags & BHQ_BH_ONESHOT)
		bhq_bh_free(ctx, bh);
	return nonidle;
}

/*
 * Become the poller of @ctx, or find that we already are (nesting).
 * Returns false, after a warning, on misuse.
 */
static bool bhq_poll_enter(struct bhq_ctx *ctx)
{
	struct task_struct *owner;

	if (bhq_misuse(!in_task(), "bhq: %s polled outside process context\n",
		       ctx->name))
		return false;
	if (ctx->thread) {
		if (bhq_misuse(ctx->thread != current,
			       "bhq: %s polled by %s/%d, not by its own thread\n",
			       ctx->name, current->comm, task_pid_nr(current)))
			return false;
		/* Only the thread gets here: no race to arbitrate. */
		WRITE_ONCE(ctx->poller, current);
		return true;
	}

	owner = cmpxchg(&ctx->poller, NULL, current);
	if (bhq_misuse(owner && owner != current,
		       "bhq: %s polled by %s/%d while %s/%d polls it\n",
		       ctx->name, current->comm, task_pid_nr(current),
		       owner->comm, task_pid_nr(owner)))
		return false;
	return true;
}

int __bhq_poll(struct bhq_ctx *ctx)
{
	struct bhq_poll_frame frame = { .outer = ctx->innermost };
	unsigned int dequeued = 0;
	bool progress = false;
	struct bhq_bh *bh;

	if (!bhq_poll_enter(ctx))
		return -EBUSY;

	ctx->innermost = &frame;
	ctx->depth++;
	bhq_count(ctx, BHQ_STAT_POLLS);
	if (ctx->depth > 1)
		bhq_count(ctx, BHQ_STAT_NESTED_POLLS);
	if (ctx->depth > ctx->max_depth)
		WRITE_ONCE(ctx->max_depth, ctx->depth);

	trace_bhq_poll_start(ctx, ctx->depth, 0);
	bhq_carve_slice(ctx, &frame.slice);
	while ((bh = bhq_slice_pop(ctx))) {
		progress |= bhq_bh_dispatch(ctx, &frame, bh);
		dequeued++;
	}
	trace_bhq_poll_end(ctx, ctx->depth, dequeued);

	ctx->innermost = frame.outer;
	if (!--ctx->depth) {
		/*
		 * Hand the context over.  Release pairs with the next manual
		 * poller's cmpxchg in bhq_poll_enter(): it sees our slices
		 * and frames done.  For the thread, the store also pairs with
		 * bhq_kick(): the set_current_state() before the thread's next
		 * bhq_compute_timeout() orders it before the re-check.
		 */
		smp_store_release(&ctx->poller, NULL);
	}
	if (progress)
		bhq_count(ctx, BHQ_STAT_PROGRESS_POLLS);
	return progress;
}

bool bhq_poll(struct bhq_ctx *ctx)
{
	return __bhq_poll(ctx) > 0;
}
EXPORT_SYMBOL_GPL(bhq_poll);

/*
 * Would bhq_compute_timeout() say 0?  Uncounted, for the thread's busy
 * loop; an answer of false is only a hint to go and check properly.
 */
bool bhq_work_pending(struct bhq_ctx *ctx)
{
	return READ_ONCE(ctx->slices_nonidle) || atomic_read(&ctx->nonidle);
}

s64 bhq_compute_timeout(struct bhq_ctx *ctx)
{
	s64 timeout;

	/*
	 * The flag first: if it reads 0 while a non-idle BH is being added,
	 * its scheduler turns the flag on after us and wakes the thread.
	 */
	if (bhq_work_pending(ctx)) {
		timeout = 0;
		bhq_count(ctx, BHQ_STAT_TIMEOUTS_ZERO);
	} else if (!llist_empty(&ctx->pending) || !list_empty(&ctx->slices)) {
		timeout = BHQ_IDLE_TIMEOUT_NS;
		bhq_count(ctx, BHQ_STAT_TIMEOUTS_IDLE);
	} else {
		timeout = BHQ_TIMEOUT_INFINITE;
		bhq_count(ctx, BHQ_STAT_TIMEOUTS_INFINITE);
	}
	return timeout;
}
EXPORT_SYMBOL_GPL(bhq_compute_timeout);

/*
 * Poll until nothing is pending; a top-level poll leaves no slices.
 * Like drain_workqueue(), a BH that keeps re-scheduling itself keeps us
 * here, with a warning.
 */
void bhq_ctx_drain(struct bhq_ctx *ctx)
{
	unsigned int rounds = 0;

	while (!llist_empty(&ctx->pending)) {
		if (__bhq_poll(ctx) < 0)
			return;
		if (++rounds % 1000 == 0)
			pr_warn("bhq: %s: still not drained after %u polls\n",
				ctx->name, rounds);
	}
}

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

/* Is current running a callback of @ctx (or polling it)? */
bool bhq_in_own_callback(struct bhq_ctx *ctx)
{
	return current == ctx->thread || READ_ONCE(ctx->poller) == current;
}

struct bhq_barrier {
	struct bhq_bh bh;
	struct completion done;
};

static void bhq_barrier_fn(void *opaque)
{
	complete(opaque);
}

/*
 * Queue a barrier BH on the stack and wait for it: the order is FIFO, so
 * every BH scheduled before it has run by then.  Only a oneshot is touched
 * by the poll after its callback, so the barrier may go out of scope as
 * soon as it completed.
 */
void bhq_flush_barrier(struct bhq_ctx *ctx)
{
	struct bhq_barrier barrier;

	init_completion(&barrier.done);
	bhq_bh_init(&barrier.bh, ctx, bhq_barrier_fn, &barrier.done, 0);
	bhq_bh_schedule(&barrier.bh);
	/* A manual context is polled here; -EBUSY: another poller runs it. */
	if (!ctx->thread)
		__bhq_poll(ctx);
	wait_for_completion(&barrier.done);
}
