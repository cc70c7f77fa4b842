/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bhq_blk compatibility with the kernels it builds on (6.1 LTS to 6.12).
 * Every shim names the release that made it necessary, and tests for the
 * interface itself, not for a version number: with a macro the kernel
 * defines, or with a BHQ_BLK_HAVE_* flag that blk/Kbuild finds in the
 * headers (as WireGuard's compat tree does).
 */
#ifndef _BHQ_BLK_COMPAT_H
#define _BHQ_BLK_COMPAT_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>

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

#ifdef BHQ_BLK_HAVE_ALLOC_DISK_LIMITS
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
#ifndef BLK_FEAT_ROTATIONAL
	if (!IS_ERR(disk))
		blk_queue_flag_set(QUEUE_FLAG_NONROT, disk->queue);
#endif
	return disk;
}

/* 6.14 made merging the default and removed BLK_MQ_F_SHOULD_MERGE. */
#ifdef BHQ_BLK_HAVE_SHOULD_MERGE
#define BHQ_BLK_MQ_F_MERGE	BLK_MQ_F_SHOULD_MERGE
#else
#define BHQ_BLK_MQ_F_MERGE	0
#endif

#endif /* _BHQ_BLK_COMPAT_H */
