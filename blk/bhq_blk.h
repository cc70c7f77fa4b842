/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bhq_blk internals: one memory-backed blk-mq device whose requests are
 * completed by bhq's per-CPU contexts, or for comparison by softirq, a
 * workqueue, a kthread_worker or inline in queue_rq.
 */
#ifndef _BHQ_BLK_H
#define _BHQ_BLK_H

#include <linux/atomic.h>
#include <linux/blk-mq.h>
#include <linux/kthread.h>
#include <linux/llist.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

struct bhq_bh;
struct dentry;

/* The completion paths, in the order of bhq_blk_completion_names[]. */
enum bhq_blk_completion {
	BHQ_BLK_COMPLETE_BHQ,
	BHQ_BLK_COMPLETE_SOFTIRQ,
	BHQ_BLK_COMPLETE_WQ,
	BHQ_BLK_COMPLETE_KWORKER,
	BHQ_BLK_COMPLETE_INLINE,
	BHQ_BLK_COMPLETE_NR,
};

extern const char * const bhq_blk_completion_names[BHQ_BLK_COMPLETE_NR];

/* cmd->state: set by queue_rq, cleared by the one completion it gets. */
#define BHQ_BLK_CMD_IDLE	0
#define BHQ_BLK_CMD_INFLIGHT	1

/**
 * struct bhq_blk_cmd - the driver's part of a request (its pdu)
 * @node: link in a per-CPU completion list
 * @state: BHQ_BLK_CMD_INFLIGHT from queue_rq until the completion claims it
 * @status: what the request ends with
 */
struct bhq_blk_cmd {
	struct llist_node node;
	atomic_t state;
	blk_status_t status;
};

/**
 * struct bhq_blk_cpu - one CPU's completion list and the drainer that
 * empties it (only the member of the selected completion path is used)
 * @done: requests done by queue_rq on this CPU, waiting to be ended
 * @dev: the device
 * @cpu: the CPU
 * @bh: completion=bhq: a BH on bhq_cpu_ctx(@cpu)
 * @work: completion=wq: work item queued on @cpu of the device's workqueue
 * @worker: completion=kworker: a kthread_worker created on @cpu
 * @kwork: completion=kworker: its work
 */
struct bhq_blk_cpu {
	struct llist_head done;
	struct bhq_blk_dev *dev;
	unsigned int cpu;
	struct bhq_bh *bh;
	struct work_struct work;
	struct kthread_worker *worker;
	struct kthread_work kwork;
};

/*
 * Counters that change on every request are per CPU: the completion
 * mechanisms are what this driver measures, so the accounting must not
 * add a cache line that every CPU's submissions and completions bounce.
 */
struct bhq_blk_counters {
	u64 submitted;
	u64 completed;
	u64 batches;
	u64 empty_drains;
	u64 bytes_read;
	u64 bytes_written;
};

/**
 * struct bhq_blk_dev - the device
 * @tag_set: its blk-mq tag set
 * @disk: its gendisk, /dev/bhqblk0
 * @pages: the store: page index to struct page, allocated on first write
 * @memory_backed: whether requests move data at all
 * @completion: the completion path
 * @cpus: per-CPU completion lists and drainers
 * @wq: completion=wq: the bound workqueue
 * @counters: per-CPU counters, summed when read
 * @max_batch: the most requests one drain ended (rarely written: atomic)
 * @double_completions: completions of a request already completed (atomic:
 *	it should never change, so it costs nothing)
 * @store_failures: page allocations that failed (the request is retried)
 * @inject_double: test hook: this many completions are made twice
 * @debugfs: our directory in debugfs
 */
struct bhq_blk_dev {
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;
	struct xarray pages;
	bool memory_backed;
	enum bhq_blk_completion completion;
	struct bhq_blk_cpu __percpu *cpus;
	struct workqueue_struct *wq;
	struct bhq_blk_counters __percpu *counters;
	atomic_t max_batch;
	atomic_t double_completions;
	atomic_t store_failures;
	atomic_t inject_double;
	struct dentry *debugfs;
};

/* bhq_blk_store.c */
void bhq_blk_store_init(struct bhq_blk_dev *dev);
void bhq_blk_store_free(struct bhq_blk_dev *dev);
blk_status_t bhq_blk_store_rw(struct bhq_blk_dev *dev, struct request *rq);

/* bhq_blk_complete.c */
int bhq_blk_drainers_init(struct bhq_blk_dev *dev);
void bhq_blk_drainers_exit(struct bhq_blk_dev *dev);
void bhq_blk_end(struct bhq_blk_dev *dev, struct request *rq);
void bhq_blk_defer(struct bhq_blk_dev *dev, struct request *rq);

/* bhq_blk_stats.c */
void bhq_blk_debugfs_init(struct bhq_blk_dev *dev);
void bhq_blk_debugfs_exit(struct bhq_blk_dev *dev);

#endif /* _BHQ_BLK_H */
