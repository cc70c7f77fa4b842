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
 * order they were first scheduled.  A BH that is not pending when it is
 * scheduled during a poll runs in a later poll, never in that one; a BH
 * still waiting in the running poll's slice is pending, so scheduling it
 * again only coalesces and it runs once, in this poll, as in QEMU.  Nested
 * polls (a callback calling bhq_poll() on its own context) first finish
 * the slices of the outer polls.
 *
 * Which calls may run at the same time (as include/linux/llist.h has it):
 * "ok" means any number of callers on any CPUs, with no lock; "owner"
 * means from the one task that polls the context (its thread, or for a
 * manual context the task inside bhq_poll(), including its callbacks).
 *
 * =========================  ======  ====  ======  ====  ========
 * on one BH / one context    sched   canc  delete  poll  destroy
 * =========================  ======  ====  ======  ====  ========
 * bhq_bh_schedule(_idle)()   ok      ok    \(1)    ok    \(2)
 * bhq_bh_cancel()            ok      ok    \(1)    ok    \(2)
 * bhq_bh_cancel_sync()       ok      ok    \(1)    ok    no
 * bhq_bh_delete()            \(1)    \(1)  no      ok    \(2)
 * bhq_poll()                 ok      ok    ok      \(3)  \(4)
 * bhq_ctx_flush()            ok      ok    ok      ok    no
 * =========================  ======  ====  ======  ====  ========
 *
 * \(1) delete must come after every schedule and cancel of the BH has
 *     started to return: once the callback of its last schedule has
 *     started (or the owner knows the schedule call returned), it is
 *     safe, even while that schedule call is still returning on another
 *     CPU.  Schedule or cancel after delete is misuse (warned, ignored).
 * \(2) a schedule whose callback has started (or that returned) may
 *     still be returning when the context is destroyed: that is safe.
 *     Nothing may be scheduled on a context once its destroy started.
 * \(3) a manual context is polled by one task at a time (nesting from
 *     its callbacks is fine); a flush from another task takes the poll
 *     over only while the owner does not poll, and the owner's poll then
 *     waits for it.  A threaded context is polled only by its thread.
 * \(4) destroy of a manual context waits for a poll that is returning,
 *     and for one that waits while a flush polls on its behalf (that
 *     poll then returns false without polling).  A bhq_poll() call that
 *     starts once destroy may have started is a use after free: the
 *     owner must know it will not poll again (a callback that a flush
 *     ran cannot tell whether the owner is already waiting inside
 *     bhq_poll() or only about to call it).
 *
 * Lifetimes behind (1) and (2): schedules run under rcu_read_lock(), BHs
 * come from a SLAB_TYPESAFE_BY_RCU cache and contexts are freed after a
 * grace period, so a schedule that is still returning never touches freed
 * memory.  A callback's own data (its opaque pointer) is the user's: to
 * free it, first make sure the callback can no longer start or run, with
 * bhq_bh_cancel_sync() or bhq_ctx_flush().
 */
#ifndef _LINUX_BHQ_H
#define _LINUX_BHQ_H

#include <linux/gfp_types.h>
#include <linux/bits.h>
#include <linux/bhq_stats.h>
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
 * bhq_ctx_create() - create a bottom-half context
 * @name: 1 to BHQ_CTX_NAME_MAX printable ASCII characters, no '/', unique
 *	among contexts; names the kthread and the debugfs directory
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
 * freed.  Callbacks may schedule more while the context drains, but the
 * drain is bounded: after 1000 polls a warning names a callback that
 * keeps scheduling, and what is still pending is dequeued without running
 * (it counts as cancelled), so destroy always returns.  BHs still alive
 * afterwards are a caller bug, reported once with a warning naming a
 * callback; they are leaked, never freed behind the caller's back
 * (bhq_bh_delete() still frees them).  Nothing may be scheduled on @ctx
 * once this has been called; a schedule that is still returning is fine.
 * A manual context's destroy first waits until no task polls it.  The
 * memory is freed after an RCU grace period.
 *
 * Context: process context, may sleep; not from a callback of @ctx, and
 * not for a per-CPU context (both warn and do nothing).  Lockdep sees it
 * as a flush: under a lock that a callback of @ctx takes, it reports.
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
 * the context from the housekeeping CPUs; nothing is lost or stuck.
 * Userspace cannot change the threads' affinity.
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
 * until it ran in a top-level poll, so callbacks that were running when
 * it was called have returned too, nested polls or not.  BHs scheduled
 * while flushing are not waited for.  A threaded context's thread runs
 * the barrier.  Any task may flush a manual context: while nobody polls
 * it the caller polls it (running its BHs in the caller's task); while
 * its owner polls, the owner's next poll runs the barrier, and if the
 * owner stops polling first the caller takes over within a jiffy.
 *
 * Context: process context, may sleep; calling it from a callback of @ctx
 * would deadlock, so it warns and returns at once.  Under a lock that a
 * callback of @ctx takes, it may deadlock: lockdep reports it.
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
 * it runs once.  A BH that is not pending when it is scheduled while a
 * poll runs (from a callback, or from another CPU) runs in a later poll,
 * never in the current one; one still waiting in the current poll's slice
 * just runs there.  BHs run in the order in which they were first
 * scheduled.  The context's
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
 * order.  It does not wait: a poll that dequeued the BH before the cancel
 * (on another CPU) may still be about to call the callback, or be inside
 * it, when this returns.  Use bhq_bh_cancel_sync() to wait for that.
 *
 * Context: any context except NMI; never sleeps.
 * Return: nothing.
 */
void bhq_bh_cancel(struct bhq_bh *bh);

/**
 * bhq_bh_cancel_sync() - cancel a BH and wait until its callback is done
 * @bh: the BH
 *
 * As bhq_bh_cancel(), and returns only when the callback is neither
 * pending nor running (as cancel_work_sync() and tasklet_kill() do), so
 * the caller may then free what the callback uses, unless it schedules
 * the BH again.  If a poll of the context is under way, this waits for a
 * flush barrier (see bhq_ctx_flush()); if none is, it returns at once.
 *
 * Context: process context, may sleep.  From a callback of the BH's own
 * context it returns at once, after a warning if it is the callback of
 * @bh itself (or of an outer poll's), which would deadlock.
 * Return: nothing.
 */
void bhq_bh_cancel_sync(struct bhq_bh *bh);

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
 * Context: process context, may sleep (callbacks may, and a poll waits
 * while a flush from another task polls the context).  For a manual
 * context, by one task at a time; for a threaded context, only from its
 * own thread (its callbacks).  Other callers get a warning and false.
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

#endif /* _LINUX_BHQ_H */
