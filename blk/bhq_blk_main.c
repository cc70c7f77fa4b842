// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_blk - a blk-mq block device without hardware, /dev/bhqblk0, whose
 * requests are completed by bhq's per-CPU contexts (or, to compare, by the
 * kernel's own mechanisms: see bhq_blk_complete.c).  queue_rq does the
 * I/O at once (a copy to or from a store of pages, bhq_blk_store.c, or
 * nothing with memory_backed=0) and hands the request to the completion
 * path that the parameter "completion" picks:
 *
 *  - bhq: the submitting CPU's list, drained by a BH on its bhq context;
 *  - softirq: blk_mq_complete_request() and our .complete, as a driver's
 *    interrupt handler would (blk-mq completes in BLOCK_SOFTIRQ, on the
 *    submitting CPU, with one hardware queue, and at once when the queue
 *    belongs to the submitting CPU alone);
 *  - wq: the same list, drained by a work item of a bound workqueue;
 *  - kworker: the same list, drained by a per-CPU kthread_worker;
 *  - inline: blk_mq_end_request() in queue_rq, the reference.
 *
 * Unloading: an open /dev/bhqblk0 holds the module (fops.owner), and
 * del_gendisk() waits for the requests still in flight, which the
 * drainers end, so they are stopped only after it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/cpumask.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "bhq_blk.h"
#include "bhq_blk_compat.h"

#define BHQ_BLK_SIZE_MB_MAX_MEMORY	4096U
#define BHQ_BLK_SIZE_MB_MAX		(1024U * 1024)	/* 1 TiB */
#define BHQ_BLK_QUEUE_DEPTH_MAX		4096U

const char * const bhq_blk_completion_names[BHQ_BLK_COMPLETE_NR] = {
	[BHQ_BLK_COMPLETE_BHQ] = "bhq",
	[BHQ_BLK_COMPLETE_SOFTIRQ] = "softirq",
	[BHQ_BLK_COMPLETE_WQ] = "wq",
	[BHQ_BLK_COMPLETE_KWORKER] = "kworker",
	[BHQ_BLK_COMPLETE_INLINE] = "inline",
};

static enum bhq_blk_completion completion = BHQ_BLK_COMPLETE_BHQ;

static int bhq_blk_completion_set(const char *val, const struct kernel_param *kp)
{
	int i = sysfs_match_string(bhq_blk_completion_names, val);

	if (i < 0) {
		pr_err("completion=%s: not one of bhq, softirq, wq, kworker, inline\n",
		       val);
		return -EINVAL;
	}
	*(enum bhq_blk_completion *)kp->arg = i;
	return 0;
}

static int bhq_blk_completion_get(char *buf, const struct kernel_param *kp)
{
	enum bhq_blk_completion c = *(enum bhq_blk_completion *)kp->arg;

	return scnprintf(buf, PAGE_SIZE, "%s\n", bhq_blk_completion_names[c]);
}

static const struct kernel_param_ops bhq_blk_completion_ops = {
	.set = bhq_blk_completion_set,
	.get = bhq_blk_completion_get,
};

module_param_cb(completion, &bhq_blk_completion_ops, &completion, 0444);
MODULE_PARM_DESC(completion,
		 "completion path: bhq (default), softirq, wq, kworker or inline");

static unsigned int size_mb = 1024;
module_param(size_mb, uint, 0444);
MODULE_PARM_DESC(size_mb,
		 "device size in MiB (1-4096 when memory_backed, else 1-1048576; default 1024)");

static bool memory_backed;
module_param(memory_backed, bool, 0444);
MODULE_PARM_DESC(memory_backed,
		 "keep the data written, in pages allocated on first write (default 0: no data)");

static unsigned int hw_queues;
module_param(hw_queues, uint, 0444);
MODULE_PARM_DESC(hw_queues,
		 "hardware queues (0, the default: one per possible CPU; at most the number of possible CPUs)");

static unsigned int queue_depth = 128;
module_param(queue_depth, uint, 0444);
MODULE_PARM_DESC(queue_depth, "tags per hardware queue (1-4096, default 128)");

/* Named so because blkdev.h has a function block_size(). */
static unsigned int bs = 512;
module_param_named(block_size, bs, uint, 0444);
MODULE_PARM_DESC(block_size, "logical block size: 512 (default) or 4096");

static struct bhq_blk_dev *bhq_blk_dev;

/* Every parameter is checked before anything is allocated. */
static int bhq_blk_check_params(void)
{
	unsigned int size_max = memory_backed ? BHQ_BLK_SIZE_MB_MAX_MEMORY :
						BHQ_BLK_SIZE_MB_MAX;

	if (!size_mb || size_mb > size_max) {
		pr_err("size_mb=%u out of range 1-%u (memory_backed=%d)\n",
		       size_mb, size_max, memory_backed);
		return -EINVAL;
	}
	if (hw_queues > nr_cpu_ids) {
		pr_err("hw_queues=%u out of range 0-%u (0: one per CPU)\n",
		       hw_queues, nr_cpu_ids);
		return -EINVAL;
	}
	if (!queue_depth || queue_depth > BHQ_BLK_QUEUE_DEPTH_MAX) {
		pr_err("queue_depth=%u out of range 1-%u\n", queue_depth,
		       BHQ_BLK_QUEUE_DEPTH_MAX);
		return -EINVAL;
	}
	if (bs != 512 && bs != 4096) {
		pr_err("block_size=%u: must be 512 or 4096\n", bs);
		return -EINVAL;
	}
	return 0;
}

static blk_status_t bhq_blk_queue_rq(struct blk_mq_hw_ctx *hctx,
				     const struct blk_mq_queue_data *bd)
{
	struct bhq_blk_dev *dev = hctx->queue->queuedata;
	struct request *rq = bd->rq;
	struct bhq_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	blk_status_t status;

	blk_mq_start_request(rq);
	status = bhq_blk_store_rw(dev, rq);
	/* No page for a write: blk-mq requeues the request and retries. */
	if (status == BLK_STS_RESOURCE)
		return status;

	cmd->status = status;
	if (status == BLK_STS_OK && req_op(rq) == REQ_OP_WRITE)
		this_cpu_add(dev->counters->bytes_written, blk_rq_bytes(rq));
	else if (status == BLK_STS_OK)
		this_cpu_add(dev->counters->bytes_read, blk_rq_bytes(rq));
	/* Before any completion can count it: inflight never goes below 0. */
	this_cpu_inc(dev->counters->submitted);
	/*
	 * Seen by bhq_blk_end() on whatever CPU completes the request: the
	 * llist_add() or blk_mq_complete_request() (IPI or softirq raise)
	 * that passes it on orders this store before.
	 */
	atomic_set(&cmd->state, BHQ_BLK_CMD_INFLIGHT);

	switch (dev->completion) {
	case BHQ_BLK_COMPLETE_INLINE:
		bhq_blk_end(dev, rq);
		break;
	case BHQ_BLK_COMPLETE_SOFTIRQ:
		blk_mq_complete_request(rq);
		break;
	default:
		bhq_blk_defer(dev, rq);
		break;
	}
	return BLK_STS_OK;
}

/* completion=softirq: blk-mq calls this from BLOCK_SOFTIRQ or at once. */
static void bhq_blk_complete_rq(struct request *rq)
{
	bhq_blk_end(rq->q->queuedata, rq);
}

static const struct blk_mq_ops bhq_blk_mq_ops = {
	.queue_rq = bhq_blk_queue_rq,
	.complete = bhq_blk_complete_rq,
};

static const struct block_device_operations bhq_blk_fops = {
	.owner = THIS_MODULE,
};

static int bhq_blk_add_disk(struct bhq_blk_dev *dev)
{
	struct blk_mq_tag_set *set = &dev->tag_set;
	struct gendisk *disk;
	int ret;

	set->ops = &bhq_blk_mq_ops;
	set->nr_hw_queues = hw_queues ? hw_queues : nr_cpu_ids;
	set->queue_depth = queue_depth;
	set->numa_node = NUMA_NO_NODE;
	set->cmd_size = sizeof(struct bhq_blk_cmd);
	set->flags = BHQ_BLK_MQ_F_MERGE;
	set->driver_data = dev;
	ret = blk_mq_alloc_tag_set(set);
	if (ret)
		return ret;

	disk = bhq_blk_alloc_disk(set, bs, dev);
	if (IS_ERR(disk)) {
		ret = PTR_ERR(disk);
		goto err_free_tag_set;
	}
	/* major 0, minors 0: add_disk() takes a number from the ext range. */
	disk->fops = &bhq_blk_fops;
	disk->private_data = dev;
	disk->flags |= GENHD_FL_NO_PART;
	strscpy(disk->disk_name, "bhqblk0", sizeof(disk->disk_name));
	set_capacity(disk, (sector_t)size_mb << (20 - SECTOR_SHIFT));
	dev->disk = disk;

	ret = add_disk(disk);
	if (ret)
		goto err_put_disk;
	return 0;

err_put_disk:
	put_disk(disk);
	dev->disk = NULL;
err_free_tag_set:
	blk_mq_free_tag_set(set);
	return ret;
}

static void bhq_blk_dev_free(struct bhq_blk_dev *dev)
{
	bhq_blk_debugfs_exit(dev);
	bhq_blk_store_free(dev);
	free_percpu(dev->cpus);
	free_percpu(dev->counters);
	kfree(dev);
}

static int __init bhq_blk_init(void)
{
	struct bhq_blk_dev *dev;
	int ret;

	ret = bhq_blk_check_params();
	if (ret)
		return ret;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	dev->memory_backed = memory_backed;
	dev->completion = completion;
	bhq_blk_store_init(dev);
	dev->counters = alloc_percpu(struct bhq_blk_counters);
	dev->cpus = alloc_percpu(struct bhq_blk_cpu);
	if (!dev->counters || !dev->cpus) {
		ret = -ENOMEM;
		goto err_free;
	}
	bhq_blk_debugfs_init(dev);

	ret = bhq_blk_drainers_init(dev);
	if (ret)
		goto err_drainers;
	ret = bhq_blk_add_disk(dev);
	if (ret)
		goto err_drainers;

	bhq_blk_dev = dev;
	pr_info("%s: %u MiB, %s, completion=%s, %u hw queues of %u, block size %u\n",
		dev->disk->disk_name, size_mb,
		memory_backed ? "memory-backed" : "no data",
		bhq_blk_completion_names[completion], dev->tag_set.nr_hw_queues,
		queue_depth, bs);
	return 0;

err_drainers:
	bhq_blk_drainers_exit(dev);
err_free:
	bhq_blk_dev_free(dev);
	return ret;
}

static void __exit bhq_blk_exit(void)
{
	struct bhq_blk_dev *dev = bhq_blk_dev;

	/*
	 * Freezes the queue and waits for every request to end: the drainers
	 * must still run.  Nobody has the disk open (it holds the module).
	 */
	del_gendisk(dev->disk);
	/* No request is left; a drainer may still be returning. */
	bhq_blk_drainers_exit(dev);
	put_disk(dev->disk);
	blk_mq_free_tag_set(&dev->tag_set);
	bhq_blk_dev_free(dev);
	bhq_blk_dev = NULL;
}

module_init(bhq_blk_init);
module_exit(bhq_blk_exit);

MODULE_DESCRIPTION("bhq_blk: a blk-mq device whose requests complete in bhq bottom halves");
MODULE_LICENSE("GPL");
