/* SPDX-License-Identifier: GPL-2.0 */
/**
 * DOC: bhq overview
 *
 * A port of QEMU's bottom halves (util/async.c) to the kernel.  A BH is a
 * callback that is scheduled lock-free from any context except NMI and run
 * later by the context's poller: a kthread for a threaded context, the
 * owner's own bhq_poll() calls for a manual one.
 *
 * Life cycle of one BH (the flags in struct bhq_bh)::
 *
 *	  bhq_bh_new()
 *	       |
 *	       v          schedule
 *	     IDLE  ------------------------->  PENDING|SCHEDULED
 *	       ^  <-------------------------     |          ^
 *	       |       poll: dequeue, run        | cancel   | schedule again
 *	       |                                 v          | (same place)
 *	       +--------------------------  PENDING (cancelled)
 *	             poll: dequeue, skip
 *
 *	  delete, from any state:  PENDING|DELETED  --poll-->  freed
 *
 * PENDING means "on the context's list or in a slice of an active poll";
 * only the poller clears it.  A schedule of a PENDING BH only sets flags,
 * so a BH is never queued twice and keeps its place in the order.
 *
 * Ordering guarantees: each poll carves the pending list off as a slice;
 * slices run in the order they were carved and the BHs of a slice in the
 * order they were first scheduled.  A BH scheduled while a poll runs is
 * never run by that poll.  Nested polls (a callback calling bhq_poll()
 * on its own context) first finish the slices of the outer polls.
 */
#ifndef _BHQ_H
#define _BHQ_H

#include <linux/gfp_types.h>
#include <linux/bits.h>
#include <linux/llist.h>
#include <linux/time64.h>
#include <linux/types.h>

/**
 * typedef bhq_func_t - a bottom-half callback
 * @opaque: the pointer given when the BH was created
 */
typedef void (*bhq_func_t)(void *opaque);

/* bhq_compute_timeout(): nothing pending, sleep until woken. */
#define BHQ_TIMEOUT_INFINITE	(-1LL)
/* bhq_compute_timeout(): only idle BHs pending, run them after this. */
#define BHQ_IDLE_TIMEOUT_NS	(10 * NSEC_PER_MSEC)

/* bhq_ctx_create() flag: no kthread, the owner drives it with bhq_poll(). */
#define BHQ_CTX_MANUAL		BIT(0)

/* The longest context name, without the terminating NUL. */
#define BHQ_CTX_NAME_MAX	31

struct bhq_ctx;

/**
 * struct bhq_bh - a bottom half
 * @node: link in the context's pending list or in a poll's slice
 * @ctx: the context the BH runs on
 * @func: the callback
 * @opaque: the callback's argument
 * @flags: BHQ_BH_* state bits, see kmod/bhq_queue.c
 * @id: index in the context's table of live BHs (0: not tracked)
 *
 * Opaque to users: allocate with bhq_bh_new(), free with bhq_bh_delete().
 * It is declared here only so that its size is visible: 40 bytes on
 * 64-bit, where QEMU's QEMUBH takes 56.
 */
struct bhq_bh {
	struct llist_node node;
	struct bhq_ctx *ctx;
	bhq_func_t func;
	void *opaque;
	atomic_t flags;
	u32 id;
};

/**
 * struct bhq_stats - counters of one context, see bhq_ctx_get_stats()
 * @scheduled: schedule calls (bhq_bh_schedule(), bhq_bh_schedule_idle(),
 *	bhq_schedule_oneshot(), and the barrier of bhq_ctx_flush())
 * @coalesced: schedule calls that found the BH already pending
 * @executed: callbacks run, idle ones included
 * @executed_idle: callbacks run for an idle schedule
 * @cancelled: scheduled BHs dequeued but skipped because they were
 *	cancelled or deleted before they ran
 * @deleted: BHs freed, oneshots included
 * @polls: bhq_poll() calls, nested ones included
 * @progress_polls: polls that ran a non-idle BH
 * @nested_polls: polls called from a callback of the same context
 * @max_depth: deepest poll nesting seen, 1 for a plain poll
 * @timeouts_zero: bhq_compute_timeout() results of 0
 * @timeouts_idle: bhq_compute_timeout() results of BHQ_IDLE_TIMEOUT_NS
 * @timeouts_infinite: bhq_compute_timeout() results of BHQ_TIMEOUT_INFINITE
 * @wakeups: schedules that woke the context's thread
 * @live: BHs allocated on this context and not yet freed
 *
 * At rest (nothing pending) every schedule that enqueued a BH has been
 * dequeued exactly once: scheduled - coalesced == executed + cancelled.
 */
struct bhq_stats {
	u64 scheduled;
	u64 coalesced;
	u64 executed;
	u64 executed_idle;
	u64 cancelled;
	u64 deleted;
	u64 polls;
	u64 progress_polls;
	u64 nested_polls;
	u64 max_depth;
	u64 timeouts_zero;
	u64 timeouts_idle;
	u64 timeouts_infinite;
	u64 wakeups;
	u64 live;
};

/**
 * bhq_ctx_create() - create a bottom-half context
 * @name: 1 to BHQ_CTX_NAME_MAX characters, no '/', unique among contexts;
 *	names the kthread and the debugfs directory
 * @flags: 0 for a context served by its own kthread, or BHQ_CTX_MANUAL for
 *	one that its owner drives with bhq_poll()
 *
 * Context: process context, may sleep.
 * Return: the new context, or ERR_PTR(-EINVAL) for a bad name or flag,
 * ERR_PTR(-EEXIST) if the name is taken, ERR_PTR(-ENOMEM).
 */
struct bhq_ctx *bhq_ctx_create(const char *name, unsigned int flags);

/**
 * bhq_ctx_destroy() - drain and free a context made by bhq_ctx_create()
 * @ctx: the context; NULL and error pointers are ignored
 *
 * Like destroy_workqueue(): every BH scheduled before the call runs (in
 * the context's own thread for a threaded context), and deleted BHs are
 * freed.  BHs still alive afterwards are a caller bug, reported once with
 * a warning naming a callback; they are leaked, never freed behind the
 * caller's back (bhq_bh_delete() still frees them).  Nothing may be
 * scheduled on @ctx once this has been called.
 *
 * Context: process context, may sleep; not from a callback of @ctx, and
 * not for a per-CPU context (both warn and do nothing).
 * Return: nothing.
 */
void bhq_ctx_destroy(struct bhq_ctx *ctx);

/**
 * bhq_cpu_ctx() - the per-CPU context of a CPU
 * @cpu: any possible CPU
 *
 * Per-CPU contexts exist from module load to unload, each served by a
 * kthread "bhq/@cpu" bound to @cpu while it is online, so a BH of an
 * online CPU's context runs on that CPU (during a hotplug transition of
 * @cpu it may run elsewhere).  While the CPU is offline the thread serves
 * the context from other CPUs; nothing is lost or stuck.
 *
 * Context: any.
 * Return: the context, or NULL (with a warning) if @cpu is not possible.
 */
struct bhq_ctx *bhq_cpu_ctx(unsigned int cpu);

/**
 * bhq_ctx_flush() - wait until every BH scheduled before the call has run
 * @ctx: the context
 *
 * Queues a barrier BH behind everything pending (order is FIFO) and waits
 * for it.  A threaded context's thread runs it; a manual context is
 * polled by the caller.  BHs scheduled while flushing are not waited for.
 *
 * Context: process context, may sleep; calling it from a callback of @ctx
 * would deadlock, so it warns and returns at once.
 * Return: nothing.
 */
void bhq_ctx_flush(struct bhq_ctx *ctx);

/**
 * bhq_ctx_get_stats() - read the counters of a context
 * @ctx: the context
 * @stats: filled with the sums of the per-CPU counters
 *
 * The counters are not read atomically as a group: under load the result
 * is a snapshot that may be a few events apart from one field to another.
 *
 * Context: any; the fields are plain loads.
 * Return: nothing.
 */
void bhq_ctx_get_stats(struct bhq_ctx *ctx, struct bhq_stats *stats);

/**
 * bhq_bh_new() - allocate a bottom half
 * @ctx: the context it will run on
 * @func: the callback
 * @opaque: the callback's argument
 *
 * The BH is not scheduled.  Free it with bhq_bh_delete().
 *
 * Context: process context, may sleep (GFP_KERNEL).
 * Return: the BH, or NULL if out of memory.
 */
struct bhq_bh *bhq_bh_new(struct bhq_ctx *ctx, bhq_func_t func, void *opaque);

/**
 * bhq_bh_schedule() - make a BH run in the next poll of its context
 * @bh: the BH
 *
 * Lock-free and O(1).  A BH that is already pending is not queued again,
 * it runs once.  A BH scheduled while a poll runs (from a callback, or
 * from another CPU) runs in the next poll, never in the current one.  BHs
 * run in the order in which they were first scheduled.  The context's
 * thread is woken only when the pending list was empty or this is the
 * first non-idle BH while only idle ones were pending.  Scheduling an idle
 * pending BH with this function makes it non-idle.
 *
 * Context: any context except NMI, with or without locks held; never
 * sleeps.
 * Return: nothing.
 */
void bhq_bh_schedule(struct bhq_bh *bh);

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
void bhq_bh_schedule_idle(struct bhq_bh *bh);

/**
 * bhq_bh_cancel() - undo a schedule
 * @bh: the BH
 *
 * The BH will not run unless it is scheduled again.  If it is scheduled
 * again before a poll dequeued it, it keeps its original place in the
 * order.  Does not wait for a callback that already started.
 *
 * Context: any context except NMI; never sleeps.
 * Return: nothing.
 */
void bhq_bh_cancel(struct bhq_bh *bh);

/**
 * bhq_bh_delete() - cancel a BH and free it
 * @bh: the BH; NULL is ignored
 *
 * The BH is freed by the next poll of its context (or by its destroy),
 * never while its callback runs; a callback may delete its own BH.  The
 * caller must not touch @bh afterwards, and no schedule or cancel of @bh
 * may still be running on another CPU when it is deleted.
 *
 * Context: any context except NMI; never sleeps.
 * Return: nothing.
 */
void bhq_bh_delete(struct bhq_bh *bh);

/**
 * bhq_schedule_oneshot() - run a callback once on a context
 * @ctx: the context
 * @func: the callback
 * @opaque: its argument
 * @gfp: allocation flags: GFP_ATOMIC from atomic context
 *
 * Allocates a BH, schedules it (non-idle), and frees it after it ran.
 *
 * Context: any context except NMI that @gfp allows.
 * Return: 0, or -ENOMEM.
 */
int bhq_schedule_oneshot(struct bhq_ctx *ctx, bhq_func_t func, void *opaque,
			 gfp_t gfp);

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
 * Context: process context.  For a manual context, by one task at a time;
 * for a threaded context, only from its own thread (its callbacks).  Other
 * callers get a warning and false.
 * Return: true if a non-idle BH ran.
 */
bool bhq_poll(struct bhq_ctx *ctx);

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
s64 bhq_compute_timeout(struct bhq_ctx *ctx);

#endif /* _BHQ_H */
