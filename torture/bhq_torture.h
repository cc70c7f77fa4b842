/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of bhq_torture.ko share.  Documentation/torture.rst
 * describes the test; the files are
 *
 *	bhq_torture_main.c	the module: parameters, the contexts under
 *				test, set-up, the end of the test, debugfs
 *	bhq_torture_load.c	the producers, the operations and the
 *				callbacks
 *	bhq_torture_check.c	the checker, and the latency probe
 *	bhq_torture_trace.c	probes on bhq's tracepoints
 *	bhq_torture_hotplug.c	CPU hotplug
 *	bhq_torture_lifetime.c	the lifetime modes (bhq_torture_lifetime.h):
 *	bhq_torture_destroy.c	what they share, and each mode
 *	bhq_torture_selfdel.c
 *	bhq_torture_manual.c
 */
#ifndef _BHQ_TORTURE_H
#define _BHQ_TORTURE_H

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/llist.h>
#include <linux/percpu.h>
#include <linux/prandom.h>
#include <linux/spinlock.h>
#include <linux/time64.h>
#include <linux/types.h>

#include <linux/bhq.h>

struct dentry;
struct seq_file;
struct task_struct;

/* Reported in dmesg per kind of violation; the rest are only counted. */
#define BHQT_REPORT_MAX		10

/* The parameters, bhqt_<name>: see bhq_torture_params.h. */
#define BHQT_PARAM(param, ...)		extern unsigned int bhqt_##param
#define BHQT_BOOL_PARAM(param, ...)	extern bool bhqt_##param
#include "bhq_torture_params.h"

/*
 * Mixes of operations: each draw picks one operation of a mix with the
 * probability of its weight (the weight_* parameters) among the mix's.
 */
enum bhqt_mix {
	BHQT_MIX_TARGET,	/* what a producer's operation works on */
	BHQT_MIX_FREE,		/* what it does to a free BH */
	BHQT_MIX_ORDERED,	/* what it does to an ordered BH */
	BHQT_MIX_SELF,		/* what a free BH's callback does to its BH */
	BHQT_NR_MIXES,
};

enum bhqt_target {
	BHQT_TARGET_FREE,
	BHQT_TARGET_ORDERED,
	BHQT_TARGET_ONESHOT,
};

enum bhqt_free_op {
	BHQT_FREE_SCHEDULE,
	BHQT_FREE_SCHEDULE_IDLE,
	BHQT_FREE_CANCEL,
	BHQT_FREE_DELETE,
};

/* A schedule of an ordered BH is made only if it is not armed. */
enum bhqt_ordered_op {
	BHQT_ORDERED_SCHEDULE,
	BHQT_ORDERED_SCHEDULE_IDLE,
	BHQT_ORDERED_DELETE,
};

enum bhqt_self_op {
	BHQT_SELF_NONE,
	BHQT_SELF_SCHEDULE,
	BHQT_SELF_SCHEDULE_IDLE,
	BHQT_SELF_DELETE,
};

#define BHQT_MIX_MAX_OPS	4

/* Nesting depth up to which the ids of a threaded context's polls are kept. */
#define BHQT_MAX_DEPTH		8

enum bhqt_stat {
	BHQT_OPS,
	BHQT_CHECKS,
	BHQT_SCHEDULED,
	BHQT_SCHEDULED_IDLE,
	BHQT_CANCELS,
	BHQT_DELETES,
	BHQT_CREATES,
	BHQT_ONESHOTS,
	BHQT_RUNS,
	BHQT_POLLS,
	BHQT_NESTED_POLLS,
	BHQT_SELF_SCHEDULES,
	BHQT_SELF_DELETES,
	BHQT_TIMEOUT_CHECKS,
	BHQT_SLEEP_CHECKS,
	BHQT_RUNS_RACING_DELETE,
	BHQT_RUNS_CPU_UNSTABLE,
	BHQT_LOST_UNPROVEN,
	BHQT_HP_ONLINE,
	BHQT_HP_OFFLINE,
	BHQT_HP_UNBOUND,
	BHQT_HP_CYCLES,
	BHQT_HP_FAILURES,
	BHQT_ALLOC_FAILURES,
	BHQT_PROBES,
	BHQT_PROBES_PAIRS,
	BHQT_PROBES_LATE,
	BHQT_NR_STATS,
};

enum bhqt_violation {
	BHQT_V_LOST,
	BHQT_V_SPURIOUS,
	BHQT_V_AFTER_DELETE,
	BHQT_V_POLL,
	BHQT_V_FIFO,
	BHQT_V_TIMEOUT,
	BHQT_V_CPU,
	BHQT_V_TASK,
	BHQT_V_LATENCY,
	BHQT_V_STALL,
	BHQT_NR_VIOLATIONS,
};

/* Kinds of CPU producers; callbacks are producers of their own. */
enum bhqt_kind {
	BHQT_KTHREAD,
	BHQT_HARDIRQ,
	BHQT_SOFTIRQ,
	BHQT_NR_KINDS,
};

struct bhqt_counters {
	u64 v[BHQT_NR_STATS];
};

/**
 * struct bhqt_ctx - a context under test
 * @ctx: the bhq context
 * @idx: index in bhqt.ctxs
 * @cpu: the CPU of a per-CPU context, -1 otherwise
 * @manual: polled by the torture (a manual poller, at the end the control
 *	thread), not by a bhq thread
 * @owned: created by the torture, destroyed at the end
 * @polling: its thread polls before it sleeps (poll_max_ns); a per-CPU
 *	one's polling is turned off again at the end
 * @stuck: a flush timed out; nothing of it is freed any more
 * @grave: deleted BHs waiting for a barrier before they are freed
 * @armed_any: ordered BHs whose schedule returned and whose run has not
 *	started, see "timeout" in Documentation/torture.rst
 * @armed_nonidle: the non-idle ones among them
 * @polls: polls started on a manual context, nested ones included
 * @cbseq: events of the poller, see F1 (poller writes)
 * @cb_poll: id of the poll that ran the latest callback (poller writes):
 *	every poll up to this one has carved its slice
 * @poller: the task that runs the callbacks: learned at the first callback
 *	of a threaded context, set before polling a manual one
 * @poll_task: the kthread that polls a manual context
 * @cur_poll: id of the innermost active poll (manual contexts, and
 *	threaded ones when bhq's tracepoints are used)
 * @depth: active polls of a manual context
 * @poll_ids: ids of the active polls of a threaded context, by depth
 * @snap_nonidle: @armed_nonidle at the end of the thread's last poll
 * @snap_any: @armed_any at the end of the thread's last poll
 * @snap_valid: the thread finished a poll since the tracepoints were on
 * @rnd: random state of the callbacks
 * @last_stamp: per producer, the stamp of the last ordered BH or oneshot
 *	run here (FIFO check)
 * @name: the bhq context's name
 *
 * @cur_poll and everything after it belong to the poller.
 */
struct bhqt_ctx {
	struct bhq_ctx *ctx;
	unsigned int idx;
	int cpu;
	bool manual;
	bool owned;
	bool polling;
	bool stuck;
	struct llist_head grave;
	atomic_t armed_any;
	atomic_t armed_nonidle;
	atomic64_t polls;
	unsigned long cbseq;
	u64 cb_poll;
	struct task_struct *poller;
	struct task_struct *poll_task;
	u64 cur_poll;
	unsigned int depth;
	u64 poll_ids[BHQT_MAX_DEPTH];
	int snap_nonidle;
	int snap_any;
	bool snap_valid;
	struct rnd_state rnd;
	u64 *last_stamp;
	char name[BHQ_CTX_NAME_MAX + 1];
};

/**
 * struct bhqt_producer - a sequential source of operations
 * @idx: index in bhqt.prods, the key of the FIFO check
 * @kind: enum bhqt_kind of a CPU producer
 * @cpu: home CPU of a CPU producer, -1 for the callbacks of a context
 * @active: it runs (its kind is enabled and the CPU is possible)
 * @rnd: random state
 * @stamps: per context, the last FIFO stamp given out
 * @slots: [free, ordered][context][nr_bhs] BHs of a CPU producer; written
 *	NULL by the producer (delete), non-NULL by its CPU's kthread
 * @timer: the hrtimer of a hardirq or softirq producer
 * @task: the kthread of a kthread producer
 */
struct bhqt_producer {
	unsigned int idx;
	enum bhqt_kind kind;
	int cpu;
	bool active;
	struct rnd_state rnd;
	u64 *stamps;
	struct bhqt_bh **slots;
	struct hrtimer timer;
	struct task_struct *task;
};

/**
 * struct bhqt_bh - the torture's side of a BH
 * @lock: serializes operations on the BH and its callbacks' bookkeeping
 * @bh: the bhq BH; not touched after bhq_bh_delete()
 * @tctx: its context
 * @prod: its owner
 * @grave: link in tctx->grave once deleted
 * @ordered: an ordered BH (else a free one)
 * @deleted: bhq_bh_delete() was called
 * @del_margin: the F1 margin of the delete: 1 if a callback of @tctx made
 *	it, else 2
 * @del_mark: cbseq of @tctx after the delete
 * @last_sched: the last operation was a schedule (free BHs)
 * @sched_margin: the F1 margin of the last schedule
 * @nr_sched: schedules made (free BHs)
 * @sched_mark: cbseq after the last schedule
 * @cancel_floor: @nr_sched at the last cancel
 * @cancel_mark: cbseq after the last cancel
 * @runs: callbacks started
 * @next_match: the lowest schedule not matched to a run yet
 * @match_floor: schedules up to this one are known to precede the last
 *	dequeue
 * @prev_run_nr_sched: @nr_sched at the previous run
 * @older_run_nr_sched: @nr_sched at the run before the previous one
 * @prev_run_cancel_floor: @cancel_floor at the previous run
 * @prev_run_cbseq: callback index of the previous run
 * @prev_run_sched_mark: @sched_mark at the previous run
 * @prev_run_sched_margin: @sched_margin at the previous run
 * @armed_stamp: FIFO stamp of the outstanding schedule of an ordered BH,
 *	0: none
 * @armed_after_poll: @tctx's cb_poll read before that schedule: the
 *	polls up to this id must not run it
 * @armed_ns: time of that schedule
 * @armed_idle: that schedule was idle
 * @stalled: the stall of that schedule was reported
 */
struct bhqt_bh {
	raw_spinlock_t lock;
	struct bhq_bh *bh;
	struct bhqt_ctx *tctx;
	struct bhqt_producer *prod;
	struct llist_node grave;
	bool ordered;
	bool deleted;
	u8 del_margin;
	unsigned long del_mark;
	bool last_sched;
	u8 sched_margin;
	u64 nr_sched;
	unsigned long sched_mark;
	u64 cancel_floor;
	unsigned long cancel_mark;
	u64 runs;
	u64 next_match;
	u64 match_floor;
	u64 prev_run_nr_sched;
	u64 older_run_nr_sched;
	u64 prev_run_cancel_floor;
	unsigned long prev_run_cbseq;
	unsigned long prev_run_sched_mark;
	u8 prev_run_sched_margin;
	u64 armed_stamp;
	u64 armed_after_poll;
	u64 armed_ns;
	bool armed_idle;
	bool stalled;
};

/* A probe BH on the quiet threaded context. */
struct bhqt_probe_bh {
	struct bhq_bh *bh;
	struct completion done;
	u64 ns_run;
};

enum bhqt_status {
	BHQT_RUNNING,
	BHQT_STOPPING,
	BHQT_SUCCESS,
	BHQT_FAILURE,
};

/**
 * struct bhqt_state - everything the torture owns
 * @ctxs: the contexts under test: per-CPU ones, threaded, manual
 * @nr_ctxs: entries in @ctxs
 * @nr_cpu_ctxs: per-CPU contexts among them (the first ones)
 * @cpu_bc: per CPU id, its entry in @ctxs
 * @prods: CPU producers (cpu * BHQT_NR_KINDS + kind), then one per context
 *	for its callbacks
 * @nr_prods: entries in @prods
 * @counters: per-CPU counters, enum bhqt_stat
 * @violations: per kind of violation
 * @oneshots_out: oneshots scheduled and not run yet
 * @hp_gen: per CPU id, odd while the CPU is offline or changing state
 * @cpuhp_state: our dynamic hotplug state, 0 if not set up
 * @traced: bhq's poll and sleep tracepoints feed the checks
 * @stopping: producers and callbacks stop adding work
 * @held: odd while the lifetime modes have bhq's publish delay on:
 *	producers and callbacks add no work meanwhile, see bhqt_hold_begin()
 * @status: enum bhqt_status
 * @control: the thread that times the test and stops it
 * @probe_task: the latency probe
 * @probe_ctx: its quiet threaded context
 * @probe_nonidle: its non-idle BH
 * @probe_idle: its idle BH
 * @max_nonidle_ns: longest schedule-to-run of a non-idle ordered BH or
 *	oneshot under load
 * @max_idle_ns: the same for idle ordered BHs
 * @probe_max_nonidle_ns: the same for the probe's non-idle BH
 * @probe_max_idle_ns: the same for the probe's idle BH
 * @start: jiffies at load
 * @elapsed: seconds the load ran
 * @spin_hits: BHs the polling contexts' threads found while polling
 *	before they slept, added up as the contexts are given back
 * @dir: our debugfs directory
 */
struct bhqt_state {
	struct bhqt_ctx *ctxs;
	unsigned int nr_ctxs;
	unsigned int nr_cpu_ctxs;
	struct bhqt_ctx **cpu_bc;
	struct bhqt_producer *prods;
	unsigned int nr_prods;
	struct bhqt_counters __percpu *counters;
	atomic_long_t violations[BHQT_NR_VIOLATIONS];
	atomic_long_t oneshots_out;
	atomic_t *hp_gen;
	int cpuhp_state;
	bool traced;
	bool stopping;
	atomic_t held;
	enum bhqt_status status;
	struct task_struct *control;
	struct task_struct *probe_task;
	struct bhq_ctx *probe_ctx;
	struct bhqt_probe_bh probe_nonidle;
	struct bhqt_probe_bh probe_idle;
	atomic64_t max_nonidle_ns;
	atomic64_t max_idle_ns;
	atomic64_t probe_max_nonidle_ns;
	atomic64_t probe_max_idle_ns;
	unsigned long start;
	unsigned long elapsed;
	u64 spin_hits;
	struct dentry *dir;
};

extern struct bhqt_state bhqt;

static inline void bhqt_inc(enum bhqt_stat stat)
{
	this_cpu_inc(bhqt.counters->v[stat]);
}

static inline u64 bhqt_stall_ns(void)
{
	return (u64)bhqt_stall_ms * NSEC_PER_MSEC;
}

static inline struct bhqt_producer *bhqt_cpu_prod(unsigned int cpu,
						  enum bhqt_kind kind)
{
	return &bhqt.prods[cpu * BHQT_NR_KINDS + kind];
}

/* bhq_torture_main.c */
u64 bhqt_sum(enum bhqt_stat stat);
__printf(2, 3) void bhqt_violation(enum bhqt_violation v, const char *fmt, ...);
void bhqt_max(atomic64_t *max, u64 val);
void bhqt_hold_begin(void);
void bhqt_hold_end(void);
bool bhqt_held(void);
void bhqt_poll_manual(struct bhqt_ctx *tctx);
void bhqt_bury(struct bhqt_bh **slot, struct bhqt_bh *b);
struct task_struct *bhqt_kthread_create(int (*fn)(void *), void *arg,
					const char *name);

/* bhq_torture_load.c */
int bhqt_check_mixes(void);
unsigned int bhqt_pick(enum bhqt_mix mix, u32 r);
int bhqt_prods_init(void);
int bhqt_create_producers(void);
void bhqt_timers_home(unsigned int cpu, bool cancel);
void bhqt_timers_home_ipi(void *unused);
void bhqt_stop_producers(void);
void bhqt_delete_all(void);

/* bhq_torture_check.c */
unsigned long bhqt_event(struct bhqt_ctx *tctx);
unsigned long bhqt_cb_enter(struct bhqt_ctx *tctx);
void bhqt_check_timeout(struct bhqt_ctx *tctx);
void bhqt_check_deleted(struct bhqt_bh *b, unsigned long q);
void bhqt_order_check(struct bhqt_ctx *tctx, unsigned int prod, u64 stamp,
		      u64 gen, u64 ns, bool idle);
void bhqt_match_run(struct bhqt_bh *b, unsigned long q);
void bhqt_check_stall(struct bhqt_bh *b);
void bhqt_final_check(void);
int bhqt_probe_init(void);
int bhqt_probe_thread(void *unused);
void bhqt_probe_check(void);
void bhqt_destroy_probe(void);

/* bhq_torture_trace.c */
void bhqt_tp_init(void);
void bhqt_tp_exit(void);

/* bhq_torture_hotplug.c */
int bhqt_start_cpus(void);
void bhqt_stop_cpus(void);
int bhqt_onoff_init(void);
void bhqt_onoff_start(void);
void bhqt_onoff_stop(void);

/* bhq_torture_lifetime.c */
int bhqt_life_init(void);
void bhqt_life_start(void);
void bhqt_life_stop(void);
void bhqt_life_free(void);
u64 bhqt_life_ops(void);
u64 bhqt_life_checks(void);
unsigned long bhqt_life_nr_violations(void);
void bhqt_life_stats_show(struct seq_file *m);

#endif /* _BHQ_TORTURE_H */
