/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bhq's counters: struct bhq_stats, whose members kmod/bhq_stats.c names
 * in debugfs.  Included by <linux/bhq.h>.
 */
#ifndef _LINUX_BHQ_STATS_H
#define _LINUX_BHQ_STATS_H

#include <linux/types.h>

/**
 * struct bhq_stats - the counters of a context, see bhq_ctx_get_stats()
 * @scheduled: schedule calls (bhq_bh_schedule(), bhq_bh_schedule_idle(),
 *	bhq_schedule_oneshot(), and the barrier of bhq_ctx_flush())
 * @coalesced: schedule calls that found the BH already pending
 * @executed: callbacks run (counted as they start), idle ones included
 * @executed_idle: callbacks run for an idle schedule
 * @cancelled: scheduled BHs dequeued but skipped because they were cancelled
 *	or deleted before they ran
 * @deleted: BHs freed, oneshots included
 * @polls: bhq_poll() calls, nested ones included
 * @progress_polls: polls that ran a non-idle BH
 * @nested_polls: polls called from a callback of the same context
 * @max_depth: deepest poll nesting seen, 1 for a plain poll
 * @timeouts_zero: bhq_compute_timeout() results of 0
 * @timeouts_idle: bhq_compute_timeout() results of BHQ_IDLE_TIMEOUT_NS
 * @timeouts_infinite: bhq_compute_timeout() results of BHQ_TIMEOUT_INFINITE
 * @wakeups: schedules (and deletes) that woke the context's thread from its
 *	sleep; a wake_up_process() of a running thread is not counted
 * @live: BHs allocated on this context and not yet freed
 * @spin_hits: times the context's thread, polling before it would sleep,
 *	found a non-idle BH (see bhq_ctx_set_polling())
 * @spin_misses: times it polled its whole window, or was told to stop, and
 *	found nothing
 * @spin_ns: nanoseconds the thread spent polling, hits and misses together
 * @refused: schedule calls that backed out because the BH was disabled by
 *	a bhq_bh_cancel_sync() under way; they change nothing and are not
 *	counted in @scheduled
 *
 * At rest (nothing pending) every schedule that enqueued a BH has been
 * dequeued exactly once: scheduled - coalesced == executed + cancelled.
 *
 * kmod/bhq_stats.c names them in debugfs, in this order, and reads the
 * struct as an array of u64: every member is a u64.
 */
struct bhq_stats {
	u64 scheduled;
	u64 coalesced;
	u64 executed;
	u64 executed_idle;
	u64 cancelled;
	u64 deleted;
	u64 polls;
	u64 progress_polls;
	u64 nested_polls;
	u64 max_depth;
	u64 timeouts_zero;
	u64 timeouts_idle;
	u64 timeouts_infinite;
	u64 wakeups;
	u64 live;
	u64 spin_hits;
	u64 spin_misses;
	u64 spin_ns;
	u64 refused;
};

#endif /* _LINUX_BHQ_STATS_H */
