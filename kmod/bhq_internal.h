/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bhq internals shared by the queue, the contexts and debugfs.
 */
#ifndef _BHQ_INTERNAL_H
#define _BHQ_INTERNAL_H

#include <linux/atomic.h>
#include <linux/cache.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/xarray.h>

#include <linux/bhq.h>
#include "bhq_compat.h"

/*
 * API misuse: warn once per call site, count every time, and let the
 * caller return without changing anything.  The count (debugfs "misuse")
 * lets tests see a misuse caught even after its warning has fired once.
 */
extern atomic_long_t bhq_misuse_detected;

#define bhq_misuse(cond, fmt, ...)					\
({									\
	bool __bhq_bad = unlikely(cond);				\
									\
	if (__bhq_bad) {						\
		atomic_long_inc(&bhq_misuse_detected);			\
		WARN_ONCE(1, fmt, ##__VA_ARGS__);			\
	}								\
	__bhq_bad;							\
})

#if IS_ENABLED(CONFIG_KUNIT)
long bhq_misuse_count(void);
#endif

/*
 * CONFIG_BHQ_DEBUG: a delay (or, for KUnit, a hold) right after a schedule
 * has published its BH, to widen the window in which the BH runs, is
 * deleted, or its context is destroyed while the schedule call is still
 * returning (bhq_debug.c); and, for KUnit, a hold that keeps a polling
 * thread polling past its window.  Compiled out of normal builds.
 */
/* CONFIG_BHQ_DEBUG: struct bhq_ctx::debug_state, destroy's progress. */
enum {
	BHQ_DEBUG_CTX_LIVE,
	BHQ_DEBUG_CTX_DRAINING,
	BHQ_DEBUG_CTX_DEAD,
};

#ifdef CONFIG_BHQ_DEBUG
void bhq_debug_after_publish(void);
bool bhq_debug_poll_entry(struct bhq_ctx *ctx);
bool bhq_debug_ctx_dying(struct bhq_ctx *ctx, const char *call);
void bhq_debug_flush_begin(struct bhq_ctx *ctx);
void bhq_debug_flush_end(struct bhq_ctx *ctx);
void bhq_debug_destroy_begin(struct bhq_ctx *ctx);
void bhq_debug_destroy_end(struct bhq_ctx *ctx);
void bhq_debug_owner_waited(struct bhq_ctx *ctx, unsigned int borrows);
bool bhq_debug_spin_on(u64 spin_start);
bool bhq_debug_spin_held(void);
void bhq_debug_count_kick(void);
#if IS_ENABLED(CONFIG_KUNIT)
void bhq_debug_set_publish_delay(unsigned int usecs);
void bhq_debug_hold_next_publish(void);
void bhq_debug_call_at_next_publish(void (*fn)(void *arg), void *arg);
bool bhq_debug_poll_atomic(struct bhq_ctx *ctx);
bool bhq_debug_publish_held(void);
void bhq_debug_release_publish(void);
void bhq_debug_hold_next_poll(void);
bool bhq_debug_poll_held(void);
void bhq_debug_release_poll(void);
void bhq_debug_hold_spin(bool hold);
bool bhq_debug_spin_hold_expired(void);
long bhq_debug_kick_count(void);
bool bhq_debug_bh_cache_typesafe(void);
#endif
#else
static inline void bhq_debug_after_publish(void)
{
}

static inline bool bhq_debug_poll_entry(struct bhq_ctx *ctx)
{
	return false;
}

static inline bool bhq_debug_ctx_dying(struct bhq_ctx *ctx, const char *call)
{
	return false;
}

static inline void bhq_debug_flush_begin(struct bhq_ctx *ctx)
{
}

static inline void bhq_debug_flush_end(struct bhq_ctx *ctx)
{
}

static inline void bhq_debug_destroy_begin(struct bhq_ctx *ctx)
{
}

static inline void bhq_debug_destroy_end(struct bhq_ctx *ctx)
{
}

static inline void bhq_debug_owner_waited(struct bhq_ctx *ctx,
					  unsigned int borrows)
{
}

static inline bool bhq_debug_spin_on(u64 spin_start)
{
	return false;
}

static inline bool bhq_debug_spin_held(void)
{
	return false;
}

static inline void bhq_debug_count_kick(void)
{
}
#endif

/*
 * struct bhq_bh::flags.  Schedulers only set bits (atomic_fetch_or), the
 * poller clears them when it dequeues (atomic_fetch_andnot), cancel clears
 * SCHEDULED and NONIDLE.
 */
#define BHQ_BH_PENDING		BIT(0)	/* on ctx->pending or in a slice */
#define BHQ_BH_SCHEDULED	BIT(1)	/* run it when dequeued */
#define BHQ_BH_NONIDLE		BIT(2)	/* scheduled non-idle since dequeue */
#define BHQ_BH_COUNTED		BIT(3)	/* queued by a schedule, not a delete */
#define BHQ_BH_DELETED		BIT(4)	/* free it when dequeued */
#define BHQ_BH_ONESHOT		BIT(5)	/* free it after it ran */
#define BHQ_BH_ORPHANED		BIT(6)	/* its context was destroyed */
#define BHQ_BH_BARRIER		BIT(7)	/* a flush barrier, see bhq_poll.c */

/*
 * The disable count, in the high bits: while it is not zero every schedule
 * backs out (counted as refused) without changing anything, so that
 * bhq_bh_cancel_sync() owns the BH while it waits, as cancel_work_sync()
 * owns a work item's PENDING bit.  One count per caller that holds it.
 */
#define BHQ_BH_DISABLE_SHIFT	16
#define BHQ_BH_DISABLE_ONE	BIT(BHQ_BH_DISABLE_SHIFT)
#define BHQ_BH_DISABLE_MASK	GENMASK(31, BHQ_BH_DISABLE_SHIFT)

/* What a dequeue clears: the BH may be queued again from then on. */
#define BHQ_BH_DEQUEUE_MASK \
	(BHQ_BH_PENDING | BHQ_BH_SCHEDULED | BHQ_BH_NONIDLE | BHQ_BH_COUNTED)

struct bhq_poll_frame;

/**
 * struct bhq_ctx - a bottom-half context
 * @pending: scheduled BHs not yet carved off by a poll, newest first
 * @nonidle: a non-idle BH may be on @pending (set by schedulers, cleared
 *	by the poll that carves @pending off)
 * @poller: the task that owns the poll role, 0 when nobody does; tagged
 *	with BHQ_POLLER_BORROWED while a flush borrows a manual context's
 *	role, BHQ_POLLER_DYING once its destroy claimed it (bhq_poll.c,
 *	"Ownership")
 * @thread: the kthread that polls, NULL for a manual context; the
 *	context holds a reference, dropped when the context is freed
 * @counters: per-CPU counters; bhq_ctx_get_stats() sums them
 * @slices: slices of outer polls that a nested poll linked, oldest
 *	first; the innermost poll's own slice is not on it (owner only)
 * @innermost: the innermost active poll (owner only)
 * @sliced: BHs are left in a slice of an active poll (owner writes)
 * @slices_nonidle: a non-idle BH may wait in a slice (owner writes)
 * @depth: number of active polls (owner only)
 * @max_depth: deepest nesting seen (owner writes)
 * @poll_ns: the thread's polling window now, 0 when it does not poll
 *	(the thread writes; bhq_poll.c, "Polling")
 * @poll_max_ns: the longest window, 0 for no polling
 * @poll_grow: factor of a growing window (0: 2)
 * @poll_shrink: divisor of a shrinking window (0: back to 0 at once)
 * @bhs: live BHs made by bhq_bh_new(), to name them if they leak
 * @owner_waits: a manual context's owner waits for a borrowing flush;
 *	flushes then leave the role to it (bhq_poll.c, "Ownership")
 * @cpu: the CPU of a per-CPU context, -1 otherwise
 * @link: entry in the list of all contexts
 * @debugfs: the context's debugfs directory
 * @rcu: frees the context after a grace period (bhq_ctx.c, "Lifetimes")
 * @lockdep_map: acquired (recursive read) around callbacks and (write)
 *	by flush and destroy, so lockdep sees their deadlocks
 * @lockdep_key: @lockdep_map's class, one per context
 * @debug_state: CONFIG_BHQ_DEBUG: BHQ_DEBUG_CTX_* (bhq_debug.c)
 * @debug_flushes: CONFIG_BHQ_DEBUG: flushes and sync cancels under way
 * @debug_max_borrows: CONFIG_BHQ_DEBUG: the most borrowed polls a manual
 *	context's owner waited through in one bhq_poll() (owner writes)
 * @name: the context's name
 *
 * The first cache line is shared by every scheduler, the second belongs
 * to the poller.
 */
struct bhq_ctx {
	struct llist_head pending;
	atomic_t nonidle;
	unsigned long poller;
	struct task_struct *thread;
	struct bhq_stats __percpu *counters;

	struct list_head slices ____cacheline_aligned_in_smp;
	struct bhq_poll_frame *innermost;
	bool sliced;
	bool slices_nonidle;
	unsigned int depth;
	u64 max_depth;
	u64 poll_ns;
	u64 poll_max_ns;
	unsigned int poll_grow;
	unsigned int poll_shrink;

	struct xarray bhs;
	bool owner_waits;
	int cpu;
	struct list_head link;
	struct dentry *debugfs;
	struct rcu_head rcu;
	/* Both are empty without CONFIG_LOCKDEP. */
	struct lockdep_map lockdep_map;
	struct lock_class_key lockdep_key;
#ifdef CONFIG_BHQ_DEBUG
	int debug_state;
	atomic_t debug_flushes;
	unsigned int debug_max_borrows;
#endif
	char name[BHQ_CTX_NAME_MAX + 1];
};

/*
 * Tags of ->poller (a task_struct is aligned far beyond 4 bytes): a manual
 * context polled by a flush on its owner's behalf, or claimed for good by
 * its destroy.
 */
#define BHQ_POLLER_BORROWED	1UL
#define BHQ_POLLER_DYING	2UL
#define BHQ_POLLER_TAGS		(BHQ_POLLER_BORROWED | BHQ_POLLER_DYING)

/* The task in @poller, without the tags. */
static inline struct task_struct *bhq_poller_task(unsigned long poller)
{
	return (struct task_struct *)(poller & ~BHQ_POLLER_TAGS);
}

/* Count one event on this CPU: bhq_count(&ctx->counters->executed). */
static inline void bhq_count(u64 __percpu *counter)
{
	this_cpu_inc(*counter);
}

/* bhq_queue.c: the life cycle of a BH */
int bhq_queue_init(void);
void bhq_queue_exit(void);
void bhq_ctx_init_queue(struct bhq_ctx *ctx);
void bhq_bh_init(struct bhq_bh *bh, struct bhq_ctx *ctx, bhq_func_t func,
		 void *opaque, unsigned int flags);
void bhq_bh_schedule_flags(struct bhq_bh *bh, unsigned int set);
bool bhq_bh_disable(struct bhq_bh *bh);
void bhq_bh_enable(struct bhq_bh *bh);
void bhq_bh_requeue(struct bhq_ctx *ctx, struct bhq_bh *bh);
void bhq_bh_free(struct bhq_ctx *ctx, struct bhq_bh *bh);
void bhq_ctx_orphan_live(struct bhq_ctx *ctx);

/* bhq_poll.c: ownership, slices, poll, drain and barriers */
int __bhq_poll(struct bhq_ctx *ctx);
bool bhq_work_pending(struct bhq_ctx *ctx);
void bhq_ctx_claim(struct bhq_ctx *ctx);
void bhq_ctx_drain(struct bhq_ctx *ctx);
void bhq_lockdep_wait_callbacks(struct bhq_ctx *ctx);
void bhq_flush_barrier(struct bhq_ctx *ctx);
bool bhq_in_own_callback(struct bhq_ctx *ctx);
bool bhq_bh_running(struct bhq_ctx *ctx, struct bhq_bh *bh);
bool bhq_poll_spin(struct bhq_ctx *ctx);
void bhq_poll_adapt(struct bhq_ctx *ctx, u64 block_ns);
u64 bhq_poll_next_window(u64 window, u64 block_ns, u64 max_ns,
			 unsigned int grow, unsigned int shrink);

/* bhq_ctx.c */
int bhq_cpu_ctxs_init(void);
void bhq_cpu_ctxs_exit(void);

/* bhq_stats.c */
void bhq_debugfs_init(void);
void bhq_debugfs_exit(void);
void bhq_debugfs_add_summary(void);
void bhq_debugfs_del_summary(void);
void bhq_debugfs_add_ctx(struct bhq_ctx *ctx);
void bhq_debugfs_del_ctx(struct bhq_ctx *ctx);

#endif /* _BHQ_INTERNAL_H */
