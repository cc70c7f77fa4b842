/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bhq_blk compatibility with the kernels it builds on (6.1 LTS to 6.12).
 * Every shim names the release that made it necessary.
 */
#ifndef _BHQ_BLK_COMPAT_H
#define _BHQ_BLK_COMPAT_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/version.h>

/*
 * 6.9 made blk_mq_alloc_disk() take the queue limits; before, they were
 * set on the queue afterwards.  6.11 turned "rotational" into a feature
 * that is off unless asked for; before, a queue was rotational unless
 * QUEUE_FLAG_NONROT was set.
 */
static inline struct gendisk *
bhq_blk_alloc_disk(struct blk_mq_tag_set *set, unsigned int block_size,
		   void *queuedata)
{
	struct gendisk *disk;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	struct queue_limits lim = {
		.logical_block_size = block_size,
		.physical_block_size = block_size,
		.io_min = block_size,
	};

	disk = blk_mq_alloc_disk(set, &lim, queuedata);
#else
	disk = blk_mq_alloc_disk(set, queuedata);
	if (!IS_ERR(disk)) {
		blk_queue_logical_block_size(disk->queue, block_size);
		blk_queue_physical_block_size(disk->queue, block_size);
		blk_queue_io_min(disk->queue, block_size);
	}
#endif
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 11, 0)
	if (!IS_ERR(disk))
		blk_queue_flag_set(QUEUE_FLAG_NONROT, disk->queue);
#endif
	return disk;
}

/* 6.14 made merging the default and removed BLK_MQ_F_SHOULD_MERGE. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 14, 0)
#define BHQ_BLK_MQ_F_MERGE	BLK_MQ_F_SHOULD_MERGE
#else
#define BHQ_BLK_MQ_F_MERGE	0
#endif

#endif /* _BHQ_BLK_COMPAT_H */
