// SPDX-License-Identifier: GPL-2.0
/*
 * Reference models of QEMU's bottom halves, for the complexity benchmark.
 *
 * MODELS, NOT QEMU CODE.  They keep what decides the cost of a poll and
 * of the timeout in QEMU's util/async.c, its lists and its atomic
 * operations, and leave out the rest: the lock count that protects the
 * list against deletion is one atomic counter, aio_notify() is a full
 * barrier and the read of a flag that is never set (nobody sleeps here),
 * deletion is not modelled, and timers do not exist.
 *
 * qm19, QEMU up to 4.2 (util/async.c before 2020): aio_bh_new() pushes
 * every BH on ctx->first_bh, qemu_bh_schedule() sets bh->scheduled with
 * atomic_xchg(), and aio_bh_poll() walks the whole list, doing an
 * atomic_xchg(&bh->scheduled, 0) on every BH: O(BHs created) per poll.
 * "util/async: make aio_bh_poll() O(1)" (2020) replaced it.
 *
 * qm, QEMU since 5.0: qemu_bh_schedule() sets BH_PENDING with a fetch_or
 * and, the first time, pushes the BH on ctx->bh_list (LIFO, a cmpxchg
 * loop); aio_bh_poll() moves the list away as a slice and pops it; and
 * aio_compute_timeout() walks the pending list and the slices until it
 * meets a non-idle BH: O(BHs pending) when there is none, or when the
 * only one was scheduled first and so sits at the end of the LIFO list.
 * struct qm_bh has the layout of QEMU's QEMUBH.
 */

#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/slab.h>
#include <linux/time64.h>

#include "bhq_bench.h"

/* ---- QEMU up to 4.2 ---------------------------------------------------- */

struct qm19_bh {
	struct qm19_ctx *ctx;
	qm_func_t cb;
	void *opaque;
	struct qm19_bh *next;
	int scheduled;
	bool idle;
	bool deleted;
};

struct qm19_ctx {
	struct qm19_bh *first_bh;
	atomic_t list_lock;
	int notify_me;
	bool notified;
};

struct qm19_ctx *qm19_ctx_new(void)
{
	return kzalloc(sizeof(struct qm19_ctx), GFP_KERNEL);
}

/* Frees the context and every BH on its list. */
void qm19_ctx_free(struct qm19_ctx *ctx)
{
	struct qm19_bh *bh, *next;

	if (!ctx)
		return;
	for (bh = ctx->first_bh; bh; bh = next) {
		next = bh->next;
		kfree(bh);
	}
	kfree(ctx);
}

/* aio_bh_new(): every BH created goes on the list that polls walk. */
struct qm19_bh *qm19_bh_new(struct qm19_ctx *ctx, qm_func_t cb, void *opaque)
{
	struct qm19_bh *bh = kzalloc(sizeof(*bh), GFP_KERNEL);

	if (!bh)
		return NULL;
	bh->ctx = ctx;
	bh->cb = cb;
	bh->opaque = opaque;
	bh->next = ctx->first_bh;
	/* QEMU: atomic_mb_set(&ctx->first_bh, bh) under the list lock. */
	smp_store_mb(ctx->first_bh, bh);
	return bh;
}

/* aio_notify(): a full barrier, then a wakeup if the poller sleeps. */
static void qm19_notify(struct qm19_ctx *ctx)
{
	/* QEMU: orders the caller's writes before the read of notify_me. */
	smp_mb();
	if (READ_ONCE(ctx->notify_me))
		WRITE_ONCE(ctx->notified, true);
}

void qm19_bh_schedule(struct qm19_bh *bh)
{
	bh->idle = 0;
	if (xchg(&bh->scheduled, 1) == 0)
		qm19_notify(bh->ctx);
}

/* aio_bh_poll() before 2020: one atomic_xchg() per BH that exists. */
int qm19_bh_poll(struct qm19_ctx *ctx)
{
	struct qm19_bh *bh, *next;
	bool deleted = false;
	int ret = 0;

	atomic_inc(&ctx->list_lock);
	for (bh = READ_ONCE(ctx->first_bh); bh; bh = next) {
		next = READ_ONCE(bh->next);
		if (xchg(&bh->scheduled, 0)) {
			/* Idle BHs don't count as progress. */
			if (!bh->idle)
				ret = 1;
			bh->idle = 0;
			bh->cb(bh->opaque);
		}
		if (bh->deleted)
			deleted = true;
	}
	/* QEMU walks the list again to free deleted BHs; none are here. */
	WARN_ON_ONCE(deleted);
	atomic_dec(&ctx->list_lock);
	return ret;
}

/* ---- QEMU since 5.0 ---------------------------------------------------- */

#define QM_BH_PENDING		BIT(0)
#define QM_BH_SCHEDULED		BIT(1)
#define QM_BH_DELETED		BIT(2)
#define QM_BH_ONESHOT		BIT(3)
#define QM_BH_IDLE		BIT(4)

/* QEMU's QEMUBH, field for field: 56 bytes on 64-bit. */
struct qm_bh {
	struct qm_ctx *ctx;
	const char *name;
	qm_func_t cb;
	void *opaque;
	struct qm_bh *next;
	atomic_t flags;
	void *reentrancy_guard;
};

static_assert(sizeof(void *) != 8 || sizeof(struct qm_bh) == 56);

/* BHListSlice */
struct qm_slice {
	struct qm_bh *bh_list;
	struct qm_slice *next;
};

struct qm_ctx {
	struct qm_bh *bh_list;
	struct qm_slice *slices;
	struct qm_slice **slices_tail;
	int notify_me;
	bool notified;
};

size_t qm_bh_size(void)
{
	return sizeof(struct qm_bh);
}

struct qm_ctx *qm_ctx_new(void)
{
	struct qm_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);

	if (ctx)
		ctx->slices_tail = &ctx->slices;
	return ctx;
}

/* The BHs are freed by their owner (qm_bh_free()). */
void qm_ctx_free(struct qm_ctx *ctx)
{
	kfree(ctx);
}

struct qm_bh *qm_bh_new(struct qm_ctx *ctx, qm_func_t cb, void *opaque)
{
	struct qm_bh *bh = kzalloc(sizeof(*bh), GFP_KERNEL);

	if (!bh)
		return NULL;
	bh->ctx = ctx;
	bh->name = "bench";
	bh->cb = cb;
	bh->opaque = opaque;
	return bh;
}

void qm_bh_free(struct qm_bh *bh)
{
	kfree(bh);
}

static void qm_notify(struct qm_ctx *ctx)
{
	/* As qm19_notify(): QEMU's aio_notify() starts with smp_mb(). */
	smp_mb();
	if (READ_ONCE(ctx->notify_me))
		WRITE_ONCE(ctx->notified, true);
}

/* aio_bh_enqueue(): queued once, on the head of the list (LIFO). */
static void qm_bh_enqueue(struct qm_bh *bh, unsigned int new_flags)
{
	struct qm_ctx *ctx = bh->ctx;
	struct qm_bh *first;
	unsigned int old;

	old = atomic_fetch_or(QM_BH_PENDING | new_flags, &bh->flags);
	if (!(old & QM_BH_PENDING)) {
		/* QSLIST_INSERT_HEAD_ATOMIC */
		do {
			first = READ_ONCE(ctx->bh_list);
			bh->next = first;
		} while (cmpxchg(&ctx->bh_list, first, bh) != first);
	}
	qm_notify(ctx);
}

void qm_bh_schedule(struct qm_bh *bh)
{
	qm_bh_enqueue(bh, QM_BH_SCHEDULED);
}

void qm_bh_schedule_idle(struct qm_bh *bh)
{
	qm_bh_enqueue(bh, QM_BH_SCHEDULED | QM_BH_IDLE);
}

/* aio_bh_dequeue() */
static struct qm_bh *qm_bh_dequeue(struct qm_bh **head, unsigned int *flags)
{
	struct qm_bh *bh = READ_ONCE(*head);

	if (!bh)
		return NULL;
	*head = bh->next;
	*flags = atomic_fetch_andnot(QM_BH_PENDING | QM_BH_SCHEDULED | QM_BH_IDLE,
				     &bh->flags);
	return bh;
}

/* aio_bh_poll() since 2020: carve the list off as a slice, pop it. */
int qm_bh_poll(struct qm_ctx *ctx)
{
	struct qm_slice slice = { .bh_list = xchg(&ctx->bh_list, NULL) };
	struct qm_slice *s;
	unsigned int flags;
	struct qm_bh *bh;
	int ret = 0;

	*ctx->slices_tail = &slice;
	ctx->slices_tail = &slice.next;

	while ((s = ctx->slices)) {
		bh = qm_bh_dequeue(&s->bh_list, &flags);
		if (!bh) {
			ctx->slices = s->next;
			if (!ctx->slices)
				ctx->slices_tail = &ctx->slices;
			continue;
		}
		if ((flags & (QM_BH_SCHEDULED | QM_BH_DELETED)) == QM_BH_SCHEDULED) {
			if (!(flags & QM_BH_IDLE))
				ret = 1;
			bh->cb(bh->opaque);
		}
	}
	return ret;
}

/* aio_compute_bh_timeout(): walk until a non-idle scheduled BH. */
static s64 qm_bh_list_timeout(struct qm_bh *bh, s64 timeout)
{
	for (; bh; bh = READ_ONCE(bh->next)) {
		unsigned int flags = atomic_read_acquire(&bh->flags);

		if ((flags & (QM_BH_SCHEDULED | QM_BH_DELETED)) == QM_BH_SCHEDULED) {
			/* Idle bottom halves are polled at least every 10 ms. */
			if (flags & QM_BH_IDLE)
				timeout = 10 * NSEC_PER_MSEC;
			else
				return 0;
		}
	}
	return timeout;
}

/* aio_compute_timeout(), without timers: -1, 0 or 10 ms. */
s64 qm_compute_timeout(struct qm_ctx *ctx)
{
	struct qm_slice *s;
	s64 timeout;

	timeout = qm_bh_list_timeout(READ_ONCE(ctx->bh_list), -1);
	if (!timeout)
		return 0;
	for (s = ctx->slices; s; s = s->next) {
		timeout = qm_bh_list_timeout(s->bh_list, timeout);
		if (!timeout)
			return 0;
	}
	return timeout;
}
