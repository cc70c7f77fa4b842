// SPDX-License-Identifier: GPL-2.0
/*
 * bhq poll: who may poll a context, slices and their dispatch, the O(1)
 * timeout, flush barriers, and the drain of a dying context.
 *
 * Ownership
 * ---------
 * One task at a time owns a context's poll role, ctx->poller, and with
 * it ctx->slices, ctx->innermost, ctx->depth and the right to free BHs.
 * Nothing of that state is read before the role is taken.
 *
 * - A threaded context's role belongs to its thread, which takes it with
 *   a plain store at each top-level poll; nobody else may poll it.
 * - A manual context's role is taken with cmpxchg(0 -> task) by its
 *   owner's bhq_poll(); by a flush (or a sync cancel) from another task,
 *   which borrows it, tagged BHQ_POLLER_BORROWED, to run its barrier
 *   while the owner does not poll; and by destroy, which claims it for
 *   good, tagged BHQ_POLLER_DYING, once the task that holds it released
 *   it.  An owner that meets a borrower waits until the borrower is done
 *   (the borrower wakes it).  Meeting anyone else is misuse: two tasks
 *   polling, or a poll after destroy started, which the caller of
 *   destroy rules out (include/linux/bhq.h, note (4)); the check only
 *   reports it while the context is still being drained.
 * - While the owner waits (ctx->owner_waits, set until it holds the role)
 *   flushes do not borrow the role again: they wait for the owner's poll
 *   to run their barriers.  A flush that read the flag before the owner
 *   set it may still borrow once, so the owner waits for at most one
 *   borrowed poll per flushing task, however long the flushes go on.
 * - The role is released with smp_store_release() at the end of the
 *   top-level poll; the next owner's cmpxchg (or, for the thread, the
 *   set_current_state() before its sleep, see bhq_kick()) pairs with it.
 */

#include <linux/bug.h>
#include <linux/completion.h>
#include <linux/export.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/llist.h>
#include <linux/lockdep.h>
#include <linux/pid.h>
#include <linux/printk.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/stat.h>
#include <linux/sched/task.h>
#include <linux/wait_bit.h>

#include "bhq_internal.h"
#include <trace/events/bhq.h>

/*
 * A slice of the pending list, carved off by one poll.  Lives on that
 * poll's stack.  The poll dequeues from it directly; only when a callback
 * polls again (nesting) and BHs are left in it is it linked on
 * ctx->slices, for the nested poll to run first, and it is unlinked as
 * soon as its last BH is dequeued.  So ctx->slices holds, oldest first,
 * the slices of outer polls with BHs still to dequeue, and a poll that
 * does not nest never touches the list.
 */
struct bhq_slice {
	struct list_head link;
	struct llist_node *first;
};

/*
 * One active poll; frames of nested polls are chained.  @discard: skip
 * every callback but barriers (the end of a drain that did not finish).
 */
struct bhq_poll_frame {
	struct bhq_slice slice;
	struct bhq_bh *running;
	struct bhq_poll_frame *outer;
	bool discard;
};

/* How many polls a dying context's drain makes before it gives up. */
#define BHQ_DRAIN_MAX_POLLS	1000
/* A destroy waiting for a manual context's poller says so after this. */
#define BHQ_CLAIM_WARN_JIFFIES	(10 * HZ)

/* --- ownership ----------------------------------------------------------- */

/* Take a manual context's poll role, tagged with @tag; true if taken. */
static bool bhq_poll_take(struct bhq_ctx *ctx, unsigned long tag)
{
	return !cmpxchg(&ctx->poller, 0, (unsigned long)current | tag);
}

/*
 * Hand the role back.  Release pairs with the next manual poller's
 * cmpxchg in bhq_poll_take() (it sees our slices and frames done) and
 * with the acquire in bhq_bh_cancel_sync() (it sees our callbacks done).
 * For the thread, the store also pairs with bhq_kick(): the
 * set_current_state() before the thread's next bhq_compute_timeout()
 * orders it before the re-check.  A borrower then wakes an owner that
 * waits in bhq_poll_enter(); the full barrier pairs with the one of
 * set_current_state() in that wait_var_event().
 */
static void bhq_poll_release(struct bhq_ctx *ctx)
{
	/* Our own value; other tasks only try (and fail) to cmpxchg it. */
	unsigned long poller = READ_ONCE(ctx->poller);

	/* Pairs with bhq_poll_take(), bhq_bh_cancel_sync(), bhq_kick(). */
	smp_store_release(&ctx->poller, 0);
	if (poller & BHQ_POLLER_BORROWED) {
		/* Pairs with set_current_state() in bhq_poll_enter()'s wait. */
		smp_mb();
		wake_up_var(&ctx->poller);
	}
}

/*
 * The owner of a manual context met @owner, neither free nor a borrower:
 * another task polls (misuse), or the destroy has claimed the context (a
 * poll after destroy started; the caller of destroy had to rule it out).
 * The caller holds rcu_read_lock(), so @owner's task_struct is still
 * there.
 */
static void bhq_poll_misuse_busy(struct bhq_ctx *ctx, unsigned long owner)
{
	char comm[TASK_COMM_LEN];
	struct task_struct *task = bhq_poller_task(owner);

	get_task_comm(comm, task);
	bhq_misuse(true, "bhq: %s polled by %s/%d while %s/%d %s\n",
		   ctx->name, current->comm, task_pid_nr(current), comm,
		   task_pid_nr(task),
		   owner & BHQ_POLLER_DYING ? "destroys it" : "polls it");
}

/*
 * The owner of a manual context found the role taken.  A flush borrows
 * it: wait until the flush is done, and take the role then.
 * ctx->owner_waits stays set from our first wait until we hold the role,
 * so flushes that see it leave the role to us ("Ownership" above).
 * Waiting for a borrowed poll is waiting for its callbacks, as a flush
 * does: lockdep sees it so.  Out of line: inlined, its wait queue entry
 * gave every poll a stack canary and six register saves.
 */
static noinline bool bhq_poll_enter_slow(struct bhq_ctx *ctx)
{
	unsigned int borrows = 0;
	unsigned long owner;

	for (;;) {
		/* The owner's task_struct outlives the read: see the misuse. */
		rcu_read_lock();
		owner = cmpxchg(&ctx->poller, 0, (unsigned long)current);
		if (owner && !(owner & BHQ_POLLER_BORROWED))
			bhq_poll_misuse_busy(ctx, owner);
		rcu_read_unlock();
		if (!owner || !(owner & BHQ_POLLER_BORROWED))
			break;
		bhq_lockdep_wait_callbacks(ctx);
		/* bhq_poll_release() wakes us. */
		WRITE_ONCE(ctx->owner_waits, true);
		wait_var_event(&ctx->poller, READ_ONCE(ctx->poller) != owner);
		borrows++;
	}
	WRITE_ONCE(ctx->owner_waits, false);
	bhq_debug_owner_waited(ctx, borrows);
	return !owner;
}

/*
 * Become the poller of @ctx, or find that we already are (nesting).
 * Returns false after a warning on misuse.
 */
static bool bhq_poll_enter(struct bhq_ctx *ctx)
{
	if (bhq_misuse(!in_task(), "bhq: %s polled outside process context\n",
		       ctx->name))
		return false;
	if (ctx->thread) {
		if (bhq_misuse(ctx->thread != current,
			       "bhq: %s polled by %s/%d, not by its own thread\n",
			       ctx->name, current->comm, task_pid_nr(current)))
			return false;
		/* Only the thread gets here: no race to arbitrate. */
		WRITE_ONCE(ctx->poller, (unsigned long)current);
		return true;
	}

	/* Nested: only this task can have made itself the poller. */
	if (bhq_poller_task(READ_ONCE(ctx->poller)) == current)
		return true;
	/* The fast path: one cmpxchg, the role was free. */
	if (likely(bhq_poll_take(ctx, 0)))
		return true;
	return bhq_poll_enter_slow(ctx);
}

/* Is current running a callback of @ctx (or polling it)? */
bool bhq_in_own_callback(struct bhq_ctx *ctx)
{
	return current == ctx->thread ||
	       bhq_poller_task(READ_ONCE(ctx->poller)) == current;
}

/* Is @bh's callback running in an active poll of @ctx (owner only)? */
bool bhq_bh_running(struct bhq_ctx *ctx, struct bhq_bh *bh)
{
	struct bhq_poll_frame *frame;

	for (frame = ctx->innermost; frame; frame = frame->outer) {
		if (frame->running == bh)
			return true;
	}
	return false;
}

/* --- slices and dispatch ------------------------------------------------- */

/*
 * Carve the pending list off as a new slice, behind the slices of outer
 * polls.  Clearing the flag before llist_del_all() is what keeps it
 * right; see "The non-idle flag" in bhq_queue.c.
 */
static void bhq_carve_slice(struct bhq_ctx *ctx, struct bhq_poll_frame *frame)
{
	struct bhq_slice *outer = frame->outer ? &frame->outer->slice : NULL;
	struct llist_node *first;
	bool nonidle;

	/*
	 * Nesting: the BHs left in the outer poll's slice run before ours.
	 * Its own outer slices are linked already (or empty: a nested poll
	 * runs every slice to its end before it returns).
	 */
	if (outer && outer->first)
		list_add_tail(&outer->link, &ctx->slices);

	/*
	 * Pairs with bhq_mark_nonidle().  Reading 0 clears nothing, so
	 * needs no ordering: a scheduler that sets the flag meanwhile
	 * leaves it set for the next poll.  Only the poller clears the flag,
	 * so a plain store does; llist_del_all() (an xchg, fully ordered)
	 * then orders it before our read of the list.
	 */
	nonidle = atomic_read(&ctx->nonidle);
	if (nonidle) {
		atomic_set(&ctx->nonidle, 0);
		first = llist_del_all(&ctx->pending);
	} else {
		/* A plain read spares the xchg of an empty list (nested polls). */
		first = llist_empty(&ctx->pending) ? NULL :
			llist_del_all(&ctx->pending);
	}
	if (first) {
		frame->slice.first = llist_reverse_order(first);
		WRITE_ONCE(ctx->sliced, true);
	}
	/*
	 * The BH that set the flag may sit in any active slice (it can have
	 * been carved off by an earlier poll before it set the flag).
	 */
	if (nonidle && ctx->sliced)
		WRITE_ONCE(ctx->slices_nonidle, true);
}

/*
 * Take the next BH off the oldest slice: a linked one of an outer poll,
 * else @frame's own (@frame is the innermost poll).  Unlink a linked
 * slice once empty; once every slice is, say so.
 */
static struct bhq_bh *bhq_slice_pop(struct bhq_ctx *ctx,
				    struct bhq_poll_frame *frame)
{
	struct bhq_slice *slice;
	struct llist_node *node;

	slice = list_first_entry_or_null(&ctx->slices, struct bhq_slice, link);
	if (!slice)
		slice = &frame->slice;
	node = slice->first;
	if (!node)
		return NULL;

	slice->first = node->next;
	if (!slice->first) {
		if (slice != &frame->slice)
			list_del(&slice->link);
		if (list_empty(&ctx->slices) && !frame->slice.first) {
			WRITE_ONCE(ctx->sliced, false);
			WRITE_ONCE(ctx->slices_nonidle, false);
		}
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

/*
 * Free a deleted BH (or a oneshot that is skipped), unless its callback is
 * still on the stack: deleted by its own callback, then a nested poll.
 */
static void bhq_bh_reap(struct bhq_ctx *ctx, struct bhq_bh *bh)
{
	if (unlikely(bhq_bh_running(ctx, bh)))
		bhq_bh_requeue(ctx, bh);
	else
		bhq_bh_free(ctx, bh);
}

/* Run one callback, seen by lockdep as a reader of the context's map. */
static void bhq_bh_run(struct bhq_ctx *ctx, struct bhq_poll_frame *frame,
		       struct bhq_bh *bh)
{
	bhq_func_t func = bh->func;

	frame->running = bh;
	lock_map_acquire_read(&ctx->lockdep_map);
	trace_bhq_execute_start(ctx, bh, func);
	func(bh->opaque);
	trace_bhq_execute_end(ctx, bh, func);
	lock_map_release(&ctx->lockdep_map);
	frame->running = NULL;
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
	bool run = (flags & (BHQ_BH_SCHEDULED | BHQ_BH_DELETED)) ==
		   BHQ_BH_SCHEDULED;

	if (unlikely(frame->discard) && !(flags & BHQ_BH_BARRIER))
		run = false;
	if (!run) {
		if (flags & BHQ_BH_COUNTED)
			bhq_count(&ctx->counters->cancelled);
		if (flags & (BHQ_BH_DELETED | BHQ_BH_ONESHOT))
			bhq_bh_reap(ctx, bh);
		return false;
	}
	/*
	 * A flush waits for the callbacks that were running to return, so a
	 * barrier met by a nested poll runs in a later, top-level one.
	 */
	if (unlikely(flags & BHQ_BH_BARRIER) && ctx->depth > 1) {
		bhq_bh_requeue(ctx, bh);
		return false;
	}

	/*
	 * Counted before the callback: once a flush barrier's callback has
	 * let its flusher go, the flusher's counters must already show it.
	 */
	bhq_count(&ctx->counters->executed);
	if (!nonidle)
		bhq_count(&ctx->counters->executed_idle);
	bhq_bh_run(ctx, frame, bh);
	if (flags & BHQ_BH_ONESHOT)
		bhq_bh_free(ctx, bh);
	return nonidle;
}

/* --- poll ---------------------------------------------------------------- */

/*
 * One poll by the owner of the role: carve a slice, then run every slice
 * (the outer polls' first) to the end.  Returns true if a non-idle BH ran.
 */
static bool bhq_poll_owned(struct bhq_ctx *ctx, bool discard)
{
	struct bhq_poll_frame frame = {
		.outer = ctx->innermost,
		.discard = discard,
	};
	unsigned int dequeued = 0;
	bool progress = false;
	struct bhq_bh *bh;

	ctx->innermost = &frame;
	ctx->depth++;
	bhq_count(&ctx->counters->polls);
	if (ctx->depth > 1)
		bhq_count(&ctx->counters->nested_polls);
	if (ctx->depth > ctx->max_depth)
		WRITE_ONCE(ctx->max_depth, ctx->depth);

	trace_bhq_poll_start(ctx, ctx->depth, 0);
	bhq_carve_slice(ctx, &frame);
	while ((bh = bhq_slice_pop(ctx, &frame))) {
		progress |= bhq_bh_dispatch(ctx, &frame, bh);
		dequeued++;
	}
	trace_bhq_poll_end(ctx, ctx->depth, dequeued);

	ctx->innermost = frame.outer;
	ctx->depth--;
	if (progress)
		bhq_count(&ctx->counters->progress_polls);
	return progress;
}

int __bhq_poll(struct bhq_ctx *ctx)
{
	bool progress;

	if (bhq_debug_poll_entry(ctx))
		return -EBUSY;
	if (!bhq_poll_enter(ctx))
		return -EBUSY;
	progress = bhq_poll_owned(ctx, false);
	if (!ctx->depth)
		bhq_poll_release(ctx);
	return progress;
}

/**
 * bhq_poll() - run the scheduled BHs of a context (QEMU's aio_bh_poll())
 * @ctx: the context
 *
 * Carves the pending list off as a new slice, chains it behind the slices
 * of active outer polls, and runs slices in FIFO order, each slice's BHs
 * in FIFO order.  A callback may call bhq_poll() on its own context: the
 * nested poll first runs what is left of the outer slices, then its own.
 * Cost: O(number of scheduled BHs), independent of how many exist.
 *
 * Context: process context, may sleep (callbacks may, and a poll waits
 * while a flush from another task polls the context).  For a manual
 * context, by one task at a time; for a threaded context, only from its
 * own thread (its callbacks).  Other callers get a warning and false.
 * Return: true if a non-idle BH ran.
 */
bool bhq_poll(struct bhq_ctx *ctx)
{
	might_sleep();
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

/**
 * bhq_compute_timeout() - how long the poller may sleep, in O(1)
 * @ctx: the context
 *
 * Never walks a list.  It may over-estimate urgency (return 0 when only
 * idle or cancelled BHs remain), but never returns a non-zero timeout
 * while a non-idle scheduled BH waits, in the pending list or in a slice
 * of an active poll.
 *
 * Context: any; only the poller's answer is stable, others get a snapshot.
 * Return: BHQ_TIMEOUT_INFINITE when nothing is pending, 0 when a non-idle
 * BH is pending, BHQ_IDLE_TIMEOUT_NS when only idle BHs are.
 */
s64 bhq_compute_timeout(struct bhq_ctx *ctx)
{
	s64 timeout;

	/*
	 * The flag first: if it reads 0 while a non-idle BH is being added,
	 * its scheduler turns the flag on after us and wakes the thread.
	 */
	if (bhq_work_pending(ctx)) {
		timeout = 0;
		bhq_count(&ctx->counters->timeouts_zero);
	} else if (!llist_empty(&ctx->pending) || READ_ONCE(ctx->sliced)) {
		timeout = BHQ_IDLE_TIMEOUT_NS;
		bhq_count(&ctx->counters->timeouts_idle);
	} else {
		timeout = BHQ_TIMEOUT_INFINITE;
		bhq_count(&ctx->counters->timeouts_infinite);
	}
	return timeout;
}
EXPORT_SYMBOL_GPL(bhq_compute_timeout);

/* --- polling before sleeping -------------------------------------------- */

/*
 * Polling
 * -------
 * A threaded context's thread that runs out of work may poll for a while
 * before it sleeps, as QEMU's IOThreads do (poll-max-ns, poll-grow,
 * poll-shrink): a BH scheduled meanwhile then runs without a wakeup, which
 * is what a wakeup-bound load pays for most.  While it polls the thread
 * holds its context's poll role, so bhq_kick() sees it as the poller and
 * does not call wake_up_process() at all.  When its window ends it
 * releases the role and re-checks before it sleeps, the same steps as at
 * the end of a poll, so no wakeup is lost (bhq_kick()).
 *
 * The window adapts to how long the thread was idle, from the moment it
 * ran out of work to the moment it next found a non-idle BH: an idle
 * period no longer than the window leaves it alone; one longer than
 * @poll_max_ns shrinks it (to 0 with a shrink factor of 0), so a quiet
 * context soon polls no more and sleeps at once; one in between grows it
 * (from BHQ_POLL_START_NS), up to @poll_max_ns.  Polling stops early when
 * the CPU is wanted (need_resched(), or another task is runnable on it)
 * or the thread must stop, and idle BHs do not end it: they run on their
 * timeout, as without polling.  A thread polls once per idle period:
 * woken for idle BHs, it does not poll again until a non-idle BH ended
 * the period.
 */

/**
 * bhq_poll_next_window() - the polling window after an idle period
 * @window: the window now, in ns
 * @block_ns: how long the thread was idle
 * @max_ns: the longest window, 0 for no polling
 * @grow: factor of a growing window (0: 2)
 * @shrink: divisor of a shrinking window (0: shrink to 0)
 *
 * Context: any; a pure function, exported for the KUnit suites.
 * Return: the new window, at most @max_ns.
 */
u64 bhq_poll_next_window(u64 window, u64 block_ns, u64 max_ns,
			 unsigned int grow, unsigned int shrink)
{
	if (!max_ns)
		return 0;
	if (block_ns <= window)
		return min(window, max_ns);
	if (block_ns > max_ns)
		return shrink ? min(window / shrink, max_ns) : 0;
	if (window >= max_ns)
		return max_ns;
	window = window ? window * (grow ?: 2) : BHQ_POLL_START_NS;
	return min(window, max_ns);
}
EXPORT_SYMBOL_IF_KUNIT(bhq_poll_next_window);

/* The thread found work after @block_ns idle: adapt its window. */
void bhq_poll_adapt(struct bhq_ctx *ctx, u64 block_ns)
{
	u64 old = READ_ONCE(ctx->poll_ns);
	u64 new = bhq_poll_next_window(old, block_ns,
				       READ_ONCE(ctx->poll_max_ns),
				       READ_ONCE(ctx->poll_grow),
				       READ_ONCE(ctx->poll_shrink));

	if (new == old || bhq_debug_spin_held())
		return;
	/* Read by debugfs and by bhq_ctx_set_polling() without the thread. */
	WRITE_ONCE(ctx->poll_ns, new);
	trace_bhq_poll_window(ctx, old, new, block_ns);
}

/*
 * Poll without sleeping until a non-idle BH is pending or the window is
 * over; true if one is.  The thread holds the poll role meanwhile (a plain
 * store: nobody else polls a threaded context), so that bhq_kick() leaves
 * it alone.  When it finds work it keeps the role for the poll that
 * follows, so a scheduler never sees it released in between; otherwise it
 * releases the role as at the end of a poll, and the caller's
 * set_current_state() before its re-check pairs with bhq_kick() as there.
 */
bool bhq_poll_spin(struct bhq_ctx *ctx)
{
	u64 window = min(READ_ONCE(ctx->poll_ns), READ_ONCE(ctx->poll_max_ns));
	u64 start, now;
	bool found = false;

	if (!window)
		return false;
	WRITE_ONCE(ctx->poller, (unsigned long)current);
	start = ktime_get_ns();
	for (;;) {
		if (bhq_work_pending(ctx)) {
			found = true;
			break;
		}
		if (need_resched() || kthread_should_stop())
			break;
		/*
		 * Not while another task waits for this CPU (as KVM's halt
		 * polling and vhost's busy loop): it may be the producer
		 * whose next BH we poll for.  A KUnit spin hold polls on
		 * until need_resched().
		 */
		if (!single_task_running() && !bhq_debug_spin_held())
			break;
		cpu_relax();
		now = ktime_get_ns();
		if (now - start >= window && !bhq_debug_spin_on(start))
			break;
	}
	now = ktime_get_ns();
	if (found) {
		bhq_count(&ctx->counters->spin_hits);
	} else {
		bhq_poll_release(ctx);
		bhq_count(&ctx->counters->spin_misses);
	}
	this_cpu_add(ctx->counters->spin_ns, now - start);
	return found;
}

/**
 * bhq_ctx_set_polling() - let a context's thread poll before it sleeps
 * @ctx: a threaded or per-CPU context
 * @max_ns: the longest polling window, at most BHQ_POLL_MAX_NS_LIMIT
 *	(1 ms); 0 turns polling off
 * @grow: factor by which a window grows, 2 to BHQ_POLL_FACTOR_MAX, or 0
 *	for 2
 * @shrink: divisor by which a window shrinks, 2 to BHQ_POLL_FACTOR_MAX,
 *	or 0 to drop it to 0 at once
 *
 * When the thread runs out of work it polls for up to its window before
 * it sleeps, as QEMU's IOThreads do; a BH scheduled while it polls runs
 * without a wakeup (no wake_up_process() at all).  The window adapts:
 * it starts at 0, grows after idle periods shorter than @max_ns, and
 * shrinks after longer ones, so a quiet context does not poll; polling
 * stops early when the CPU is wanted.  The window in use is in debugfs
 * (``poll_ns``); spin_hits, spin_misses and spin_ns count its work.  The
 * per-CPU contexts start with the module parameter poll_max_ns.  The
 * three settings are read by the thread one at a time: a change reaches
 * it at its next idle period, not as a group.
 *
 * Context: process context or any context that may not sleep; not for
 * a manual context (it has no thread).
 * Return: 0, or -EINVAL for a manual context or a value out of range.
 */
int bhq_ctx_set_polling(struct bhq_ctx *ctx, u64 max_ns, unsigned int grow,
			unsigned int shrink)
{
	if (!ctx || !ctx->thread || max_ns > BHQ_POLL_MAX_NS_LIMIT ||
	    grow == 1 || grow > BHQ_POLL_FACTOR_MAX ||
	    shrink == 1 || shrink > BHQ_POLL_FACTOR_MAX)
		return -EINVAL;
	WRITE_ONCE(ctx->poll_grow, grow);
	WRITE_ONCE(ctx->poll_shrink, shrink);
	WRITE_ONCE(ctx->poll_max_ns, max_ns);
	return 0;
}
EXPORT_SYMBOL_GPL(bhq_ctx_set_polling);

/* --- flush barriers and cancel_sync ------------------------------------- */

struct bhq_barrier {
	struct bhq_bh bh;
	struct completion done;
};

static void bhq_barrier_fn(void *opaque)
{
	complete(opaque);
}

/*
 * Run a manual context's pending BHs on its owner's behalf, until @done:
 * borrow the poll role whenever nobody holds it and the owner does not
 * wait for it.  While the owner polls, its next poll runs the barrier; if
 * it stops polling first, we notice within a jiffy and take over.
 * completion_done() takes the completion's lock, so the barrier's
 * complete() is over when it says true.
 */
static void bhq_barrier_poll(struct bhq_ctx *ctx, struct completion *done)
{
	while (!completion_done(done)) {
		if (!READ_ONCE(ctx->owner_waits) &&
		    bhq_poll_take(ctx, BHQ_POLLER_BORROWED)) {
			bhq_poll_owned(ctx, false);
			bhq_poll_release(ctx);
		} else if (wait_for_completion_timeout(done, 1)) {
			/* It consumed the completion: done cannot say so. */
			break;
		}
	}
}

/*
 * Waiting for a context's callbacks is taking its map for writing: from a
 * callback (which holds it for reading) or under a lock that a callback
 * takes, that is a deadlock, and lockdep says so.  Flush, cancel_sync and
 * destroy say so every time, whether or not anything runs, as
 * flush_work() and cancel_work_sync() do.
 */
void bhq_lockdep_wait_callbacks(struct bhq_ctx *ctx)
{
	lock_map_acquire(&ctx->lockdep_map);
	lock_map_release(&ctx->lockdep_map);
}

/*
 * Queue a barrier BH behind everything pending and wait until it ran.  The
 * order is FIFO, so every BH scheduled before it has run by then, and a
 * barrier runs only in a top-level poll (bhq_bh_dispatch()), so every
 * callback that was running has returned too.  Only a oneshot is touched
 * by the poll after its callback, so the barrier may go out of scope as
 * soon as it completed.  The caller told lockdep.
 */
void bhq_flush_barrier(struct bhq_ctx *ctx)
{
	struct bhq_barrier barrier;

	init_completion(&barrier.done);
	bhq_bh_init(&barrier.bh, ctx, bhq_barrier_fn, &barrier.done,
		    BHQ_BH_BARRIER);
	bhq_bh_schedule_flags(&barrier.bh, BHQ_BH_NONIDLE);
	if (ctx->thread)
		wait_for_completion(&barrier.done);
	else
		bhq_barrier_poll(ctx, &barrier.done);
}

/*
 * Wait until no callback of @bh runs, from a task that is not @ctx's
 * poller.  Nobody polls: the callback is not running, and the poll that
 * dequeues the BH later sees it cancelled.  A poller takes the role
 * (cmpxchg, or the thread's store) before its fully ordered dequeue, and
 * the caller's disable is fully ordered before this load: store
 * buffering, so one of the two sees the other.  Acquire pairs with
 * bhq_poll_release(): a poll that ended has its callbacks done.
 */
static void bhq_bh_wait_idle(struct bhq_ctx *ctx)
{
	/* Pairs with bhq_poll_release(), and see above. */
	if (smp_load_acquire(&ctx->poller))
		bhq_flush_barrier(ctx);
}

/**
 * bhq_bh_cancel_sync() - cancel a BH and wait until its callback is done
 * @bh: the BH
 *
 * Cancels the BH and returns only when its callback is neither pending
 * nor running, as cancel_work_sync() does: while it runs, every schedule
 * of @bh backs out (it changes nothing and counts as ``refused``), from
 * the callback itself (a BH that reschedules itself until done) as from
 * any other task or CPU.  So when it returns the caller may free what the
 * callback uses, unless it schedules the BH again; a schedule after the
 * return works as usual.  If a poll of the context is under way, this
 * waits for a flush barrier (see bhq_ctx_flush()); if none is, it
 * returns at once.  A BH that was pending stays queued, cancelled, and is
 * skipped (or run, if it is scheduled again first) by the next poll.
 *
 * Context: process context, may sleep.  From a callback of the BH's own
 * context it does not wait, as nothing else can run @bh: it cancels, and
 * warns if it is the callback of @bh itself (or of an outer poll's),
 * whose wait would deadlock.  Lockdep sees it as a flush of the context.
 * Return: nothing.
 */
void bhq_bh_cancel_sync(struct bhq_bh *bh)
{
	struct bhq_ctx *ctx;

	might_sleep();
	if (bhq_misuse(atomic_read(&bh->flags) & BHQ_BH_DELETED,
		       "bhq: BH %ps cancelled after bhq_bh_delete()\n", bh->func))
		return;
	ctx = bh->ctx;
	if (bhq_debug_ctx_dying(ctx, "cancel_sync"))
		return;

	/* The poller itself: only its own stack can run the callback. */
	if (bhq_in_own_callback(ctx)) {
		bhq_misuse(bhq_bh_running(ctx, bh),
			   "bhq: %s(%ps) from its own callback would deadlock\n",
			   __func__, bh->func);
		bhq_bh_cancel(bh);
		return;
	}
	bhq_lockdep_wait_callbacks(ctx);
	if (!bhq_bh_disable(bh))
		return;
	bhq_debug_flush_begin(ctx);
	bhq_bh_wait_idle(ctx);
	bhq_debug_flush_end(ctx);
	bhq_bh_enable(bh);
}
EXPORT_SYMBOL_GPL(bhq_bh_cancel_sync);

/* --- a dying context ----------------------------------------------------- */

/*
 * Take the poll role of a dying context for good: its drain and its free
 * must not run under another poller.  The thread just takes it.  A manual
 * context's owner may still be returning from its last poll, whose
 * callback told the destroyer to go ahead: wait for it to release the
 * role, and say so if that takes long.
 */
static void bhq_ctx_claim_wait(struct bhq_ctx *ctx, unsigned long *waited)
{
	if (++*waited == BHQ_CLAIM_WARN_JIFFIES)
		pr_warn("bhq: context %s: destroy still waits for the task polling it\n",
			ctx->name);
	schedule_timeout_uninterruptible(1);
}

void bhq_ctx_claim(struct bhq_ctx *ctx)
{
	unsigned long waited = 0;

	if (ctx->thread) {
		WRITE_ONCE(ctx->poller, (unsigned long)current);
		return;
	}
	/*
	 * The poll that is returning, if any, releases the role; nobody else
	 * may take it (note (4) of include/linux/bhq.h).  Pairs with
	 * bhq_poll_release().
	 */
	while (!bhq_poll_take(ctx, BHQ_POLLER_DYING))
		bhq_ctx_claim_wait(ctx, &waited);
}

/* The callback of the newest pending BH (the caller owns the role). */
static bhq_func_t bhq_newest_pending_func(struct bhq_ctx *ctx)
{
	struct llist_node *first = READ_ONCE(ctx->pending.first);

	return first ? llist_entry(first, struct bhq_bh, node)->func : NULL;
}

/*
 * Poll a claimed, dying context until nothing is pending; a top-level
 * poll leaves no slices.  Callbacks may schedule more meanwhile, as with
 * drain_workqueue(); but the drain is bounded, so that destroy returns:
 * after BHQ_DRAIN_MAX_POLLS polls it names a callback that keeps
 * scheduling and dequeues the rest without running it (barriers still
 * run, so no flush waits forever).
 */
void bhq_ctx_drain(struct bhq_ctx *ctx)
{
	unsigned int polls = 0;

	while (!llist_empty(&ctx->pending)) {
		if (polls++ < BHQ_DRAIN_MAX_POLLS) {
			bhq_poll_owned(ctx, false);
			continue;
		}
		bhq_misuse(true, "bhq: %s not drained by %u polls, %ps keeps scheduling\n",
			   ctx->name, BHQ_DRAIN_MAX_POLLS,
			   bhq_newest_pending_func(ctx));
		while (!llist_empty(&ctx->pending))
			bhq_poll_owned(ctx, true);
	}
}
