/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bhq internals shared by the queue, the contexts and debugfs.
 */
#ifndef _BHQ_INTERNAL_H
#define _BHQ_INTERNAL_H

#include <linux/atomic.h>
#include <linux/cache.h>
#include <linux/list.h>
#include <linux/percpu.h>
#include <linux/xarray.h>

#include "bhq.h"

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

/* What a dequeue clears: the BH may be queued again from then on. */
#define BHQ_BH_DEQUEUE_MASK \
	(BHQ_BH_PENDING | BHQ_BH_SCHEDULED | BHQ_BH_NONIDLE | BHQ_BH_COUNTED)

/*
 * Counters, in the order of the fields of struct bhq_stats (bhq_stats.c
 * checks that at build time).  All but BHQ_STAT_MAX_DEPTH are per-CPU
 * sums; BHQ_STAT_LIVE goes up on allocation and down on free, so its sum
 * is the number of live BHs.
 */
enum bhq_stat {
	BHQ_STAT_SCHEDULED,
	BHQ_STAT_COALESCED,
	BHQ_STAT_EXECUTED,
	BHQ_STAT_EXECUTED_IDLE,
	BHQ_STAT_CANCELLED,
	BHQ_STAT_DELETED,
	BHQ_STAT_POLLS,
	BHQ_STAT_PROGRESS_POLLS,
	BHQ_STAT_NESTED_POLLS,
	BHQ_STAT_MAX_DEPTH,
	BHQ_STAT_TIMEOUTS_ZERO,
	BHQ_STAT_TIMEOUTS_IDLE,
	BHQ_STAT_TIMEOUTS_INFINITE,
	BHQ_STAT_WAKEUPS,
	BHQ_STAT_LIVE,
	BHQ_NR_STATS,
};

struct bhq_counters {
	u64 v[BHQ_NR_STATS];
};

struct bhq_poll_frame;

/**
 * struct bhq_ctx - a bottom-half context
 * @pending: scheduled BHs not yet carved off by a poll, newest first
 * @nonidle: a non-idle BH may be on @pending (set by schedulers, cleared
 *	by the poll that carves @pending off)
 * @poller: the task inside bhq_poll(), NULL when nobody polls
 * @thread: the kthread that polls, NULL for a manual context
 * @counters: per-CPU counters, indexed by enum bhq_stat
 * @slices: slices of active polls, oldest first (owner only)
 * @innermost: the innermost active poll (owner only)
 * @slices_nonidle: a non-idle BH may wait in @slices (owner writes)
 * @depth: number of active polls (owner only)
 * @max_depth: deepest nesting seen (owner writes)
 * @bhs: live BHs made by bhq_bh_new(), to name them if they leak
 * @cpu: the CPU of a per-CPU context, -1 otherwise
 * @link: entry in the list of all contexts
 * @debugfs: the context's debugfs directory
 * @name: the context's name
 *
 * The first cache line is shared by every scheduler, the second belongs
 * to the poller.
 */
struct bhq_ctx {
	struct llist_head pending;
	atomic_t nonidle;
	struct task_struct *poller;
	struct task_struct *thread;
	struct bhq_counters __percpu *counters;

	struct list_head slices ____cacheline_aligned_in_smp;
	struct bhq_poll_frame *innermost;
	bool slices_nonidle;
	unsigned int depth;
	u64 max_depth;

	struct xarray bhs;
	int cpu;
	struct list_head link;
	struct dentry *debugfs;
	char name[BHQ_CTX_NAME_MAX + 1];
};

static inline void bhq_count(struct bhq_ctx *ctx, enum bhq_stat stat)
{
	this_cpu_inc(ctx->counters->v[stat]);
}

/* bhq_queue.c */
int bhq_queue_init(void);
void bhq_queue_exit(void);
void bhq_ctx_init_queue(struct bhq_ctx *ctx);
int __bhq_poll(struct bhq_ctx *ctx);
bool bhq_work_pending(struct bhq_ctx *ctx);
void bhq_ctx_drain(struct bhq_ctx *ctx);
void bhq_ctx_orphan_live(struct bhq_ctx *ctx);
void bhq_flush_barrier(struct bhq_ctx *ctx);
bool bhq_in_own_callback(struct bhq_ctx *ctx);

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
