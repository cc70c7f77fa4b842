/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bhq's counters, listed once: struct bhq_stats and the names in debugfs
 * (kmod/bhq_stats.c) are made from BHQ_STATS().  Included by
 * <linux/bhq.h>.
 */
#ifndef _LINUX_BHQ_STATS_H
#define _LINUX_BHQ_STATS_H

#include <linux/types.h>

/**
 * BHQ_STATS() - the counters of a context
 * @X: the macro applied to each counter's name
 *
 * ``scheduled``
 *	schedule calls (bhq_bh_schedule(), bhq_bh_schedule_idle(),
 *	bhq_schedule_oneshot(), and the barrier of bhq_ctx_flush())
 * ``coalesced``
 *	schedule calls that found the BH already pending
 * ``executed``
 *	callbacks run (counted as they start), idle ones included
 * ``executed_idle``
 *	callbacks run for an idle schedule
 * ``cancelled``
 *	scheduled BHs dequeued but skipped because they were cancelled or
 *	deleted before they ran
 * ``deleted``
 *	BHs freed, oneshots included
 * ``polls``
 *	bhq_poll() calls, nested ones included
 * ``progress_polls``
 *	polls that ran a non-idle BH
 * ``nested_polls``
 *	polls called from a callback of the same context
 * ``max_depth``
 *	deepest poll nesting seen, 1 for a plain poll
 * ``timeouts_zero``
 *	bhq_compute_timeout() results of 0
 * ``timeouts_idle``
 *	bhq_compute_timeout() results of BHQ_IDLE_TIMEOUT_NS
 * ``timeouts_infinite``
 *	bhq_compute_timeout() results of BHQ_TIMEOUT_INFINITE
 * ``wakeups``
 *	schedules (and deletes) that woke the context's thread from its
 *	sleep; a wake_up_process() of a running thread is not counted
 * ``live``
 *	BHs allocated on this context and not yet freed
 * ``spin_hits``
 *	times the context's thread, polling before it would sleep, found a
 *	non-idle BH (see bhq_ctx_set_polling())
 * ``spin_misses``
 *	times it polled its whole window, or was told to stop, and found
 *	nothing
 * ``spin_ns``
 *	nanoseconds the thread spent polling, hits and misses together
 *
 * At rest (nothing pending) every schedule that enqueued a BH has been
 * dequeued exactly once: scheduled - coalesced == executed + cancelled.
 */
#define BHQ_STATS(X)		\
	X(scheduled)		\
	X(coalesced)		\
	X(executed)		\
	X(executed_idle)	\
	X(cancelled)		\
	X(deleted)		\
	X(polls)		\
	X(progress_polls)	\
	X(nested_polls)		\
	X(max_depth)		\
	X(timeouts_zero)	\
	X(timeouts_idle)	\
	X(timeouts_infinite)	\
	X(wakeups)		\
	X(live)			\
	X(spin_hits)		\
	X(spin_misses)		\
	X(spin_ns)

/*
 * What BHQ_STATS() is expanded with.  checkpatch reads these as
 * statements and asks for parentheses and no trailing semicolon, which an
 * X-macro cannot have: scripts/check.sh lets this file off those checks.
 */
#define BHQ_STAT_MEMBER(name)	u64 name;
#define BHQ_STAT_NAME(name)	#name,

/**
 * struct bhq_stats - counters of one context, see bhq_ctx_get_stats()
 *
 * One u64 per counter of BHQ_STATS(), named and ordered as there.
 */
struct bhq_stats {
	/* private: made from the list */
	BHQ_STATS(BHQ_STAT_MEMBER)
};

#endif /* _LINUX_BHQ_STATS_H */
