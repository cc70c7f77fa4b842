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
 * bhq_bh_cancel_sync()       ok      ok    no      ok    no
 * bhq_bh_delete()            \(1)    \(1)  no      ok    \(2)
 * bhq_poll()                 ok      ok    ok      \(3)  \(4)
 * bhq_ctx_flush()            ok      ok    ok      ok    no
 * =========================  ======  ====  ======  ====  ========
 *
 * \(1) delete must come after every schedule and cancel of the BH has
 *     started to return: once the callback of its last schedule has
 *     started (or the owner knows the schedule call returned), it is
 *     safe, even while that schedule call is still returning on another
 *     CPU.  A sync cancel must have returned: it writes the BH as it
 *     returns.  Schedule or cancel after delete is misuse (warned,
 *     ignored).
 * \(2) a schedule whose callback has started (or that returned) may
 *     still be returning when the context is destroyed: that is safe.
 *     Once its destroy started, only the context's own callbacks (run
 *     by the drain) may schedule on it, as with drain_workqueue().
 * \(3) a manual context is polled by one task at a time (nesting from
 *     its callbacks is fine); a flush from another task takes the poll
 *     over only while the owner does not poll, and the owner's poll then
 *     waits for it.  A threaded context is polled only by its thread.
 * \(4) destroy is the last call on a context, as destroy_workqueue() is.
 *     When it is called, no flush or sync cancel on the context is under
 *     way, and nothing but the context's own callbacks will schedule it
 *     again.  For a manual context, its owner will not call bhq_poll()
 *     again: the owner returned from its last poll (say, the destroyer is
 *     the owner), or the owner's last poll is the one whose callback told
 *     the destroyer to go ahead, and destroy waits for that poll to
 *     return.  Everything else is misuse; CONFIG_BHQ_DEBUG reports a
 *     flush under way and a poll, flush, sync cancel or schedule that
 *     starts after destroy did (within a grace period of its return).
 *
 * bhq_bh_cancel_sync() owns the BH while it waits, as cancel_work_sync()
 * owns a work item: every schedule of the BH meanwhile backs out, its own
 * callback's included (counted as ``refused``), so when it returns the
 * callback is neither pending nor running, and no schedule call that
 * returned before it did makes the callback run again.
 *
 * Lifetimes behind (1) and (2): schedules run under rcu_read_lock_sched()
 * and contexts are freed after a grace period, so a schedule that is
 * still returning never touches a freed context.  BHs come from a
 * SLAB_TYPESAFE_BY_RCU cache: the BH such a schedule may still read is
 * type-stable, not necessarily the same BH; it may have been freed and
 * handed out again as another BH, of another context perhaps.  That is
 * harmless because after its publish the schedule only reads that BH's
 * NONIDLE bit, which at worst makes its own context poll without a
 * timeout once more, and writes nothing to it.  (CONFIG_BHQ_DEBUG builds
 * free BHs after a grace period instead, so that KASAN sees a use after
 * delete: see bhq.debug_bh_cache.)  A callback's own data (its opaque
 * pointer) is the user's: to free it, first make sure the callback can no
 * longer start or run, with bhq_bh_cancel_sync() or bhq_ctx_flush().
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

/*
 * Polling (bhq_ctx_set_polling()): the longest window a thread may poll
 * for before it sleeps, the window a growing one starts from, and the
 * largest grow or shrink factor.
 */
#define BHQ_POLL_MAX_NS_LIMIT	NSEC_PER_MSEC
#define BHQ_POLL_START_NS	4000
#define BHQ_POLL_FACTOR_MAX	16

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

/*
 * Each function is documented (kernel-doc) at its definition, in the file
 * named above its group; Documentation/api.rst collects them.
 */

/* Contexts: kmod/bhq_ctx.c */
struct bhq_ctx *bhq_ctx_create(const char *name, unsigned int flags);
void bhq_ctx_destroy(struct bhq_ctx *ctx);
struct bhq_ctx *bhq_cpu_ctx(unsigned int cpu);
void bhq_ctx_flush(struct bhq_ctx *ctx);

/* Counters: kmod/bhq_stats.c */
void bhq_ctx_get_stats(struct bhq_ctx *ctx, struct bhq_stats *stats);

/* Bottom halves: kmod/bhq_queue.c */
struct bhq_bh *bhq_bh_new(struct bhq_ctx *ctx, bhq_func_t func, void *opaque);
void bhq_bh_schedule(struct bhq_bh *bh);
void bhq_bh_schedule_idle(struct bhq_bh *bh);
void bhq_bh_cancel(struct bhq_bh *bh);
void bhq_bh_delete(struct bhq_bh *bh);
int bhq_schedule_oneshot(struct bhq_ctx *ctx, bhq_func_t func, void *opaque,
			 gfp_t gfp);

/* Polling: kmod/bhq_poll.c */
bool bhq_poll(struct bhq_ctx *ctx);
s64 bhq_compute_timeout(struct bhq_ctx *ctx);
void bhq_bh_cancel_sync(struct bhq_bh *bh);
int bhq_ctx_set_polling(struct bhq_ctx *ctx, u64 max_ns, unsigned int grow,
			unsigned int shrink);

#endif /* _LINUX_BHQ_H */
