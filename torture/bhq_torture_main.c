// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_torture - a torture test for bhq, independent of any benchmark.
 *
 *	insmod bhq.ko
 *	insmod bhq_torture.ko seconds=30
 *	cat /sys/kernel/debug/bhq/torture/{status,ops,checks,violations,stats}
 *	rmmod bhq_torture
 *
 * rmmod prints a line in the style of rcutorture's:
 *
 *	bhq_torture: End of test: SUCCESS (seconds=30 ops=... violations=0)
 *
 * The test stops by itself after @seconds (0: it runs until rmmod), and
 * rmmod while it runs stops it the same way: producers first, then the
 * timers, then every context is flushed until nothing is scheduled any
 * more, the final accounting is checked, every BH is deleted, the contexts
 * are flushed again and the standalone ones destroyed.  Every wait of the
 * torture itself is bounded (stall_ms); a context that does not flush in
 * time is reported and left alone instead of hanging the machine.
 *
 * The load
 * ========
 * Contexts: the per-CPU context of every possible CPU, @nr_threaded
 * standalone threaded contexts and @nr_manual manual contexts, each polled
 * by a torture kthread.  Producers: per possible CPU a kthread (bound to
 * the CPU while it is online), an hrtimer in hardirq context and an
 * hrtimer in softirq context (HRTIMER_MODE_*_HARD and _SOFT, pinned to the
 * CPU while it is online), plus the callbacks of each context.  Every CPU
 * producer owns, on every context, @nr_bhs "free" BHs and @nr_bhs
 * "ordered" BHs, and schedules oneshots.
 *
 * - Free BHs get anything at any time: schedule, schedule_idle, cancel and
 *   delete (the producer CPU's kthread re-creates deleted ones), and their
 *   callbacks re-schedule or delete themselves.
 * - Ordered BHs follow a handshake: their producer schedules one only once
 *   its callback has started for the previous schedule (or it is new), so
 *   every schedule of an ordered BH enqueues it.  They are never
 *   cancelled: a cancelled BH keeps its place if it is scheduled again
 *   before a poll skipped it, which nobody outside bhq can know.  Their
 *   producer sometimes deletes them, armed or not.
 * - Oneshots always enqueue.  Callbacks schedule oneshots too: the
 *   callbacks of one context form one more producer.
 * - Callbacks on manual contexts nest bhq_poll() up to @max_nest deep, and
 *   a free BH may delete itself and then nest a poll.
 *
 * Next to this load, on contexts of their own, run the lifetime modes of
 * bhq_torture_lifetime.c (destroy under returning schedules, self-deleting
 * BHs, a manual context flushed, cancelled and destroyed by other tasks),
 * with their own checks, counted in the same ops, checks and violations.
 * The shutdown stops them first.
 *
 * How the checker sees bhq
 * ========================
 * For one BH, let d_r be the dequeue in bhq that leads to its r-th run and
 * c_r the start of that run's callback.  d_r is inside bhq and cannot be
 * observed, and a schedule can land between d_r and c_r: so the callback
 * cannot tell whether a schedule that completed just before c_r is covered
 * by this run or makes another one.  Two facts bound d_r:
 *
 * (F1) The poller of a context increments its event counter cbseq at the
 *      start (a callback's index q is the new value) and end of every
 *      torture callback and of every poll (manual contexts: around
 *      bhq_poll(); threaded ones: bhq_poll_start/end when traced), each
 *      time followed by smp_mb(); every operation on a BH ends with
 *      smp_mb() and a read of cbseq, its *mark* m.  No torture code runs
 *      between d_r and c_r, so event q_r - 1 happened before d_r: if
 *      q_r >= m + 2, the operation did not see an event that precedes d_r,
 *      and by store buffering d_r saw the operation.  If the operation was
 *      made in the poller's own thread (a callback of the same context),
 *      q_r >= m + 1 is enough.
 * (F2) One task polls a context, so d_r comes after c_{r-1}: an operation
 *      complete when callback r-1 took the BH's lock precedes d_r.
 *
 * A raw spinlock per BH serializes the operations on it and the
 * bookkeeping at the start of its callbacks (so no schedule or cancel of a
 * BH runs when it is deleted, as bhq_bh_delete() requires); it is never
 * held across bhq_poll() and orders nothing against bhq's dequeue, hence
 * F1/F2.
 *
 * bhq's tracepoints bhq_poll_start, bhq_poll_end and bhq_sleep, which bhq
 * exports, are probed (bhqt_tp_init()): they give the polls of threaded
 * contexts an id and show their threads' sleeps.  "tracepoints" in stats
 * says whether they were used.
 *
 * The checks, exactly
 * ===================
 * Each is counted in "checks", each failure in "violations" (per kind in
 * stats, the first ones also in dmesg).
 *
 * lost: nothing scheduled is lost.
 *   Ordered BHs (exact): at the end every ordered BH whose last schedule
 *   was not followed by a delete has run.  Oneshots (exact): every oneshot
 *   scheduled has run.  Free BHs: if the last operation on a live BH was
 *   a schedule, a run must follow it.  Proven when its mark and the last
 *   run satisfy F1; if the last run merely started after the schedule
 *   completed, d_r may still precede the schedule, and the BH is counted
 *   in lost_unproven (not a violation); no run after it is a violation.
 *   While the test runs, an ordered BH waiting longer than @stall_ms is a
 *   stall violation ("nothing stuck", also across CPU hotplug).
 * spurious: nothing runs twice for one schedule.
 *   Ordered BHs (exact): a run without an outstanding schedule.  Free BHs:
 *   every run must be matched to a schedule of its own, one whose
 *   bhq_bh_schedule() can lie between d_{r-1} and d_r and that no cancel
 *   known to precede d_r undid.  Known to precede d_{r-1}: the schedules
 *   complete at c_{r-2} (F2), and all schedules up to one whose mark
 *   satisfies F1 for c_{r-1}; cancels complete at c_{r-1} or satisfying F1
 *   for c_r void the schedules before them.  The upper end is every
 *   schedule complete at c_r.  Runs are matched greedily in order (both
 *   ends only grow, so greedy finds a matching whenever one exists): this
 *   is "runs <= schedules" with the coalescing of schedules that bhq may
 *   have merged taken into account, and it catches a second run for one
 *   schedule unless that schedule raced with the first run's start.
 * after_delete: nothing runs after its delete.  A run is a violation if
 *   the delete's mark satisfies F1 for that run's callback index; a run
 *   whose dequeue may precede the delete is counted as
 *   runs_racing_delete.  The graveyard keeps the torture's side of a
 *   deleted BH until a barrier behind it has run, so that a run after a
 *   delete is reported, not a use after free.
 * poll: a poll never runs a BH scheduled during that same poll.  Every
 *   poll gets an id when it starts, nested ones included: manual contexts
 *   are polled through bhqt_poll_manual(), threaded ones are seen through
 *   bhq_poll_start.  Each callback publishes the id of the poll running it
 *   (cb_poll): that poll, and every poll with a smaller id, has carved its
 *   slice.  Each ordered schedule and oneshot reads cb_poll before it is
 *   made, and the poll that runs it (the innermost one) must have a
 *   larger id.  This is exact in what it flags; it misses a poll that had
 *   carved but not run a torture callback yet.  Free BHs are not checked:
 *   a cancelled BH scheduled again keeps its place and may legitimately
 *   run in the poll during which it was re-scheduled.  Without the
 *   tracepoints, threaded contexts are not checked.
 * fifo: BHs scheduled by one producer to one context run in that order.
 *   Exact for ordered BHs and oneshots, which always enqueue: each
 *   producer stamps them per context, and each context's callbacks must
 *   see the stamps of one producer increase.  Free BHs are not checked
 *   (whether a schedule enqueued or coalesced is unknowable).
 * timeout: whenever a context's thread goes to sleep with a non-idle BH
 *   pending, the timeout it slept with was 0.  Every context counts its
 *   ordered BHs whose schedule has returned and whose callback has not
 *   started (armed_nonidle, armed_any; a delete uncounts first).  In the
 *   context's poller no such BH can be between its dequeue and its
 *   callback, so a positive count there means one of them waits, in the
 *   pending list or in a slice.
 *   (a) The sleep, exact: at bhq_poll_end of a thread's top-level poll the
 *   counts are taken; no callback runs until the thread sleeps, so if it
 *   then sleeps (bhq_sleep, only traced for a non-zero timeout) with a
 *   non-idle count, or without timeout with any count, that is a
 *   violation.  Covers schedules from other CPUs, hardirq and softirq
 *   racing with the thread's poll and sleep.
 *   (b) The timeout function inside polls, exact: callbacks of every
 *   context and the manual pollers between polls check that
 *   bhq_compute_timeout() returns 0 for a positive non-idle count and not
 *   BHQ_TIMEOUT_INFINITE for a positive count (nested polls, slices).
 *   (c) Indirect, end to end: a probe kthread schedules on an otherwise
 *   quiet threaded context a non-idle BH, an idle one, or an idle one
 *   then a non-idle one 2 ms later (the thread then sleeps its idle
 *   timeout and must be woken); each must run within @latency_ms, a
 *   bound safe under TCG.  A non-idle BH that does not wake the thread
 *   waits only the 10 ms idle timeout, below any such bound: so such
 *   pairs are counted (probes_pairs, and probes_late when the non-idle BH
 *   ran only after the idle timeout; not while the lifetime modes hold
 *   the load off, see bhqt_hold_begin()), and more than half of at least
 *   BHQT_PROBE_MIN_PAIRS pairs late is a latency violation (scheduling
 *   noise makes about 5-15% late under the CI load; a missing wakeup
 *   over 90%).  The maximum latencies are reported.
 * cpu: BHs of an online CPU's context run on that CPU.  A cpuhp state of
 *   our own (CPUHP_AP_ONLINE_DYN, set up after bhq's, so it runs after
 *   bhq's on the way up and before it on the way down) makes a per-CPU
 *   generation odd while the CPU is offline or changing; a run elsewhere
 *   while the generation was even and unchanged and the CPU not dying is
 *   a violation, elsewhere otherwise is counted in runs_cpu_unstable.
 *   (A dying CPU is excluded because from the start of its offline
 *   operation, before any callback of ours or bhq's, the scheduler moves
 *   a waking thread bound to it elsewhere.)  hp_unbound counts our online
 *   callbacks that found bhq's thread not bound to its CPU yet: 0 unless
 *   the state order above does not hold (scripts/guest-torture.sh
 *   requires 0).
 * task: every callback of a context runs in that context's one poller:
 *   its kthread (learned at the first callback) or the manual poller.
 * latency: every run of an ordered BH or oneshot later than @stall_ms
 *   after its schedule is a stall violation; the maxima are reported.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/llist.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/stringify.h>
#include <linux/tracepoint.h>

#include <linux/bhq.h>
#include <trace/events/bhq.h>

#include "bhq_torture.h"

/* The parameters and their descriptions, from bhq_torture_params.h. */
#define BHQT_N	false
#define BHQT_Y	true

#define BHQT_PARAM(param, dflt, ...)					\
	unsigned int bhqt_##param = dflt;				\
	module_param_named(param, bhqt_##param, uint, 0444)
#define BHQT_BOOL_PARAM(param, dflt, ...)				\
	bool bhqt_##param = BHQT_##dflt;				\
	module_param_named(param, bhqt_##param, bool, 0444)
#include "bhq_torture_params.h"

#define BHQT_PARAM(param, dflt, lo, hi, desc)				\
	MODULE_PARM_DESC(param, desc " (" __stringify(lo) ".."		\
			 __stringify(hi) ", default " __stringify(dflt) ")")
#define BHQT_BOOL_PARAM(param, dflt, desc)				\
	MODULE_PARM_DESC(param, desc " (default " __stringify(dflt) ")")
#include "bhq_torture_params.h"

/* Flush rounds at the end before the load is declared not quiescent. */
#define BHQT_QUIESCE_ROUNDS	10
/* Polls of a manual context before its barrier is declared stuck. */
#define BHQT_FLUSH_POLLS		1000
/* Probe pairs needed before their lateness is judged. */
#define BHQT_PROBE_MIN_PAIRS	20
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
	BHQT_ALLOC_FAILURES,
	BHQT_PROBES,
	BHQT_PROBES_PAIRS,
	BHQT_PROBES_LATE,
	BHQT_NR_STATS,
};

static const char * const bhqt_stat_names[] = {
	"ops", "checks", "scheduled", "scheduled_idle", "cancels", "deletes",
	"creates", "oneshots", "runs", "polls", "nested_polls",
	"self_schedules", "self_deletes", "timeout_checks", "sleep_checks",
	"runs_racing_delete", "runs_cpu_unstable", "lost_unproven",
	"hp_online", "hp_offline", "hp_unbound", "alloc_failures", "probes",
	"probes_pairs", "probes_late",
};

static_assert(ARRAY_SIZE(bhqt_stat_names) == BHQT_NR_STATS);

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

static const char * const bhqt_violation_names[] = {
	"lost", "spurious", "after_delete", "poll", "fifo", "timeout", "cpu",
	"task", "latency", "stall",
};

static_assert(ARRAY_SIZE(bhqt_violation_names) == BHQT_NR_VIOLATIONS);

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
 * @stuck: a flush timed out; nothing of it is freed any more
 * @grave: deleted BHs waiting for a barrier before they are freed
 * @armed_any: ordered BHs whose schedule returned and whose run has not
 *	started, see "timeout" at the top of this file
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

/* A oneshot's argument; freed by its callback. */
struct bhqt_oneshot {
	struct bhqt_ctx *tctx;
	unsigned int prod;
	u64 stamp;
	u64 gen;
	u64 ns;
};

/* A flush barrier: one reference for the waiter, one for the callback. */
struct bhqt_barrier {
	struct completion done;
	refcount_t ref;
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

static const char * const bhqt_status_names[] = {
	"running", "stopping", "SUCCESS", "FAILURE",
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
	struct dentry *dir;
};

static struct bhqt_state bhqt;

static void bhqt_inc(enum bhqt_stat stat)
{
	this_cpu_inc(bhqt.counters->v[stat]);
}

static u64 bhqt_sum(enum bhqt_stat stat)
{
	unsigned int cpu;
	u64 sum = 0;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(bhqt.counters, cpu)->v[stat];
	return sum;
}

/* Ours and the lifetime modes'. */
static unsigned long bhqt_nr_violations(void)
{
	unsigned long sum = bhqt_life_nr_violations();
	int v;

	for (v = 0; v < BHQT_NR_VIOLATIONS; v++)
		sum += atomic_long_read(&bhqt.violations[v]);
	return sum;
}

static u64 bhqt_total_ops(void)
{
	return bhqt_sum(BHQT_OPS) + bhqt_life_ops();
}

static u64 bhqt_total_checks(void)
{
	return bhqt_sum(BHQT_CHECKS) + bhqt_life_checks();
}

/**
 * bhqt_violation() - count a violation, and report the first ones
 * @v: its kind
 * @fmt: printf format of the details
 *
 * Context: any.
 */
static __printf(2, 3) void bhqt_violation(enum bhqt_violation v, const char *fmt, ...)
{
	long n = atomic_long_inc_return(&bhqt.violations[v]);
	struct va_format vaf;
	va_list args;

	if (n > BHQT_REPORT_MAX)
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("violation %s #%ld: %pV\n", bhqt_violation_names[v], n, &vaf);
	va_end(args);
}

static void bhqt_max(atomic64_t *max, u64 val)
{
	s64 old = atomic64_read(max);

	while ((s64)val > old && !atomic64_try_cmpxchg(max, &old, val))
		;
}

static u64 bhqt_stall_ns(void)
{
	return (u64)bhqt_stall_ms * NSEC_PER_MSEC;
}

/**
 * bhqt_hold_begin() - hold the load off while bhq's publish delay is on
 *
 * CONFIG_BHQ_DEBUG's delay after a schedule published its BH is global:
 * while a lifetime mode has it on, every schedule busy-waits it out, and
 * our producers schedule from hardirq and with interrupts off, dozens at
 * a time.  So they, and the callbacks' actions, skip their operations
 * until bhqt_hold_end(); an operation already under way is delayed once.
 *
 * Context: process context, with bhqt_hold_end() in pairs.
 */
void bhqt_hold_begin(void)
{
	atomic_inc(&bhqt.held);
}

void bhqt_hold_end(void)
{
	atomic_inc(&bhqt.held);
}

bool bhqt_held(void)
{
	return atomic_read(&bhqt.held) & 1;
}

/* F1: did an operation with this mark precede the dequeue of callback @q? */
static bool bhqt_before(unsigned long mark, u8 margin, unsigned long q)
{
	return q >= mark + margin;
}

/* The mark of an operation on a BH of @tctx, see F1 at the top. */
static unsigned long bhqt_mark(struct bhqt_ctx *tctx)
{
	/*
	 * Orders the operation (the BH flags bhq just changed) before the
	 * read of cbseq; pairs with the smp_mb() in bhqt_event().
	 */
	smp_mb();
	return READ_ONCE(tctx->cbseq);
}

static struct bhqt_bh **bhqt_slot(struct bhqt_producer *p, bool ordered,
				  unsigned int ctx, unsigned int k)
{
	return &p->slots[((ordered ? bhqt.nr_ctxs : 0) + ctx) * bhqt_nr_bhs + k];
}

static struct bhqt_producer *bhqt_cpu_prod(unsigned int cpu, enum bhqt_kind kind)
{
	return &bhqt.prods[cpu * BHQT_NR_KINDS + kind];
}

static struct bhqt_producer *bhqt_cb_prod(struct bhqt_ctx *tctx)
{
	return &bhqt.prods[nr_cpu_ids * BHQT_NR_KINDS + tctx->idx];
}

/* ---- operations on free and ordered BHs, under b->lock ---- */

static void bhqt_count_schedule(bool idle)
{
	bhqt_inc(BHQT_OPS);
	bhqt_inc(BHQT_SCHEDULED);
	if (idle)
		bhqt_inc(BHQT_SCHEDULED_IDLE);
}

/**
 * bhqt_do_schedule() - schedule a free BH and record it
 * @b: the BH, locked, not deleted
 * @idle: bhq_bh_schedule_idle() instead of bhq_bh_schedule()
 * @margin: 1 from a callback of the BH's context, else 2
 */
static void bhqt_do_schedule(struct bhqt_bh *b, bool idle, u8 margin)
{
	if (idle)
		bhq_bh_schedule_idle(b->bh);
	else
		bhq_bh_schedule(b->bh);
	b->sched_mark = bhqt_mark(b->tctx);
	b->sched_margin = margin;
	b->nr_sched++;
	b->last_sched = true;
	bhqt_count_schedule(idle);
}

static void bhqt_do_cancel(struct bhqt_bh *b)
{
	bhq_bh_cancel(b->bh);
	b->cancel_mark = bhqt_mark(b->tctx);
	b->cancel_floor = b->nr_sched;
	b->last_sched = false;
	bhqt_inc(BHQT_OPS);
	bhqt_inc(BHQT_CANCELS);
}

/* An armed ordered BH leaves the counts of the timeout check. */
static void bhqt_disarm(struct bhqt_bh *b)
{
	if (!b->armed_idle)
		atomic_dec(&b->tctx->armed_nonidle);
	atomic_dec(&b->tctx->armed_any);
	b->armed_stamp = 0;
}

/**
 * bhqt_do_delete() - delete a BH and record it
 * @b: the BH, locked, not deleted
 * @margin: 1 from a callback of the BH's context, else 2
 *
 * An armed ordered BH leaves the timeout counts first: a poller that saw
 * the delete in its dequeue then sees the decrement too.
 */
static void bhqt_do_delete(struct bhqt_bh *b, u8 margin)
{
	if (b->ordered && b->armed_stamp)
		bhqt_disarm(b);
	bhq_bh_delete(b->bh);
	b->bh = NULL;
	b->del_mark = bhqt_mark(b->tctx);
	b->del_margin = margin;
	b->deleted = true;
	bhqt_inc(BHQT_OPS);
	bhqt_inc(BHQT_DELETES);
}

/**
 * bhqt_arm() - schedule an ordered BH and record the schedule
 * @b: the BH, locked, not deleted, not armed
 * @p: its producer (sequential: the stamps are its own)
 * @idle: schedule it idle
 *
 * cb_poll is read before the schedule: every poll up to that id had
 * carved its slice before the schedule, so none of them may run it.
 */
static void bhqt_arm(struct bhqt_bh *b, struct bhqt_producer *p, bool idle)
{
	struct bhqt_ctx *tctx = b->tctx;

	b->armed_stamp = ++p->stamps[tctx->idx];
	b->armed_after_poll = READ_ONCE(tctx->cb_poll);
	b->armed_ns = ktime_get_ns();
	b->armed_idle = idle;
	b->stalled = false;
	if (idle)
		bhq_bh_schedule_idle(b->bh);
	else
		bhq_bh_schedule(b->bh);
	/* Counted once the schedule is visible; pairs with bhqt_check_timeout(). */
	smp_mb__before_atomic();
	atomic_inc(&tctx->armed_any);
	if (!idle)
		atomic_inc(&tctx->armed_nonidle);
	bhqt_count_schedule(idle);
}

/* ---- checks made by every callback ---- */

/* The first callback of a threaded context names its thread. */
static void bhqt_check_task(struct bhqt_ctx *tctx)
{
	struct task_struct *t = READ_ONCE(tctx->poller);

	if (!t && !tctx->manual) {
		t = cmpxchg(&tctx->poller, NULL, current);
		if (!t)
			t = current;
	}
	bhqt_inc(BHQT_CHECKS);
	if (t != current)
		bhqt_violation(BHQT_V_TASK, "%s: callback run by %s/%d, not by its poller %s/%d",
			       tctx->name, current->comm, task_pid_nr(current),
			       t ? t->comm : "(none)", t ? task_pid_nr(t) : 0);
}

/**
 * bhqt_check_cpu() - a per-CPU context's callback runs on its CPU
 * @tctx: the context
 *
 * The generation is read before and after the CPU: equal and even means
 * that our hotplug callbacks did not run across the read.  The CPU must
 * also not be dying: from the start of its offline operation, before our
 * offline callback, the scheduler already moves a waking thread bound to
 * it elsewhere (and leaves it unbound).
 */
static void bhqt_check_cpu(struct bhqt_ctx *tctx)
{
	atomic_t *gen = &bhqt.hp_gen[tctx->cpu];
	unsigned int cpu;
	bool dying;
	int g1, g2;

	g1 = atomic_read_acquire(gen);
	dying = cpu_dying(tctx->cpu);
	cpu = raw_smp_processor_id();
	/* Read the generation again only after the CPU number. */
	smp_rmb();
	g2 = atomic_read(gen);
	if (cpu == tctx->cpu) {
		bhqt_inc(BHQT_CHECKS);
		return;
	}
	if (g1 != g2 || (g1 & 1) || dying) {
		bhqt_inc(BHQT_RUNS_CPU_UNSTABLE);
		return;
	}
	bhqt_inc(BHQT_CHECKS);
	bhqt_violation(BHQT_V_CPU, "%s: callback ran on CPU %u while CPU %d was online",
		       tctx->name, cpu, tctx->cpu);
}

/**
 * bhqt_event() - one more event of @tctx's poller, see F1
 * @tctx: the context; called by its poller only
 *
 * Return: the event's number.
 */
static unsigned long bhqt_event(struct bhqt_ctx *tctx)
{
	unsigned long q = tctx->cbseq + 1;

	WRITE_ONCE(tctx->cbseq, q);
	/* F1: the event comes before this context's next dequeue. */
	smp_mb();
	return q;
}

/**
 * bhqt_cb_enter() - the prologue of every torture callback
 * @tctx: the callback's context
 *
 * Return: the callback's index on @tctx (its cbseq after the increment).
 */
static unsigned long bhqt_cb_enter(struct bhqt_ctx *tctx)
{
	unsigned long q;

	/* Its poll has carved: see "poll" at the top of this file. */
	if (tctx->cur_poll != U64_MAX)
		WRITE_ONCE(tctx->cb_poll, tctx->cur_poll);
	q = bhqt_event(tctx);
	bhqt_inc(BHQT_RUNS);
	bhqt_check_task(tctx);
	if (tctx->cpu >= 0)
		bhqt_check_cpu(tctx);
	return q;
}

/**
 * bhqt_check_timeout() - the poller's bhq_compute_timeout() is right
 * @tctx: the context; called by its poller only
 *
 * See "timeout" at the top of this file.
 */
static void bhqt_check_timeout(struct bhqt_ctx *tctx)
{
	int nonidle = atomic_read_acquire(&tctx->armed_nonidle);
	int any = atomic_read_acquire(&tctx->armed_any);
	s64 timeout;

	if (nonidle <= 0 && any <= 0)
		return;
	timeout = bhq_compute_timeout(tctx->ctx);
	bhqt_inc(BHQT_CHECKS);
	bhqt_inc(BHQT_TIMEOUT_CHECKS);
	if (nonidle > 0 && timeout != 0)
		bhqt_violation(BHQT_V_TIMEOUT, "%s: timeout %lld with %d non-idle BHs pending",
			       tctx->name, timeout, nonidle);
	else if (timeout == BHQ_TIMEOUT_INFINITE)
		bhqt_violation(BHQT_V_TIMEOUT, "%s: infinite timeout with %d BHs pending",
			       tctx->name, any);
}

/* Did this run start after the BH's delete reached bhq? */
static void bhqt_check_deleted(struct bhqt_bh *b, unsigned long q)
{
	bhqt_inc(BHQT_CHECKS);
	if (!bhqt_before(b->del_mark, b->del_margin, q)) {
		bhqt_inc(BHQT_RUNS_RACING_DELETE);
		return;
	}
	bhqt_violation(BHQT_V_AFTER_DELETE,
		       "%s: %s BH of producer %u ran after its delete (callback %lu, delete at %lu)",
		       b->tctx->name, b->ordered ? "ordered" : "free",
		       b->prod->idx, q, b->del_mark);
}

/**
 * bhqt_order_check() - FIFO, poll and latency checks of an enqueue
 * @tctx: the context running it (its poller calls this)
 * @prod: the producer that scheduled it
 * @stamp: the producer's FIFO stamp for @tctx
 * @gen: @tctx's cb_poll read before the schedule
 * @ns: time of the schedule
 * @idle: scheduled idle
 */
static void bhqt_order_check(struct bhqt_ctx *tctx, unsigned int prod, u64 stamp,
			     u64 gen, u64 ns, bool idle)
{
	u64 *last = &tctx->last_stamp[prod];
	u64 lat = ktime_get_ns() - ns;

	bhqt_inc(BHQT_CHECKS);
	if (stamp <= *last)
		bhqt_violation(BHQT_V_FIFO, "%s: producer %u's BH #%llu ran after its BH #%llu",
			       tctx->name, prod, stamp, *last);
	*last = max(*last, stamp);

	if (tctx->manual || bhqt.traced) {
		bhqt_inc(BHQT_CHECKS);
		if (tctx->cur_poll <= gen)
			bhqt_violation(BHQT_V_POLL,
				       "%s: poll %llu ran a BH scheduled after poll %llu had carved",
				       tctx->name, tctx->cur_poll, gen);
	}

	bhqt_max(idle ? &bhqt.max_idle_ns : &bhqt.max_nonidle_ns, lat);
	bhqt_inc(BHQT_CHECKS);
	if (lat > bhqt_stall_ns())
		bhqt_violation(BHQT_V_STALL, "%s: %s BH ran %llu ms after its schedule",
			       tctx->name, idle ? "idle" : "non-idle",
			       lat / NSEC_PER_MSEC);
}

/**
 * bhqt_match_run() - match a run of a free BH to a schedule of its own
 * @b: the BH, locked, not deleted
 * @q: the run's callback index
 *
 * See "spurious" in Documentation/torture.rst.  @b->match_floor collects
 * the schedules known not to be able to justify this run; the greedy
 * match takes the lowest schedule above it not used by an earlier run.
 */
static void bhqt_match_run(struct bhqt_bh *b, unsigned long q)
{
	u64 floor = max(b->match_floor, b->older_run_nr_sched);
	u64 i;

	if (b->runs) {
		/* Known to precede the previous run's dequeue, see F1. */
		if (bhqt_before(b->sched_mark, b->sched_margin, b->prev_run_cbseq))
			floor = max(floor, b->nr_sched);
		else if (bhqt_before(b->prev_run_sched_mark,
				     b->prev_run_sched_margin, b->prev_run_cbseq))
			floor = max(floor, b->prev_run_nr_sched);
		floor = max(floor, b->prev_run_cancel_floor);
	}
	if (bhqt_before(b->cancel_mark, 2, q))
		floor = max(floor, b->cancel_floor);
	b->match_floor = floor;

	i = max(b->next_match, floor + 1);
	bhqt_inc(BHQT_CHECKS);
	if (i > b->nr_sched)
		bhqt_violation(BHQT_V_SPURIOUS,
			       "%s: free BH run %llu has no schedule of its own (%llu schedules, the first %llu used up or cancelled)",
			       b->tctx->name, b->runs + 1, b->nr_sched, floor);
	else
		b->next_match = i + 1;

	b->older_run_nr_sched = b->prev_run_nr_sched;
	b->prev_run_nr_sched = b->nr_sched;
	b->prev_run_cancel_floor = b->cancel_floor;
	b->prev_run_cbseq = q;
	b->prev_run_sched_mark = b->sched_mark;
	b->prev_run_sched_margin = b->sched_margin;
	b->runs++;
}

/* ---- manual contexts: polls and flushes ---- */

/**
 * bhqt_poll_manual() - poll a manual context, giving the poll an id
 * @tctx: a manual context; called by its poller (maybe from a callback)
 */
static void bhqt_poll_manual(struct bhqt_ctx *tctx)
{
	u64 outer = tctx->cur_poll;

	/* Fully ordered: the id is visible before the poll carves. */
	tctx->cur_poll = atomic64_inc_return(&tctx->polls);
	if (tctx->depth++)
		bhqt_inc(BHQT_NESTED_POLLS);
	bhqt_inc(BHQT_POLLS);
	bhqt_inc(BHQT_OPS);
	bhqt_event(tctx);
	bhq_poll(tctx->ctx);
	bhqt_event(tctx);
	tctx->depth--;
	tctx->cur_poll = outer;
}

static void bhqt_barrier_put(struct bhqt_barrier *bar)
{
	if (refcount_dec_and_test(&bar->ref))
		kfree(bar);
}

static void bhqt_barrier_fn(void *opaque)
{
	struct bhqt_barrier *bar = opaque;

	complete(&bar->done);
	bhqt_barrier_put(bar);
}

static bool bhqt_barrier_wait(struct bhqt_ctx *tctx, struct bhqt_barrier *bar)
{
	unsigned int i;

	if (!tctx->manual)
		return wait_for_completion_timeout(&bar->done,
						   msecs_to_jiffies(bhqt_stall_ms));
	for (i = 0; i < BHQT_FLUSH_POLLS && !completion_done(&bar->done); i++)
		bhqt_poll_manual(tctx);
	return completion_done(&bar->done);
}

/**
 * bhqt_flush() - wait, boundedly, until everything scheduled on @tctx ran
 * @tctx: the context; for a manual one, called by its poller, not from a
 *	callback
 *
 * bhq_ctx_flush() waits without a bound; this queues a oneshot barrier
 * instead, which may outlive a timed-out wait.  A timeout marks @tctx stuck.
 *
 * Return: true if the barrier ran.
 */
static bool bhqt_flush(struct bhqt_ctx *tctx)
{
	struct bhqt_barrier *bar;
	bool done;

	if (tctx->stuck)
		return false;
	bar = kmalloc(sizeof(*bar), GFP_KERNEL);
	if (!bar)
		return false;
	init_completion(&bar->done);
	refcount_set(&bar->ref, 2);
	bhqt_inc(BHQT_OPS);
	if (bhq_schedule_oneshot(tctx->ctx, bhqt_barrier_fn, bar, GFP_KERNEL)) {
		kfree(bar);
		return false;
	}
	done = bhqt_barrier_wait(tctx, bar);
	bhqt_barrier_put(bar);
	if (!done) {
		tctx->stuck = true;
		bhqt_violation(BHQT_V_STALL, "%s: a flush did not complete within %u ms",
			       tctx->name, bhqt_stall_ms);
	}
	return done;
}

/**
 * bhqt_reap() - free the deleted BHs of @tctx once a barrier ran behind them
 * @tctx: the context; for a manual one, called by its poller outside polls
 *
 * Every BH taken off the graveyard was deleted before the barrier was
 * scheduled, so bhq has dequeued it when the barrier runs, and (threaded
 * contexts run one callback at a time, manual ones are at top level here)
 * none of its callbacks still runs.
 */
static void bhqt_reap(struct bhqt_ctx *tctx)
{
	struct llist_node *list;
	struct bhqt_bh *b, *tmp;

	if (llist_empty(&tctx->grave) || tctx->stuck)
		return;
	list = llist_del_all(&tctx->grave);
	if (!bhqt_flush(tctx)) {
		/* Leaked: a callback may still run on them. */
		pr_err("%s: leaving deleted BHs allocated after a stuck flush\n",
		       tctx->name);
		return;
	}
	llist_for_each_entry_safe(b, tmp, list, grave)
		kfree(b);
}

/* The owner of a deleted BH moves it to its context's graveyard. */
static void bhqt_bury(struct bhqt_bh **slot, struct bhqt_bh *b)
{
	WRITE_ONCE(*slot, NULL);
	llist_add(&b->grave, &b->tctx->grave);
}

/* ---- callbacks ---- */

static void bhqt_oneshot_fn(void *opaque);

/**
 * bhqt_oneshot() - schedule a stamped oneshot
 * @p: the producer (sequential)
 * @tctx: the target context
 * @gfp: GFP_ATOMIC from interrupts
 */
static void bhqt_oneshot(struct bhqt_producer *p, struct bhqt_ctx *tctx, gfp_t gfp)
{
	struct bhqt_oneshot *o = kmalloc(sizeof(*o), gfp);

	if (!o) {
		bhqt_inc(BHQT_ALLOC_FAILURES);
		return;
	}
	o->tctx = tctx;
	o->prod = p->idx;
	o->stamp = ++p->stamps[tctx->idx];
	o->gen = READ_ONCE(tctx->cb_poll);
	o->ns = ktime_get_ns();
	atomic_long_inc(&bhqt.oneshots_out);
	/* @o may be run and freed before this returns. */
	if (bhq_schedule_oneshot(tctx->ctx, bhqt_oneshot_fn, o, gfp)) {
		atomic_long_dec(&bhqt.oneshots_out);
		kfree(o);
		bhqt_inc(BHQT_ALLOC_FAILURES);
		return;
	}
	bhqt_inc(BHQT_ONESHOTS);
	bhqt_count_schedule(false);
}

/* A free BH's callback schedules or deletes its own BH. */
static void bhqt_cb_self(struct bhqt_bh *b, u32 r)
{
	unsigned int op = bhqt_pick(BHQT_MIX_SELF, r);
	unsigned long flags;

	if (op == BHQT_SELF_NONE)
		return;
	raw_spin_lock_irqsave(&b->lock, flags);
	if (!b->deleted) {
		if (op == BHQT_SELF_DELETE) {
			bhqt_do_delete(b, 1);
			bhqt_inc(BHQT_SELF_DELETES);
		} else {
			bhqt_do_schedule(b, op == BHQT_SELF_SCHEDULE_IDLE, 1);
			bhqt_inc(BHQT_SELF_SCHEDULES);
		}
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

/**
 * bhqt_cb_actions() - what a callback does after its checks
 * @tctx: its context (the caller is its poller)
 * @b: its BH, NULL for a oneshot
 *
 * A free BH may re-schedule or delete itself; on a manual context the
 * callback may then schedule a oneshot and nest a poll (a BH that deleted
 * itself and polls again must not run in that poll).  Elsewhere it may
 * schedule a oneshot on any context.
 */
static void bhqt_cb_actions(struct bhqt_ctx *tctx, struct bhqt_bh *b)
{
	u32 r = prandom_u32_state(&tctx->rnd);

	if (READ_ONCE(bhqt.stopping) || bhqt_held())
		return;
	if (b && !b->ordered)
		bhqt_cb_self(b, r);
	if (r & 0x200)
		bhqt_check_timeout(tctx);
	if (!tctx->manual) {
		if ((r >> 12) % 16 == 0)
			bhqt_oneshot(bhqt_cb_prod(tctx), &bhqt.ctxs[(r >> 16) % bhqt.nr_ctxs],
				     GFP_KERNEL);
		return;
	}
	if ((r >> 12) % 8 == 0)
		bhqt_oneshot(bhqt_cb_prod(tctx), tctx, GFP_KERNEL);
	if ((r >> 16) % 4 == 0 && tctx->depth < bhqt_max_nest) {
		bhqt_poll_manual(tctx);
		bhqt_check_timeout(tctx);
	}
}

/* The epilogue of every torture callback: one more event, see F1. */
static void bhqt_cb_exit(struct bhqt_ctx *tctx)
{
	bhqt_event(tctx);
}

static void bhqt_free_fn(void *opaque)
{
	struct bhqt_bh *b = opaque;
	struct bhqt_ctx *tctx = b->tctx;
	unsigned long q = bhqt_cb_enter(tctx);
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	if (b->deleted)
		bhqt_check_deleted(b, q);
	else
		bhqt_match_run(b, q);
	raw_spin_unlock_irqrestore(&b->lock, flags);
	bhqt_cb_actions(tctx, b);
	bhqt_cb_exit(tctx);
}

static void bhqt_ordered_fn(void *opaque)
{
	struct bhqt_bh *b = opaque;
	struct bhqt_ctx *tctx = b->tctx;
	unsigned long q = bhqt_cb_enter(tctx);
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	if (b->deleted) {
		bhqt_check_deleted(b, q);
	} else if (!b->armed_stamp) {
		bhqt_inc(BHQT_CHECKS);
		bhqt_violation(BHQT_V_SPURIOUS,
			       "%s: ordered BH of producer %u ran without a schedule",
			       tctx->name, b->prod->idx);
	} else {
		bhqt_inc(BHQT_CHECKS);
		bhqt_order_check(tctx, b->prod->idx, b->armed_stamp, b->armed_after_poll,
				 b->armed_ns, b->armed_idle);
		bhqt_disarm(b);
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
	bhqt_cb_actions(tctx, b);
	bhqt_cb_exit(tctx);
}

static void bhqt_oneshot_fn(void *opaque)
{
	struct bhqt_oneshot *o = opaque;
	struct bhqt_ctx *tctx = o->tctx;

	bhqt_cb_enter(tctx);
	bhqt_order_check(tctx, o->prod, o->stamp, o->gen, o->ns, false);
	kfree(o);
	atomic_long_dec(&bhqt.oneshots_out);
	bhqt_cb_actions(tctx, NULL);
	bhqt_cb_exit(tctx);
}

/* ---- producers ---- */

/**
 * bhqt_free_op() - one random operation on a free BH of @p
 * @p: the producer owning @slot
 * @slot: the BH's slot
 * @r: random bits
 */
static void bhqt_free_op(struct bhqt_producer *p, struct bhqt_bh **slot, u32 r)
{
	struct bhqt_bh *b = READ_ONCE(*slot);
	unsigned long flags;
	bool bury;

	if (!b)
		return;
	raw_spin_lock_irqsave(&b->lock, flags);
	if (!b->deleted) {
		switch (bhqt_pick(BHQT_MIX_FREE, r)) {
		case BHQT_FREE_SCHEDULE:
			bhqt_do_schedule(b, false, 2);
			break;
		case BHQT_FREE_SCHEDULE_IDLE:
			bhqt_do_schedule(b, true, 2);
			break;
		case BHQT_FREE_CANCEL:
			bhqt_do_cancel(b);
			break;
		default:
			bhqt_do_delete(b, 2);
			break;
		}
	}
	bury = b->deleted;
	raw_spin_unlock_irqrestore(&b->lock, flags);
	if (bury)
		bhqt_bury(slot, b);
}

/* An armed ordered BH that waits too long is stuck. */
static void bhqt_check_stall(struct bhqt_bh *b)
{
	u64 wait = ktime_get_ns() - b->armed_ns;

	if (b->stalled || wait <= bhqt_stall_ns())
		return;
	b->stalled = true;
	bhqt_violation(BHQT_V_STALL, "%s: %s ordered BH of producer %u pending for %llu ms",
		       b->tctx->name, b->armed_idle ? "idle" : "non-idle",
		       b->prod->idx, wait / NSEC_PER_MSEC);
}

/**
 * bhqt_ordered_op() - one random operation on an ordered BH of @p
 * @p: the producer owning @slot
 * @slot: the BH's slot
 * @r: random bits
 */
static void bhqt_ordered_op(struct bhqt_producer *p, struct bhqt_bh **slot, u32 r)
{
	struct bhqt_bh *b = READ_ONCE(*slot);
	unsigned int op = bhqt_pick(BHQT_MIX_ORDERED, r);
	unsigned long flags;
	bool bury;

	if (!b)
		return;
	raw_spin_lock_irqsave(&b->lock, flags);
	if (!b->deleted) {
		if (b->armed_stamp) {
			bhqt_inc(BHQT_CHECKS);
			bhqt_check_stall(b);
		}
		if (op == BHQT_ORDERED_DELETE)
			bhqt_do_delete(b, 2);
		else if (!b->armed_stamp)
			bhqt_arm(b, p, op == BHQT_ORDERED_SCHEDULE_IDLE);
	}
	bury = b->deleted;
	raw_spin_unlock_irqrestore(&b->lock, flags);
	if (bury)
		bhqt_bury(slot, b);
}

/**
 * bhqt_random_op() - one random operation of a CPU producer
 * @p: the producer
 * @gfp: allocation flags for oneshots
 */
static void bhqt_random_op(struct bhqt_producer *p, gfp_t gfp)
{
	u32 r = prandom_u32_state(&p->rnd);
	u32 r2 = prandom_u32_state(&p->rnd);
	unsigned int ctx = r % bhqt.nr_ctxs;
	unsigned int k = (r >> 8) % bhqt_nr_bhs;

	if (bhqt_held())
		return;
	switch (bhqt_pick(BHQT_MIX_TARGET, r >> 16)) {
	case BHQT_TARGET_FREE:
		bhqt_free_op(p, bhqt_slot(p, false, ctx, k), r2);
		break;
	case BHQT_TARGET_ORDERED:
		bhqt_ordered_op(p, bhqt_slot(p, true, ctx, k), r2);
		break;
	default:
		bhqt_oneshot(p, &bhqt.ctxs[ctx], gfp);
		break;
	}
}

/**
 * bhqt_bh_create() - allocate a free or ordered BH
 * @tctx: its context
 * @p: its producer
 * @ordered: an ordered BH
 *
 * Context: process context.
 * Return: the BH, or NULL if out of memory.
 */
static struct bhqt_bh *bhqt_bh_create(struct bhqt_ctx *tctx, struct bhqt_producer *p,
				      bool ordered)
{
	struct bhqt_bh *b = kzalloc(sizeof(*b), GFP_KERNEL);

	if (!b)
		goto fail;
	raw_spin_lock_init(&b->lock);
	b->tctx = tctx;
	b->prod = p;
	b->ordered = ordered;
	b->bh = bhq_bh_new(tctx->ctx, ordered ? bhqt_ordered_fn : bhqt_free_fn, b);
	if (!b->bh) {
		kfree(b);
		goto fail;
	}
	bhqt_inc(BHQT_OPS);
	bhqt_inc(BHQT_CREATES);
	return b;
fail:
	bhqt_inc(BHQT_ALLOC_FAILURES);
	return NULL;
}

/* Fill the empty slots of @p; the producer only ever empties them. */
static int bhqt_refill(struct bhqt_producer *p)
{
	unsigned int n = 2 * bhqt.nr_ctxs * bhqt_nr_bhs, i;
	struct bhqt_bh *b;

	for (i = 0; i < n; i++) {
		if (READ_ONCE(p->slots[i]))
			continue;
		b = bhqt_bh_create(&bhqt.ctxs[(i / bhqt_nr_bhs) % bhqt.nr_ctxs], p,
				   i >= n / 2);
		if (!b)
			return -ENOMEM;
		/* Fully ordered: @b is initialized before it is seen. */
		if (cmpxchg(&p->slots[i], NULL, b)) {
			bhq_bh_delete(b->bh);
			kfree(b);
		}
	}
	return 0;
}

/* The kthread of a CPU re-creates the deleted BHs of its CPU's producers. */
static void bhqt_refill_cpu(unsigned int cpu)
{
	enum bhqt_kind kind;

	for (kind = 0; kind < BHQT_NR_KINDS; kind++) {
		struct bhqt_producer *p = bhqt_cpu_prod(cpu, kind);

		if (p->active)
			bhqt_refill(p);
	}
}

static int bhqt_producer_fn(void *arg)
{
	struct bhqt_producer *p = arg;
	unsigned int i;

	while (!kthread_should_stop()) {
		if (!READ_ONCE(bhqt.stopping)) {
			for (i = 0; i < bhqt_batch; i++)
				bhqt_random_op(p, GFP_KERNEL);
			bhqt_refill_cpu(p->cpu);
		}
		if (bhqt_batch_sleep_us)
			usleep_range(bhqt_batch_sleep_us, 2 * bhqt_batch_sleep_us);
		else
			cond_resched();
	}
	return 0;
}

static enum hrtimer_restart bhqt_timer_fn(struct hrtimer *timer)
{
	struct bhqt_producer *p = container_of(timer, struct bhqt_producer, timer);
	unsigned int i;

	if (READ_ONCE(bhqt.stopping))
		return HRTIMER_NORESTART;
	for (i = 0; i < bhqt_irq_ops; i++)
		bhqt_random_op(p, GFP_ATOMIC);
	hrtimer_forward_now(timer, ns_to_ktime((u64)bhqt_irq_period_us * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static enum hrtimer_mode bhqt_timer_mode(struct bhqt_producer *p)
{
	return p->kind == BHQT_HARDIRQ ? HRTIMER_MODE_REL_PINNED_HARD :
				       HRTIMER_MODE_REL_PINNED_SOFT;
}

/* Start the timer on the calling CPU. */
static void bhqt_timer_start(struct bhqt_producer *p)
{
	if (!READ_ONCE(bhqt.stopping))
		hrtimer_start(&p->timer,
			      ns_to_ktime((u64)bhqt_irq_period_us * NSEC_PER_USEC),
			      bhqt_timer_mode(p));
}

/* Called on @cpu (IPI at load, its hotplug thread when it comes online). */
static void bhqt_timers_home(unsigned int cpu, bool cancel)
{
	enum bhqt_kind kind;

	for (kind = BHQT_HARDIRQ; kind < BHQT_NR_KINDS; kind++) {
		struct bhqt_producer *p = bhqt_cpu_prod(cpu, kind);

		if (!p->active)
			continue;
		if (cancel)
			hrtimer_cancel(&p->timer);
		bhqt_timer_start(p);
	}
}

static void bhqt_timers_home_ipi(void *unused)
{
	bhqt_timers_home(smp_processor_id(), false);
}

/* ---- manual pollers, the probe, the control thread ---- */

static int bhqt_manual_ctx_fn(void *arg)
{
	struct bhqt_ctx *tctx = arg;

	while (!kthread_should_stop()) {
		bhqt_poll_manual(tctx);
		bhqt_check_timeout(tctx);
		bhqt_reap(tctx);
		if (bhq_compute_timeout(tctx->ctx) != 0)
			usleep_range(50, 100);
		else
			cond_resched();
	}
	return 0;
}

static void bhqt_probe_fn(void *opaque)
{
	struct bhqt_probe_bh *pb = opaque;

	pb->ns_run = ktime_get_ns();
	/* The prober may schedule @pb again as soon as this completes. */
	complete(&pb->done);
}

/**
 * bhqt_probe_wait() - wait for a probe BH, within latency_ms, then stall_ms
 * @pb: the probe BH
 * @t0: when it was scheduled
 * @max: the maximum latency to update
 *
 * Return: false if it did not run within stall_ms either.
 */
static bool bhqt_probe_wait(struct bhqt_probe_bh *pb, u64 t0, atomic64_t *max)
{
	const char *what = pb == &bhqt.probe_idle ? "idle" : "non-idle";

	bhqt_inc(BHQT_CHECKS);
	bhqt_inc(BHQT_PROBES);
	if (!wait_for_completion_timeout(&pb->done, msecs_to_jiffies(bhqt_latency_ms))) {
		bhqt_violation(BHQT_V_LATENCY,
			       "probe: %s BH on a quiet threaded context not run within %u ms",
			       what, bhqt_latency_ms);
		if (!wait_for_completion_timeout(&pb->done, msecs_to_jiffies(bhqt_stall_ms))) {
			bhqt_violation(BHQT_V_STALL,
				       "probe: %s BH not run within %u ms more, probe stopped",
				       what, bhqt_stall_ms);
			return false;
		}
	}
	bhqt_max(max, pb->ns_run - t0);
	return true;
}

static void bhqt_probe_schedule(struct bhqt_probe_bh *pb, bool idle, u64 *t0)
{
	reinit_completion(&pb->done);
	*t0 = ktime_get_ns();
	if (idle)
		bhq_bh_schedule_idle(pb->bh);
	else
		bhq_bh_schedule(pb->bh);
}

/**
 * bhqt_probe_round() - one round of the latency probe
 * @round: selects the pattern: non-idle alone, idle then non-idle, idle
 *
 * In the second pattern the thread sleeps its idle timeout when the
 * non-idle BH comes (a pair, if the idle BH has not run yet); if that BH
 * still runs only when the idle timeout is over, the pair is late.
 *
 * Return: false if a probe BH is stuck.
 */
static bool bhqt_probe_round(unsigned int round)
{
	struct bhqt_probe_bh *n = &bhqt.probe_nonidle, *i = &bhqt.probe_idle;
	int held = atomic_read(&bhqt.held);
	bool idle_ran;
	u64 t0, t1;

	switch (round % 3) {
	case 0:
		bhqt_probe_schedule(n, false, &t0);
		return bhqt_probe_wait(n, t0, &bhqt.probe_max_nonidle_ns);
	case 1:
		bhqt_probe_schedule(i, true, &t0);
		usleep_range(2000, 3000);
		idle_ran = completion_done(&i->done);
		bhqt_probe_schedule(n, false, &t1);
		if (!bhqt_probe_wait(n, t1, &bhqt.probe_max_nonidle_ns))
			return false;
		/* A delay window may have held the wakeup: not a pair. */
		if (held & 1 || atomic_read(&bhqt.held) != held)
			idle_ran = true;
		if (!idle_ran)
			bhqt_inc(BHQT_PROBES_PAIRS);
		if (!idle_ran && n->ns_run - t0 >= BHQ_IDLE_TIMEOUT_NS)
			bhqt_inc(BHQT_PROBES_LATE);
		return bhqt_probe_wait(i, t0, &bhqt.probe_max_idle_ns);
	default:
		bhqt_probe_schedule(i, true, &t0);
		return bhqt_probe_wait(i, t0, &bhqt.probe_max_idle_ns);
	}
}

static int bhqt_probe_thread(void *unused)
{
	unsigned int round = 0;

	while (!kthread_should_stop() && !READ_ONCE(bhqt.stopping)) {
		if (!bhqt_held() && !bhqt_probe_round(round++))
			break;
		usleep_range(5000, 10000);
	}
	while (!kthread_should_stop())
		schedule_timeout_idle(HZ);
	return 0;
}

/* While the load runs: free what the threaded contexts' BHs left behind. */
static void bhqt_reap_threaded(void)
{
	unsigned int i;

	for (i = 0; i < bhqt.nr_ctxs; i++) {
		if (!bhqt.ctxs[i].manual)
			bhqt_reap(&bhqt.ctxs[i]);
	}
}

/* ---- bhq's tracepoints: polls and sleeps of threaded contexts ---- */

/* The context under test behind @ctx, if any; called by its poller. */
static struct bhqt_ctx *bhqt_find(struct bhq_ctx *ctx)
{
	unsigned int cpu = raw_smp_processor_id(), i;
	struct bhqt_ctx *tctx = bhqt.cpu_bc[cpu];

	/* Fast path: a per-CPU context's thread on its own CPU. */
	if (tctx && READ_ONCE(tctx->ctx) == ctx)
		return tctx->manual ? NULL : tctx;
	for (i = 0; i < bhqt.nr_ctxs; i++) {
		tctx = &bhqt.ctxs[i];
		if (READ_ONCE(tctx->ctx) == ctx)
			return tctx->manual ? NULL : tctx;
	}
	return NULL;
}

/* A threaded context's poll starts: give it an id, as bhqt_poll_manual(). */
static void bhqt_tp_poll_start(void *data, struct bhq_ctx *ctx,
			       unsigned int depth, unsigned int ran)
{
	struct bhqt_ctx *tctx = bhqt_find(ctx);
	u64 id;

	if (!tctx)
		return;
	bhqt_event(tctx);
	/* Fully ordered: the id is visible before the poll carves. */
	id = atomic64_inc_return(&tctx->polls);
	if (depth > BHQT_MAX_DEPTH) {
		/* Unknown: no poll check can fail. */
		tctx->cur_poll = U64_MAX;
		return;
	}
	tctx->poll_ids[depth - 1] = id;
	tctx->cur_poll = id;
}

/*
 * A threaded context's poll ends: at depth 1, count the ordered BHs still
 * waiting.  No callback runs between here and the thread's next sleep.
 */
static void bhqt_tp_poll_end(void *data, struct bhq_ctx *ctx,
			     unsigned int depth, unsigned int ran)
{
	struct bhqt_ctx *tctx = bhqt_find(ctx);

	if (!tctx)
		return;
	bhqt_event(tctx);
	if (depth >= 2 && depth <= BHQT_MAX_DEPTH + 1)
		tctx->cur_poll = tctx->poll_ids[depth - 2];
	if (depth != 1)
		return;
	tctx->cur_poll = 0;
	tctx->snap_nonidle = atomic_read_acquire(&tctx->armed_nonidle);
	tctx->snap_any = atomic_read_acquire(&tctx->armed_any);
	tctx->snap_valid = true;
}

/*
 * The thread goes to sleep with a non-zero @timeout (bhq traces no other
 * sleep).  An ordered BH counted at the end of its last poll is still
 * pending: the timeout must have been 0 for a non-idle one, finite for an
 * idle one.  Exact: see "timeout" at the top of this file.
 */
static void bhqt_tp_sleep(void *data, struct bhq_ctx *ctx, s64 timeout)
{
	struct bhqt_ctx *tctx = bhqt_find(ctx);

	if (!tctx || !tctx->snap_valid)
		return;
	bhqt_inc(BHQT_CHECKS);
	bhqt_inc(BHQT_SLEEP_CHECKS);
	if (tctx->snap_nonidle > 0)
		bhqt_violation(BHQT_V_TIMEOUT,
			       "%s: thread slept with timeout %lld while %d non-idle BHs were pending",
			       tctx->name, timeout, tctx->snap_nonidle);
	else if (timeout == BHQ_TIMEOUT_INFINITE && tctx->snap_any > 0)
		bhqt_violation(BHQT_V_TIMEOUT,
			       "%s: thread slept without timeout while %d BHs were pending",
			       tctx->name, tctx->snap_any);
}

static void bhqt_tp_exit(void)
{
	if (!bhqt.traced)
		return;
	unregister_trace_bhq_sleep(bhqt_tp_sleep, NULL);
	unregister_trace_bhq_poll_end(bhqt_tp_poll_end, NULL);
	unregister_trace_bhq_poll_start(bhqt_tp_poll_start, NULL);
	/* No probe of ours runs any more once this returns. */
	tracepoint_synchronize_unregister();
	bhqt.traced = false;
}

/**
 * bhqt_tp_init() - probe bhq's poll and sleep tracepoints
 *
 * bhq exports them.  Should a probe not register, the poll check covers
 * only the manual contexts and the sleep check is not made ("tracepoints"
 * in stats is 0, which scripts/guest-torture.sh does not accept).
 *
 * Context: process context, before any BH of the torture exists.
 */
static void bhqt_tp_init(void)
{
	int err;

	err = register_trace_bhq_poll_start(bhqt_tp_poll_start, NULL);
	if (err)
		goto fail;
	err = register_trace_bhq_poll_end(bhqt_tp_poll_end, NULL);
	if (err)
		goto fail_poll_start;
	err = register_trace_bhq_sleep(bhqt_tp_sleep, NULL);
	if (err)
		goto fail_poll_end;
	bhqt.traced = true;
	return;

fail_poll_end:
	unregister_trace_bhq_poll_end(bhqt_tp_poll_end, NULL);
fail_poll_start:
	unregister_trace_bhq_poll_start(bhqt_tp_poll_start, NULL);
	tracepoint_synchronize_unregister();
fail:
	pr_info("bhq's tracepoints unavailable (%d): no poll or sleep checks on threaded contexts\n",
		err);
}

/* ---- CPU hotplug ---- */

/* Is bhq's thread of @cpu (learned from its callbacks) bound to @cpu? */
static void bhqt_hp_check_binding(unsigned int cpu)
{
	struct task_struct *t = READ_ONCE(bhqt.cpu_bc[cpu]->poller);

	if (t && (READ_ONCE(t->nr_cpus_allowed) != 1 ||
		  !cpumask_test_cpu(cpu, t->cpus_ptr)))
		bhqt_inc(BHQT_HP_UNBOUND);
}

static void bhqt_bind_producer(unsigned int cpu, const struct cpumask *mask)
{
	struct task_struct *t = bhqt_cpu_prod(cpu, BHQT_KTHREAD)->task;

	if (t)
		set_cpus_allowed_ptr(t, mask);
}

/* Runs on @cpu, after bhq's own online callback. */
static int bhqt_cpu_online(unsigned int cpu)
{
	bhqt_hp_check_binding(cpu);
	bhqt_bind_producer(cpu, cpumask_of(cpu));
	bhqt_timers_home(cpu, true);
	/* Even once bhq's thread is bound to @cpu; pairs with bhqt_check_cpu(). */
	smp_mb__before_atomic();
	atomic_inc(&bhqt.hp_gen[cpu]);
	bhqt_inc(BHQT_HP_ONLINE);
	return 0;
}

/* Runs on @cpu, before bhq's own offline callback unbinds its thread. */
static int bhqt_cpu_offline(unsigned int cpu)
{
	atomic_inc(&bhqt.hp_gen[cpu]);
	/* Odd before our producer (and then bhq's thread) is unbound. */
	smp_mb__after_atomic();
	bhqt_bind_producer(cpu, cpu_possible_mask);
	bhqt_inc(BHQT_HP_OFFLINE);
	return 0;
}

/* ---- the end of the test ---- */

static void bhqt_stop_producers(void)
{
	unsigned int i;

	if (bhqt.cpuhp_state > 0)
		cpuhp_remove_state_nocalls(bhqt.cpuhp_state);
	bhqt.cpuhp_state = 0;
	for (i = 0; bhqt.prods && i < bhqt.nr_prods; i++) {
		struct bhqt_producer *p = &bhqt.prods[i];

		if (p->active && p->kind != BHQT_KTHREAD && p->cpu >= 0)
			hrtimer_cancel(&p->timer);
		if (p->task) {
			kthread_stop(p->task);
			p->task = NULL;
		}
	}
	if (bhqt.probe_task) {
		kthread_stop(bhqt.probe_task);
		bhqt.probe_task = NULL;
	}
}

/* From now on the calling thread polls the manual contexts. */
static void bhqt_stop_manual_pollers(void)
{
	unsigned int i;

	for (i = 0; bhqt.ctxs && i < bhqt.nr_ctxs; i++) {
		struct bhqt_ctx *tctx = &bhqt.ctxs[i];

		if (!tctx->manual)
			continue;
		if (tctx->poll_task) {
			kthread_stop(tctx->poll_task);
			tctx->poll_task = NULL;
		}
		WRITE_ONCE(tctx->poller, current);
	}
}

static bool bhqt_flush_all(void)
{
	bool ok = true;
	unsigned int i;

	for (i = 0; i < bhqt.nr_ctxs; i++)
		ok &= bhqt_flush(&bhqt.ctxs[i]);
	return ok;
}

/*
 * Flush until a whole round schedules nothing: callbacks that saw
 * @stopping clear may still have re-scheduled themselves or made oneshots.
 */
static bool bhqt_quiesce(void)
{
	unsigned int round;
	u64 before;

	for (round = 0; round < BHQT_QUIESCE_ROUNDS; round++) {
		before = bhqt_sum(BHQT_SCHEDULED) + bhqt_sum(BHQT_DELETES);
		if (!bhqt_flush_all())
			return false;
		if (bhqt_sum(BHQT_SCHEDULED) + bhqt_sum(BHQT_DELETES) == before)
			return true;
	}
	bhqt_violation(BHQT_V_STALL, "the load did not quiesce after %u flush rounds",
		       BHQT_QUIESCE_ROUNDS);
	return false;
}

/*
 * A non-idle schedule that does not wake a thread sleeping its idle
 * timeout makes nearly every pair late; scheduling noise, a few.
 */
static void bhqt_probe_check(void)
{
	u64 pairs = bhqt_sum(BHQT_PROBES_PAIRS), late = bhqt_sum(BHQT_PROBES_LATE);

	if (pairs < BHQT_PROBE_MIN_PAIRS)
		return;
	bhqt_inc(BHQT_CHECKS);
	if (late * 2 > pairs)
		bhqt_violation(BHQT_V_LATENCY,
			       "probe: %llu of %llu non-idle BHs scheduled behind an idle one ran only after the idle timeout",
			       late, pairs);
}

/* See "lost" at the top of this file. */
static void bhqt_final_check_bh(struct bhqt_bh *b)
{
	bhqt_inc(BHQT_CHECKS);
	if (b->ordered) {
		if (b->armed_stamp)
			bhqt_violation(BHQT_V_LOST,
				       "%s: ordered BH of producer %u never ran for its schedule",
				       b->tctx->name, b->prod->idx);
		return;
	}
	if (!b->last_sched)
		return;
	if (b->runs && bhqt_before(b->sched_mark, b->sched_margin, b->prev_run_cbseq))
		return;
	if (b->runs && b->prev_run_nr_sched >= b->nr_sched)
		bhqt_inc(BHQT_LOST_UNPROVEN);
	else
		bhqt_violation(BHQT_V_LOST,
			       "%s: free BH of producer %u not run after its last schedule (%llu schedules, %llu runs)",
			       b->tctx->name, b->prod->idx, b->nr_sched, b->runs);
}

static void bhqt_final_check(void)
{
	unsigned int i, j, n = 2 * bhqt.nr_ctxs * bhqt_nr_bhs;
	unsigned long flags;

	for (i = 0; i < bhqt.nr_prods; i++) {
		struct bhqt_producer *p = &bhqt.prods[i];

		for (j = 0; p->slots && j < n; j++) {
			struct bhqt_bh *b = p->slots[j];

			if (!b || b->tctx->stuck)
				continue;
			raw_spin_lock_irqsave(&b->lock, flags);
			if (!b->deleted)
				bhqt_final_check_bh(b);
			raw_spin_unlock_irqrestore(&b->lock, flags);
		}
	}
}

static void bhqt_delete_all(void)
{
	unsigned int i, j, n = 2 * bhqt.nr_ctxs * bhqt_nr_bhs;
	unsigned long flags;

	for (i = 0; bhqt.prods && i < bhqt.nr_prods; i++) {
		struct bhqt_producer *p = &bhqt.prods[i];

		for (j = 0; p->slots && j < n; j++) {
			struct bhqt_bh *b = p->slots[j];

			if (!b)
				continue;
			raw_spin_lock_irqsave(&b->lock, flags);
			if (!b->deleted)
				bhqt_do_delete(b, 2);
			raw_spin_unlock_irqrestore(&b->lock, flags);
			bhqt_bury(&p->slots[j], b);
		}
	}
}

static void bhqt_reap_all(void)
{
	unsigned int i;

	for (i = 0; i < bhqt.nr_ctxs; i++)
		bhqt_reap(&bhqt.ctxs[i]);
}

static void bhqt_destroy_probe(void)
{
	bhq_bh_delete(bhqt.probe_nonidle.bh);
	bhq_bh_delete(bhqt.probe_idle.bh);
	bhqt.probe_nonidle.bh = NULL;
	bhqt.probe_idle.bh = NULL;
	bhq_ctx_destroy(bhqt.probe_ctx);
	bhqt.probe_ctx = NULL;
}

/* Destroy the contexts we created, unless a flush of theirs got stuck. */
static void bhqt_destroy_contexts(void)
{
	unsigned int i;

	for (i = 0; i < bhqt.nr_ctxs; i++) {
		struct bhqt_ctx *tctx = &bhqt.ctxs[i];

		if (!tctx->owned || !tctx->ctx)
			continue;
		if (tctx->stuck) {
			pr_err("%s: stuck, not destroyed\n", tctx->name);
			continue;
		}
		bhq_ctx_destroy(tctx->ctx);
		WRITE_ONCE(tctx->ctx, NULL);
	}
	bhqt_destroy_probe();
}

/**
 * bhqt_shutdown() - stop the load and check the final accounting
 *
 * Context: the control thread, or rmmod if that thread never ran.
 */
static void bhqt_shutdown(void)
{
	WRITE_ONCE(bhqt.status, BHQT_STOPPING);
	WRITE_ONCE(bhqt.stopping, true);
	bhqt.elapsed = (jiffies - bhqt.start) / HZ;
	/* They end their rounds and check them on their own contexts. */
	bhqt_life_stop();
	bhqt_stop_producers();
	bhqt_stop_manual_pollers();
	bhqt_probe_check();

	if (bhqt_quiesce())
		bhqt_final_check();
	bhqt_delete_all();
	bhqt_flush_all();
	bhqt_reap_all();
	bhqt_inc(BHQT_CHECKS);
	if (atomic_long_read(&bhqt.oneshots_out))
		bhqt_violation(BHQT_V_LOST, "%ld oneshots never ran",
			       atomic_long_read(&bhqt.oneshots_out));
	bhqt_destroy_contexts();

	WRITE_ONCE(bhqt.status, bhqt_nr_violations() ? BHQT_FAILURE : BHQT_SUCCESS);
	pr_info("test stopped after %lu s: %s, rmmod to unload\n", bhqt.elapsed,
		bhqt_status_names[bhqt.status]);
}

static int bhqt_control_fn(void *unused)
{
	unsigned long end = bhqt.start + (unsigned long)bhqt_seconds * HZ;

	while (!kthread_should_stop() &&
	       !(bhqt_seconds && time_after_eq(jiffies, end))) {
		bhqt_reap_threaded();
		schedule_timeout_idle(HZ / 20);
	}
	bhqt_shutdown();
	while (!kthread_should_stop())
		schedule_timeout_idle(HZ);
	return 0;
}

/* ---- debugfs ---- */

static int bhqt_num_show(struct seq_file *m, u64 val)
{
	seq_printf(m, "%llu\n", val);
	return 0;
}

static int bhqt_ops_show(struct seq_file *m, void *unused)
{
	return bhqt_num_show(m, bhqt_total_ops());
}
DEFINE_SHOW_ATTRIBUTE(bhqt_ops);

static int bhqt_checks_show(struct seq_file *m, void *unused)
{
	return bhqt_num_show(m, bhqt_total_checks());
}
DEFINE_SHOW_ATTRIBUTE(bhqt_checks);

static int bhqt_violations_show(struct seq_file *m, void *unused)
{
	return bhqt_num_show(m, bhqt_nr_violations());
}
DEFINE_SHOW_ATTRIBUTE(bhqt_violations);

static int bhqt_status_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "%s\n", bhqt_status_names[READ_ONCE(bhqt.status)]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bhqt_status);

static void bhqt_show_us(struct seq_file *m, const char *name, atomic64_t *ns)
{
	seq_printf(m, "%s %llu\n", name,
		   (u64)atomic64_read(ns) / NSEC_PER_USEC);
}

static int bhqt_stats_show(struct seq_file *m, void *unused)
{
	int i;

	seq_printf(m, "status %s\n", bhqt_status_names[READ_ONCE(bhqt.status)]);
	seq_printf(m, "seconds %lu\n", READ_ONCE(bhqt.status) >= BHQT_SUCCESS ?
		   bhqt.elapsed : (jiffies - bhqt.start) / HZ);
	for (i = 0; i < BHQT_NR_STATS; i++)
		seq_printf(m, "%s %llu\n", bhqt_stat_names[i],
			   i == BHQT_OPS ? bhqt_total_ops() :
			   i == BHQT_CHECKS ? bhqt_total_checks() : bhqt_sum(i));
	seq_printf(m, "violations %lu\n", bhqt_nr_violations());
	for (i = 0; i < BHQT_NR_VIOLATIONS; i++)
		seq_printf(m, "violations_%s %ld\n", bhqt_violation_names[i],
			   atomic_long_read(&bhqt.violations[i]));
	seq_printf(m, "oneshots_pending %ld\n", atomic_long_read(&bhqt.oneshots_out));
	seq_printf(m, "tracepoints %d\n", bhqt.traced);
	bhqt_show_us(m, "max_latency_nonidle_us", &bhqt.max_nonidle_ns);
	bhqt_show_us(m, "max_latency_idle_us", &bhqt.max_idle_ns);
	bhqt_show_us(m, "probe_max_latency_nonidle_us", &bhqt.probe_max_nonidle_ns);
	bhqt_show_us(m, "probe_max_latency_idle_us", &bhqt.probe_max_idle_ns);
	bhqt_life_stats_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bhqt_stats);

/* Our directory goes under bhq's own: /sys/kernel/debug/bhq/torture. */
static void bhqt_debugfs_init(void)
{
	struct dentry *parent = debugfs_lookup("bhq", NULL);

	if (IS_ERR_OR_NULL(parent)) {
		pr_warn("no debugfs directory bhq/, results only in dmesg\n");
		return;
	}
	bhqt.dir = debugfs_create_dir("torture", parent);
	dput(parent);
	debugfs_create_file("ops", 0444, bhqt.dir, NULL, &bhqt_ops_fops);
	debugfs_create_file("checks", 0444, bhqt.dir, NULL, &bhqt_checks_fops);
	debugfs_create_file("violations", 0444, bhqt.dir, NULL, &bhqt_violations_fops);
	debugfs_create_file("status", 0444, bhqt.dir, NULL, &bhqt_status_fops);
	debugfs_create_file("stats", 0444, bhqt.dir, NULL, &bhqt_stats_fops);
}

/* ---- set-up ---- */

/**
 * struct bhqt_weight - the weight of an operation in its mix
 * @name: its parameter
 * @val: its value
 */
struct bhqt_weight {
	const char *name;
	const unsigned int *val;
};

#define BHQT_WEIGHT(param)	{ .name = #param, .val = &bhqt_##param }

/* The weights of each mix, by operation. */
static const struct bhqt_weight bhqt_weights[BHQT_NR_MIXES][BHQT_MIX_MAX_OPS] = {
	[BHQT_MIX_TARGET] = {
		[BHQT_TARGET_FREE] = BHQT_WEIGHT(weight_free),
		[BHQT_TARGET_ORDERED] = BHQT_WEIGHT(weight_ordered),
		[BHQT_TARGET_ONESHOT] = BHQT_WEIGHT(weight_oneshot),
	},
	[BHQT_MIX_FREE] = {
		[BHQT_FREE_SCHEDULE] = BHQT_WEIGHT(weight_schedule),
		[BHQT_FREE_SCHEDULE_IDLE] = BHQT_WEIGHT(weight_schedule_idle),
		[BHQT_FREE_CANCEL] = BHQT_WEIGHT(weight_cancel),
		[BHQT_FREE_DELETE] = BHQT_WEIGHT(weight_delete),
	},
	[BHQT_MIX_ORDERED] = {
		[BHQT_ORDERED_SCHEDULE] = BHQT_WEIGHT(weight_ordered_schedule),
		[BHQT_ORDERED_SCHEDULE_IDLE] = BHQT_WEIGHT(weight_ordered_schedule_idle),
		[BHQT_ORDERED_DELETE] = BHQT_WEIGHT(weight_ordered_delete),
	},
	[BHQT_MIX_SELF] = {
		[BHQT_SELF_NONE] = BHQT_WEIGHT(weight_self_none),
		[BHQT_SELF_SCHEDULE] = BHQT_WEIGHT(weight_self_schedule),
		[BHQT_SELF_SCHEDULE_IDLE] = BHQT_WEIGHT(weight_self_schedule_idle),
		[BHQT_SELF_DELETE] = BHQT_WEIGHT(weight_self_delete),
	},
};

/* The sum of each mix's weights, set at load. */
static unsigned int bhqt_mix_total[BHQT_NR_MIXES];

/**
 * bhqt_pick() - draw an operation from a mix by its weights
 * @mix: the mix
 * @r: random bits
 *
 * Return: the operation, an index in @mix's enum.
 */
unsigned int bhqt_pick(enum bhqt_mix mix, u32 r)
{
	const struct bhqt_weight *w = bhqt_weights[mix];
	unsigned int x = r % bhqt_mix_total[mix], op;

	for (op = 0; x >= *w[op].val; op++)
		x -= *w[op].val;
	return op;
}

/* Sum each mix's weights; they must not all be 0. */
static int bhqt_check_mixes(void)
{
	const struct bhqt_weight *w;
	unsigned int mix, op;
	char names[160];
	int len;

	for (mix = 0; mix < BHQT_NR_MIXES; mix++) {
		w = bhqt_weights[mix];
		bhqt_mix_total[mix] = 0;
		len = 0;
		for (op = 0; op < BHQT_MIX_MAX_OPS && w[op].val; op++) {
			bhqt_mix_total[mix] += *w[op].val;
			len += scnprintf(names + len, sizeof(names) - len, "%s%s",
					 op ? ", " : "", w[op].name);
		}
		if (!bhqt_mix_total[mix]) {
			pr_err("invalid parameters: the weights %s are all 0\n",
			       names);
			return -EINVAL;
		}
	}
	return 0;
}

/* Is @val within @min..@max?  If not, say so. */
static bool bhqt_in_range(const char *name, unsigned int val,
			  unsigned int def, unsigned int min, unsigned int max)
{
	if (val >= min && val <= max)
		return true;
	pr_err("invalid parameter %s=%u: the allowed range is %u..%u (default %u)\n",
	       name, val, min, max, def);
	return false;
}

/* Every parameter out of its range is reported; then the weights. */
static int bhqt_check_params(void)
{
	bool ok = true;

#define BHQT_PARAM(param, dflt, lo, hi, ...)				\
	(ok &= bhqt_in_range(#param, bhqt_##param, dflt, lo, hi))
#define BHQT_BOOL_PARAM(...)
#include "bhq_torture_params.h"

	return ok ? bhqt_check_mixes() : -EINVAL;
}

static int bhqt_ctx_init(struct bhqt_ctx *tctx, unsigned int idx, int cpu,
			 unsigned int flags, const char *name)
{
	tctx->idx = idx;
	tctx->cpu = cpu;
	tctx->manual = flags & BHQ_CTX_MANUAL;
	init_llist_head(&tctx->grave);
	prandom_seed_state(&tctx->rnd, get_random_u64());
	strscpy(tctx->name, name, sizeof(tctx->name));
	tctx->last_stamp = kcalloc(bhqt.nr_prods, sizeof(u64), GFP_KERNEL);
	if (!tctx->last_stamp)
		return -ENOMEM;
	if (cpu >= 0) {
		tctx->ctx = bhq_cpu_ctx(cpu);
		bhqt.cpu_bc[cpu] = tctx;
		return tctx->ctx ? 0 : -ENODEV;
	}
	tctx->ctx = bhq_ctx_create(name, flags);
	if (IS_ERR(tctx->ctx)) {
		int err = PTR_ERR(tctx->ctx);

		tctx->ctx = NULL;
		pr_err("cannot create context %s: %d\n", name, err);
		return err;
	}
	tctx->owned = true;
	return 0;
}

static int bhqt_ctxs_init(void)
{
	unsigned int cpu, i, idx = 0;
	char name[BHQ_CTX_NAME_MAX + 1];
	int err;

	for_each_possible_cpu(cpu) {
		snprintf(name, sizeof(name), "cpu%u", cpu);
		err = bhqt_ctx_init(&bhqt.ctxs[idx], idx, cpu, 0, name);
		idx++;
		if (err)
			return err;
	}
	for (i = 0; i < bhqt_nr_threaded + bhqt_nr_manual; i++, idx++) {
		bool manual = i >= bhqt_nr_threaded;

		snprintf(name, sizeof(name), "bhqt-%c%u", manual ? 'm' : 't',
			 manual ? i - bhqt_nr_threaded : i);
		err = bhqt_ctx_init(&bhqt.ctxs[idx], idx, -1,
				    manual ? BHQ_CTX_MANUAL : 0, name);
		if (err)
			return err;
	}
	return 0;
}

static int bhqt_prod_init(struct bhqt_producer *p, unsigned int idx, int cpu,
			  enum bhqt_kind kind, bool active)
{
	unsigned int n = 2 * bhqt.nr_ctxs * bhqt_nr_bhs;

	p->idx = idx;
	p->cpu = cpu;
	p->kind = kind;
	p->active = active;
	prandom_seed_state(&p->rnd, get_random_u64());
	p->stamps = kcalloc(bhqt.nr_ctxs, sizeof(u64), GFP_KERNEL);
	if (!p->stamps)
		return -ENOMEM;
	if (cpu >= 0 && kind != BHQT_KTHREAD) {
		hrtimer_init(&p->timer, CLOCK_MONOTONIC,
			     kind == BHQT_HARDIRQ ? HRTIMER_MODE_REL_HARD :
						  HRTIMER_MODE_REL_SOFT);
		p->timer.function = bhqt_timer_fn;
	}
	if (!active || cpu < 0)
		return 0;
	p->slots = kcalloc(n, sizeof(*p->slots), GFP_KERNEL);
	if (!p->slots)
		return -ENOMEM;
	return bhqt_refill(p);
}

static int bhqt_prods_init(void)
{
	unsigned int cpu, i;
	int err;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		bool possible = cpu_possible(cpu);

		err = bhqt_prod_init(bhqt_cpu_prod(cpu, BHQT_KTHREAD),
				     cpu * BHQT_NR_KINDS + BHQT_KTHREAD, cpu,
				     BHQT_KTHREAD, possible);
		err = err ?: bhqt_prod_init(bhqt_cpu_prod(cpu, BHQT_HARDIRQ),
					    cpu * BHQT_NR_KINDS + BHQT_HARDIRQ, cpu,
					    BHQT_HARDIRQ, possible && bhqt_irq_producers);
		err = err ?: bhqt_prod_init(bhqt_cpu_prod(cpu, BHQT_SOFTIRQ),
					    cpu * BHQT_NR_KINDS + BHQT_SOFTIRQ, cpu,
					    BHQT_SOFTIRQ, possible && bhqt_softirq_producers);
		if (err)
			return err;
	}
	for (i = 0; i < bhqt.nr_ctxs; i++) {
		err = bhqt_prod_init(&bhqt.prods[nr_cpu_ids * BHQT_NR_KINDS + i],
				     nr_cpu_ids * BHQT_NR_KINDS + i, -1,
				     BHQT_KTHREAD, true);
		if (err)
			return err;
	}
	return 0;
}

static int bhqt_probe_bh_init(struct bhqt_probe_bh *pb)
{
	init_completion(&pb->done);
	pb->bh = bhq_bh_new(bhqt.probe_ctx, bhqt_probe_fn, pb);
	return pb->bh ? 0 : -ENOMEM;
}

static int bhqt_probe_init(void)
{
	int err;

	bhqt.probe_ctx = bhq_ctx_create("bhqt-probe", 0);
	if (IS_ERR(bhqt.probe_ctx)) {
		err = PTR_ERR(bhqt.probe_ctx);
		bhqt.probe_ctx = NULL;
		pr_err("cannot create context bhqt-probe: %d\n", err);
		return err;
	}
	err = bhqt_probe_bh_init(&bhqt.probe_nonidle);
	return err ?: bhqt_probe_bh_init(&bhqt.probe_idle);
}

static int bhqt_alloc(void)
{
	bhqt.nr_cpu_ctxs = num_possible_cpus();
	bhqt.nr_ctxs = bhqt.nr_cpu_ctxs + bhqt_nr_threaded + bhqt_nr_manual;
	bhqt.nr_prods = nr_cpu_ids * BHQT_NR_KINDS + bhqt.nr_ctxs;
	bhqt.counters = alloc_percpu(struct bhqt_counters);
	bhqt.hp_gen = kcalloc(nr_cpu_ids, sizeof(*bhqt.hp_gen), GFP_KERNEL);
	bhqt.cpu_bc = kcalloc(nr_cpu_ids, sizeof(*bhqt.cpu_bc), GFP_KERNEL);
	bhqt.ctxs = kcalloc(bhqt.nr_ctxs, sizeof(*bhqt.ctxs), GFP_KERNEL);
	bhqt.prods = kcalloc(bhqt.nr_prods, sizeof(*bhqt.prods), GFP_KERNEL);
	if (!bhqt.counters || !bhqt.hp_gen || !bhqt.cpu_bc || !bhqt.ctxs || !bhqt.prods)
		return -ENOMEM;
	return 0;
}

static struct task_struct *bhqt_kthread_create(int (*fn)(void *), void *arg,
					       const char *name)
{
	struct task_struct *t = kthread_create(fn, arg, "%s", name);

	if (IS_ERR(t)) {
		pr_err("cannot create kthread %s: %ld\n", name, PTR_ERR(t));
		return NULL;
	}
	return t;
}

/*
 * Producer kthreads for every possible CPU, bound to the online ones.
 * Called with the CPU hotplug lock held.
 */
static int bhqt_create_producers(void)
{
	unsigned int cpu;
	char name[24];

	for_each_possible_cpu(cpu) {
		struct bhqt_producer *p = bhqt_cpu_prod(cpu, BHQT_KTHREAD);

		snprintf(name, sizeof(name), "bhqt-p/%u", cpu);
		p->task = bhqt_kthread_create(bhqt_producer_fn, p, name);
		if (!p->task)
			return -ENOMEM;
		if (cpu_online(cpu))
			kthread_bind(p->task, cpu);
		atomic_set(&bhqt.hp_gen[cpu], cpu_online(cpu) ? 0 : 1);
	}
	return 0;
}

static int bhqt_create_threads(void)
{
	unsigned int i;

	for (i = 0; i < bhqt.nr_ctxs; i++) {
		struct bhqt_ctx *tctx = &bhqt.ctxs[i];

		if (!tctx->manual)
			continue;
		tctx->poll_task = bhqt_kthread_create(bhqt_manual_ctx_fn, tctx, tctx->name);
		if (!tctx->poll_task)
			return -ENOMEM;
		tctx->poller = tctx->poll_task;
	}
	bhqt.probe_task = bhqt_kthread_create(bhqt_probe_thread, NULL, "bhqt-probe");
	bhqt.control = bhqt_kthread_create(bhqt_control_fn, NULL, "bhqt-control");
	return bhqt.probe_task && bhqt.control ? 0 : -ENOMEM;
}

/*
 * Under the hotplug lock: bind the producers, set the generations, set up
 * our hotplug state, start each online CPU's timers on that CPU (those of
 * offline CPUs here; they move home when their CPU comes online).
 */
static int bhqt_start_cpus(void)
{
	unsigned int cpu;
	int ret;

	cpus_read_lock();
	ret = bhqt_create_producers();
	if (ret)
		goto out;
	ret = cpuhp_setup_state_nocalls_cpuslocked(CPUHP_AP_ONLINE_DYN,
						   "bhq_torture:online",
						   bhqt_cpu_online, bhqt_cpu_offline);
	if (ret < 0)
		goto out;
	bhqt.cpuhp_state = ret;
	ret = 0;
	for_each_possible_cpu(cpu) {
		if (cpu_online(cpu))
			smp_call_function_single(cpu, bhqt_timers_home_ipi, NULL, 1);
		else
			bhqt_timers_home(cpu, false);
	}
out:
	cpus_read_unlock();
	return ret;
}

static void bhqt_wake_threads(void)
{
	unsigned int i;

	for (i = 0; i < bhqt.nr_prods; i++) {
		if (bhqt.prods[i].task)
			wake_up_process(bhqt.prods[i].task);
	}
	for (i = 0; i < bhqt.nr_ctxs; i++) {
		if (bhqt.ctxs[i].poll_task)
			wake_up_process(bhqt.ctxs[i].poll_task);
	}
	wake_up_process(bhqt.probe_task);
	wake_up_process(bhqt.control);
}

/* Frees what is left; a stuck context's BHs and the context are leaked. */
static void bhqt_free(void)
{
	unsigned int i, j, n = 2 * bhqt.nr_ctxs * bhqt_nr_bhs;

	bhqt_tp_exit();
	for (i = 0; bhqt.prods && i < bhqt.nr_prods; i++) {
		struct bhqt_producer *p = &bhqt.prods[i];

		for (j = 0; p->slots && j < n; j++) {
			if (p->slots[j] && !p->slots[j]->tctx->stuck)
				kfree(p->slots[j]);
		}
		kfree(p->slots);
		kfree(p->stamps);
	}
	for (i = 0; bhqt.ctxs && i < bhqt.nr_ctxs; i++)
		kfree(bhqt.ctxs[i].last_stamp);
	kfree(bhqt.prods);
	kfree(bhqt.ctxs);
	kfree(bhqt.cpu_bc);
	kfree(bhqt.hp_gen);
	free_percpu(bhqt.counters);
	bhqt_life_free();
}

/* Undo a failed load: nothing ran yet, so there is nothing to check. */
static void bhqt_abort(void)
{
	unsigned int i;

	WRITE_ONCE(bhqt.stopping, true);
	if (bhqt.control)
		kthread_stop(bhqt.control);
	bhqt_life_stop();
	bhqt_stop_producers();
	bhqt_stop_manual_pollers();
	if (bhqt.ctxs) {
		bhqt_delete_all();
		for (i = 0; i < bhqt.nr_ctxs; i++) {
			if (bhqt.ctxs[i].ctx)
				bhqt_reap(&bhqt.ctxs[i]);
		}
		for (i = 0; i < bhqt.nr_ctxs; i++) {
			if (bhqt.ctxs[i].owned && bhqt.ctxs[i].ctx)
				bhq_ctx_destroy(bhqt.ctxs[i].ctx);
		}
	}
	if (bhqt.probe_ctx)
		bhqt_destroy_probe();
	bhqt_free();
}

static int __init bhqt_init(void)
{
	int err;

	err = bhqt_check_params();
	if (err)
		return err;
	err = bhqt_alloc();
	err = err ?: bhqt_ctxs_init();
	if (!err)
		bhqt_tp_init();
	err = err ?: bhqt_prods_init();
	err = err ?: bhqt_probe_init();
	err = err ?: bhqt_create_threads();
	err = err ?: bhqt_start_cpus();
	err = err ?: bhqt_life_init();
	if (err) {
		bhqt_abort();
		return err;
	}
	bhqt.start = jiffies;
	bhqt_debugfs_init();
	bhqt_wake_threads();
	bhqt_life_start();
	pr_info("started: %u contexts (%u per-CPU, %u threaded, %u manual), %u producers per CPU, %u BHs each per context, %s\n",
		bhqt.nr_ctxs, bhqt.nr_cpu_ctxs, bhqt_nr_threaded, bhqt_nr_manual,
		1 + bhqt_irq_producers + bhqt_softirq_producers, 2 * bhqt_nr_bhs,
		bhqt_seconds ? "timed" : "until rmmod");
	return 0;
}

static void __exit bhqt_exit(void)
{
	debugfs_remove_recursive(bhqt.dir);
	kthread_stop(bhqt.control);
	/* The control thread never ran if rmmod came first. */
	if (READ_ONCE(bhqt.status) < BHQT_SUCCESS)
		bhqt_shutdown();
	pr_alert("End of test: %s (seconds=%lu ops=%llu scheduled=%llu runs=%llu checks=%llu violations=%lu hotplug=%llu)\n",
		 bhqt_status_names[bhqt.status], bhqt.elapsed, bhqt_total_ops(),
		 bhqt_sum(BHQT_SCHEDULED), bhqt_sum(BHQT_RUNS), bhqt_total_checks(),
		 bhqt_nr_violations(),
		 bhqt_sum(BHQT_HP_ONLINE) + bhqt_sum(BHQT_HP_OFFLINE));
	bhqt_free();
}

module_init(bhqt_init);
module_exit(bhqt_exit);

MODULE_DESCRIPTION("bhq torture test: concurrent BH life cycles, checked");
MODULE_LICENSE("GPL");
