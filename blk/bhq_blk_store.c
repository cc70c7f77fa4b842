// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_blk store: the device's data, one page per PAGE_SIZE of the disk,
 * allocated on the first write that touches it.  Reads of a page never
 * written return zeros.  Pages are freed only when the device goes away,
 * so a page found in the xarray stays valid for the whole copy.
 */

#include <linux/blk-mq.h>
#include <linux/bvec.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/xarray.h>

#include "bhq_blk.h"

/*
 * queue_rq runs under rcu_read_lock() (the tag set is not
 * BLK_MQ_F_BLOCKING, so that submission stays synchronous as with real
 * hardware): no sleeping allocation.  A failed one makes the request
 * BLK_STS_RESOURCE, and blk-mq retries it later.
 */
#define BHQ_BLK_GFP	(GFP_NOWAIT | __GFP_NOWARN)

/*
 * The page at @index, allocated (zeroed) if @alloc and missing; NULL if it
 * is missing and not to be allocated, or if the allocation failed.
 */
static struct page *bhq_blk_store_page(struct bhq_blk_dev *dev, pgoff_t index,
				       bool alloc)
{
	struct page *page, *old;

	page = xa_load(&dev->pages, index);
	if (page || !alloc)
		return page;

	page = alloc_page(BHQ_BLK_GFP | __GFP_ZERO);
	if (!page)
		return NULL;
	/* Two writers may race to fill the same hole: the first one wins. */
	old = xa_cmpxchg(&dev->pages, index, NULL, page, BHQ_BLK_GFP);
	if (!old)
		return page;
	__free_page(page);
	return xa_is_err(old) ? NULL : old;
}

/* Copy @len bytes between @buf and the store at byte offset @pos. */
static bool bhq_blk_store_copy(struct bhq_blk_dev *dev, void *buf, u64 pos,
			       unsigned int len, bool write)
{
	while (len) {
		pgoff_t index = pos >> PAGE_SHIFT;
		unsigned int off = offset_in_page(pos);
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - off);
		struct page *page = bhq_blk_store_page(dev, index, write);

		if (write) {
			if (!page)
				return false;
			memcpy_to_page(page, off, buf, n);
		} else if (page) {
			memcpy_from_page(buf, page, off, n);
		} else {
			memset(buf, 0, n);
		}
		buf += n;
		pos += n;
		len -= n;
	}
	return true;
}

/**
 * bhq_blk_store_rw() - move a read's or a write's data
 * @dev: the device
 * @rq: the request, started
 *
 * Context: queue_rq (process context, may not sleep).
 * Return: BLK_STS_OK, BLK_STS_RESOURCE when a page could not be allocated
 * (the write may be partly done: retrying it is harmless), or
 * BLK_STS_NOTSUPP for an operation other than read and write.
 */
blk_status_t bhq_blk_store_rw(struct bhq_blk_dev *dev, struct request *rq)
{
	bool write = req_op(rq) == REQ_OP_WRITE;
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	struct req_iterator iter;
	struct bio_vec bv;

	if (!write && req_op(rq) != REQ_OP_READ)
		return BLK_STS_NOTSUPP;
	if (!dev->memory_backed)
		return BLK_STS_OK;

	rq_for_each_segment(bv, rq, iter) {
		void *buf = bvec_kmap_local(&bv);
		bool ok = bhq_blk_store_copy(dev, buf, pos, bv.bv_len, write);

		kunmap_local(buf);
		if (!ok) {
			atomic_inc(&dev->store_failures);
			return BLK_STS_RESOURCE;
		}
		pos += bv.bv_len;
	}
	return BLK_STS_OK;
}

/**
 * bhq_blk_store_init() - an empty store
 * @dev: the device
 */
void bhq_blk_store_init(struct bhq_blk_dev *dev)
{
	xa_init(&dev->pages);
}

/**
 * bhq_blk_store_free() - free every page of the store
 * @dev: the device, with no request left (its disk deleted)
 */
void bhq_blk_store_free(struct bhq_blk_dev *dev)
{
	struct page *page;
	unsigned long index;

	xa_for_each(&dev->pages, index, page)
		__free_page(page);
	xa_destroy(&dev->pages);
}
