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
 * bhq's tracepoints bhq_poll_start, bhq_poll_end and bhq_sleep are used
 * when they can be found (bhq does not export them; see bt_tp_init()):
 * they give the polls of threaded contexts an id and show their threads'
 * sleeps.  "tracepoints" in stats says whether they were used.
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
 *   are polled through bt_manual_poll(), threaded ones are seen through
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
 *   the load off, see bt_hold_begin()), and more than half of at least
 *   BT_PROBE_MIN_PAIRS pairs late is a latency violation (scheduling
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
#include <linux/tracepoint.h>

#include <linux/bhq.h>
#include "bhq_torture.h"

static unsigned int seconds;
module_param(seconds, uint, 0444);
MODULE_PARM_DESC(seconds, "run time in seconds, 0: until rmmod (0-86400, default 0)");

static unsigned int nr_threaded = 2;
module_param(nr_threaded, uint, 0444);
MODULE_PARM_DESC(nr_threaded, "standalone threaded contexts (0-16, default 2)");

static unsigned int nr_manual = 2;
module_param(nr_manual, uint, 0444);
MODULE_PARM_DESC(nr_manual, "manual contexts, each polled by a kthread (0-16, default 2)");

static unsigned int nr_bhs = 4;
module_param(nr_bhs, uint, 0444);
MODULE_PARM_DESC(nr_bhs, "free and ordered BHs per producer and context (1-64, default 4)");

static bool irq_producers = true;
module_param(irq_producers, bool, 0444);
MODULE_PARM_DESC(irq_producers, "hardirq producers, an hrtimer per CPU (default Y)");

static bool softirq_producers = true;
module_param(softirq_producers, bool, 0444);
MODULE_PARM_DESC(softirq_producers, "softirq producers, an hrtimer per CPU (default Y)");

static unsigned int irq_period_us = 500;
module_param(irq_period_us, uint, 0444);
MODULE_PARM_DESC(irq_period_us, "period of the hardirq and softirq producers (20-100000, default 500)");

static unsigned int irq_ops = 4;
module_param(irq_ops, uint, 0444);
MODULE_PARM_DESC(irq_ops, "operations per hardirq or softirq producer call (1-64, default 4)");

static unsigned int batch = 64;
module_param(batch, uint, 0444);
MODULE_PARM_DESC(batch, "operations per kthread producer batch (1-4096, default 64)");

static unsigned int batch_sleep_us = 200;
module_param(batch_sleep_us, uint, 0444);
MODULE_PARM_DESC(batch_sleep_us, "sleep between kthread producer batches, 0: none (0-100000, default 200)");

static unsigned int max_nest = 3;
module_param(max_nest, uint, 0444);
MODULE_PARM_DESC(max_nest, "deepest bhq_poll() nesting on manual contexts (1-8, default 3)");

static unsigned int latency_ms = 1000;
module_param(latency_ms, uint, 0444);
MODULE_PARM_DESC(latency_ms, "bound for the probe BHs on a quiet threaded context (10-600000, default 1000)");

static unsigned int stall_ms = 10000;
module_param(stall_ms, uint, 0444);
MODULE_PARM_DESC(stall_ms, "bound for any scheduled BH under load and for flushes (100-3600000, default 10000)");

/* Flush rounds at the end before the load is declared not quiescent. */
#define BT_QUIESCE_ROUNDS	10
/* Polls of a manual context before its barrier is declared stuck. */
#define BT_FLUSH_POLLS		1000
/* Probe pairs needed before their lateness is judged. */
#define BT_PROBE_MIN_PAIRS	20
/* Nesting depth up to which the ids of a threaded context's polls are kept. */
#define BT_MAX_DEPTH		8

enum bt_stat {
	BT_OPS,
	BT_CHECKS,
	BT_SCHEDULED,
	BT_SCHEDULED_IDLE,
	BT_CANCELS,
	BT_DELETES,
	BT_CREATES,
	BT_ONESHOTS,
	BT_RUNS,
	BT_POLLS,
	BT_NESTED_POLLS,
	BT_SELF_SCHEDULES,
	BT_SELF_DELETES,
	BT_TIMEOUT_CHECKS,
	BT_SLEEP_CHECKS,
	BT_RUNS_RACING_DELETE,
	BT_RUNS_CPU_UNSTABLE,
	BT_LOST_UNPROVEN,
	BT_HP_ONLINE,
	BT_HP_OFFLINE,
	BT_HP_UNBOUND,
	BT_ALLOC_FAILURES,
	BT_PROBES,
	BT_PROBES_PAIRS,
	BT_PROBES_LATE,
	BT_NR_STATS,
};

static const char * const bt_stat_names[] = {
	"ops", "checks", "scheduled", "scheduled_idle", "cancels", "deletes",
	"creates", "oneshots", "runs", "polls", "nested_polls",
	"self_schedules", "self_deletes", "timeout_checks", "sleep_checks",
	"runs_racing_delete", "runs_cpu_unstable", "lost_unproven",
	"hp_online", "hp_offline", "hp_unbound", "alloc_failures", "probes",
	"probes_pairs", "probes_late",
};

static_assert(ARRAY_SIZE(bt_stat_names) == BT_NR_STATS);

enum bt_violation {
	BT_V_LOST,
	BT_V_SPURIOUS,
	BT_V_AFTER_DELETE,
	BT_V_POLL,
	BT_V_FIFO,
	BT_V_TIMEOUT,
	BT_V_CPU,
	BT_V_TASK,
	BT_V_LATENCY,
	BT_V_STALL,
	BT_NR_VIOLATIONS,
};

static const char * const bt_violation_names[] = {
	"lost", "spurious", "after_delete", "poll", "fifo", "timeout", "cpu",
	"task", "latency", "stall",
};

static_assert(ARRAY_SIZE(bt_violation_names) == BT_NR_VIOLATIONS);

/* Kinds of CPU producers; callbacks are producers of their own. */
enum bt_kind {
	BT_KTHREAD,
	BT_HARDIRQ,
	BT_SOFTIRQ,
	BT_NR_KINDS,
};

struct bt_counters {
	u64 v[BT_NR_STATS];
};

/**
 * struct bt_ctx - a context under test
 * @ctx: the bhq context
 * @idx: index in bt.ctxs
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
struct bt_ctx {
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
	u64 poll_ids[BT_MAX_DEPTH];
	int snap_nonidle;
	int snap_any;
	bool snap_valid;
	struct rnd_state rnd;
	u64 *last_stamp;
	char name[BHQ_CTX_NAME_MAX + 1];
};

/**
 * struct bt_producer - a sequential source of operations
 * @idx: index in bt.prods, the key of the FIFO check
 * @kind: enum bt_kind of a CPU producer
 * @cpu: home CPU of a CPU producer, -1 for the callbacks of a context
 * @active: it runs (its kind is enabled and the CPU is possible)
 * @rnd: random state
 * @stamps: per context, the last FIFO stamp given out
 * @slots: [free, ordered][context][nr_bhs] BHs of a CPU producer; written
 *	NULL by the producer (delete), non-NULL by its CPU's kthread
 * @timer: the hrtimer of a hardirq or softirq producer
 * @task: the kthread of a kthread producer
 */
struct bt_producer {
	unsigned int idx;
	enum bt_kind kind;
	int cpu;
	bool active;
	struct rnd_state rnd;
	u64 *stamps;
	struct bt_bh **slots;
	struct hrtimer timer;
	struct task_struct *task;
};

/**
 * struct bt_bh - the torture's side of a BH
 * @lock: serializes operations on the BH and its callbacks' bookkeeping
 * @bh: the bhq BH; not touched after bhq_bh_delete()
 * @bc: its context
 * @prod: its owner
 * @grave: link in bc->grave once deleted
 * @ordered: an ordered BH (else a free one)
 * @deleted: bhq_bh_delete() was called
 * @del_thr: 1 if deleted by a callback of @bc, else 2 (see F1)
 * @del_mark: cbseq of @bc after the delete
 * @last_sched: the last operation was a schedule (free BHs)
 * @sched_thr: @del_thr for the last schedule
 * @sched: schedules made (free BHs)
 * @sched_mark: cbseq after the last schedule
 * @cancel_floor: @sched at the last cancel
 * @cancel_mark: cbseq after the last cancel
 * @runs: callbacks started
 * @next: the lowest schedule not matched to a run yet
 * @lo: schedules up to this one are known to precede the last dequeue
 * @s_prev: @sched at the previous run
 * @s_prev2: @sched at the run before that
 * @cf_prev: @cancel_floor at the previous run
 * @q_prev: callback index of the previous run
 * @m_prev: @sched_mark at the previous run
 * @thr_prev: @sched_thr at the previous run
 * @armed: FIFO stamp of the outstanding schedule of an ordered BH, 0: none
 * @armed_gen: @bc's cb_poll read before that schedule
 * @armed_ns: time of that schedule
 * @armed_idle: that schedule was idle
 * @stalled: the stall of that schedule was reported
 */
struct bt_bh {
	raw_spinlock_t lock;
	struct bhq_bh *bh;
	struct bt_ctx *bc;
	struct bt_producer *prod;
	struct llist_node grave;
	bool ordered;
	bool deleted;
	u8 del_thr;
	unsigned long del_mark;
	bool last_sched;
	u8 sched_thr;
	u64 sched;
	unsigned long sched_mark;
	u64 cancel_floor;
	unsigned long cancel_mark;
	u64 runs;
	u64 next;
	u64 lo;
	u64 s_prev;
	u64 s_prev2;
	u64 cf_prev;
	unsigned long q_prev;
	unsigned long m_prev;
	u8 thr_prev;
	u64 armed;
	u64 armed_gen;
	u64 armed_ns;
	bool armed_idle;
	bool stalled;
};

/* A oneshot's argument; freed by its callback. */
struct bt_oneshot {
	struct bt_ctx *bc;
	unsigned int prod;
	u64 stamp;
	u64 gen;
	u64 ns;
};

/* A flush barrier: one reference for the waiter, one for the callback. */
struct bt_barrier {
	struct completion done;
	refcount_t ref;
};

/* A probe BH on the quiet threaded context. */
struct bt_probe_bh {
	struct bhq_bh *bh;
	struct completion done;
	u64 ns_run;
};

enum bt_status {
	BT_RUNNING,
	BT_STOPPING,
	BT_SUCCESS,
	BT_FAILURE,
};

static const char * const bt_status_names[] = {
	"running", "stopping", "SUCCESS", "FAILURE",
};

/**
 * struct bt_state - everything the torture owns
 * @ctxs: the contexts under test: per-CPU ones, threaded, manual
 * @nr_ctxs: entries in @ctxs
 * @nr_cpu_ctxs: per-CPU contexts among them (the first ones)
 * @cpu_bc: per CPU id, its entry in @ctxs
 * @prods: CPU producers (cpu * BT_NR_KINDS + kind), then one per context
 *	for its callbacks
 * @nr_prods: entries in @prods
 * @counters: per-CPU counters, enum bt_stat
 * @violations: per kind of violation
 * @oneshots_out: oneshots scheduled and not run yet
 * @hp_gen: per CPU id, odd while the CPU is offline or changing state
 * @cpuhp_state: our dynamic hotplug state, 0 if not set up
 * @traced: bhq's poll and sleep tracepoints feed the checks
 * @stopping: producers and callbacks stop adding work
 * @held: odd while the lifetime modes have bhq's publish delay on:
 *	producers and callbacks add no work meanwhile, see bt_hold_begin()
 * @status: enum bt_status
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
struct bt_state {
	struct bt_ctx *ctxs;
	unsigned int nr_ctxs;
	unsigned int nr_cpu_ctxs;
	struct bt_ctx **cpu_bc;
	struct bt_producer *prods;
	unsigned int nr_prods;
	struct bt_counters __percpu *counters;
	atomic_long_t violations[BT_NR_VIOLATIONS];
	atomic_long_t oneshots_out;
	atomic_t *hp_gen;
	int cpuhp_state;
	bool traced;
	bool stopping;
	atomic_t held;
	enum bt_status status;
	struct task_struct *control;
	struct task_struct *probe_task;
	struct bhq_ctx *probe_ctx;
	struct bt_probe_bh probe_nonidle;
	struct bt_probe_bh probe_idle;
	atomic64_t max_nonidle_ns;
	atomic64_t max_idle_ns;
	atomic64_t probe_max_nonidle_ns;
	atomic64_t probe_max_idle_ns;
	unsigned long start;
	unsigned long elapsed;
	struct dentry *dir;
};

static struct bt_state bt;

static void bt_inc(enum bt_stat stat)
{
	this_cpu_inc(bt.counters->v[stat]);
}

static u64 bt_sum(enum bt_stat stat)
{
	unsigned int cpu;
	u64 sum = 0;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(bt.counters, cpu)->v[stat];
	return sum;
}

/* Ours and the lifetime modes'. */
static unsigned long bt_nr_violations(void)
{
	unsigned long sum = lt_nr_violations();
	int v;

	for (v = 0; v < BT_NR_VIOLATIONS; v++)
		sum += atomic_long_read(&bt.violations[v]);
	return sum;
}

static u64 bt_total_ops(void)
{
	return bt_sum(BT_OPS) + lt_ops();
}

static u64 bt_total_checks(void)
{
	return bt_sum(BT_CHECKS) + lt_checks();
}

/**
 * bt_violation() - count a violation, and report the first ones
 * @v: its kind
 * @fmt: printf format of the details
 *
 * Context: any.
 */
static __printf(2, 3) void bt_violation(enum bt_violation v, const char *fmt, ...)
{
	long n = atomic_long_inc_return(&bt.violations[v]);
	struct va_format vaf;
	va_list args;

	if (n > BT_REPORT_MAX)
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("violation %s #%ld: %pV\n", bt_violation_names[v], n, &vaf);
	va_end(args);
}

static void bt_max(atomic64_t *max, u64 val)
{
	s64 old = atomic64_read(max);

	while ((s64)val > old && !atomic64_try_cmpxchg(max, &old, val))
		;
}

static u64 bt_stall_ns(void)
{
	return (u64)stall_ms * NSEC_PER_MSEC;
}

unsigned int bt_stall_ms(void)
{
	return stall_ms;
}

bool bt_irq_producers(void)
{
	return irq_producers;
}

/**
 * bt_hold_begin() - hold the load off while bhq's publish delay is on
 *
 * CONFIG_BHQ_DEBUG's delay after a schedule published its BH is global:
 * while a lifetime mode has it on, every schedule busy-waits it out, and
 * our producers schedule from hardirq and with interrupts off, dozens at
 * a time.  So they, and the callbacks' actions, skip their operations
 * until bt_hold_end(); an operation already under way is delayed once.
 *
 * Context: process context, with bt_hold_end() in pairs.
 */
void bt_hold_begin(void)
{
	atomic_inc(&bt.held);
}

void bt_hold_end(void)
{
	atomic_inc(&bt.held);
}

bool bt_held(void)
{
	return atomic_read(&bt.held) & 1;
}

/* F1: did an operation with this mark precede the dequeue of callback @q? */
static bool bt_before(unsigned long mark, u8 thr, unsigned long q)
{
	return q >= mark + thr;
}

/* The mark of an operation on a BH of @bc, see F1 at the top. */
static unsigned long bt_mark(struct bt_ctx *bc)
{
	/*
	 * Orders the operation (the BH flags bhq just changed) before the
	 * read of cbseq; pairs with the smp_mb() in bt_event().
	 */
	smp_mb();
	return READ_ONCE(bc->cbseq);
}

static struct bt_bh **bt_slot(struct bt_producer *p, bool ordered,
			      unsigned int ctx, unsigned int k)
{
	return &p->slots[((ordered ? bt.nr_ctxs : 0) + ctx) * nr_bhs + k];
}

static struct bt_producer *bt_cpu_prod(unsigned int cpu, enum bt_kind kind)
{
	return &bt.prods[cpu * BT_NR_KINDS + kind];
}

static struct bt_producer *bt_cb_prod(struct bt_ctx *bc)
{
	return &bt.prods[nr_cpu_ids * BT_NR_KINDS + bc->idx];
}

/* ---- operations on free and ordered BHs, under b->lock ---- */

static void bt_count_schedule(bool idle)
{
	bt_inc(BT_OPS);
	bt_inc(BT_SCHEDULED);
	if (idle)
		bt_inc(BT_SCHEDULED_IDLE);
}

/**
 * bt_do_schedule() - schedule a free BH and record it
 * @b: the BH, locked, not deleted
 * @idle: bhq_bh_schedule_idle() instead of bhq_bh_schedule()
 * @thr: 1 from a callback of the BH's context, else 2
 */
static void bt_do_schedule(struct bt_bh *b, bool idle, u8 thr)
{
	if (idle)
		bhq_bh_schedule_idle(b->bh);
	else
		bhq_bh_schedule(b->bh);
	b->sched_mark = bt_mark(b->bc);
	b->sched_thr = thr;
	b->sched++;
	b->last_sched = true;
	bt_count_schedule(idle);
}

static void bt_do_cancel(struct bt_bh *b)
{
	bhq_bh_cancel(b->bh);
	b->cancel_mark = bt_mark(b->bc);
	b->cancel_floor = b->sched;
	b->last_sched = false;
	bt_inc(BT_OPS);
	bt_inc(BT_CANCELS);
}

/* An armed ordered BH leaves the counts of the timeout check. */
static void bt_disarm(struct bt_bh *b)
{
	if (!b->armed_idle)
		atomic_dec(&b->bc->armed_nonidle);
	atomic_dec(&b->bc->armed_any);
	b->armed = 0;
}

/**
 * bt_do_delete() - delete a BH and record it
 * @b: the BH, locked, not deleted
 * @thr: 1 from a callback of the BH's context, else 2
 *
 * An armed ordered BH leaves the timeout counts first: a poller that saw
 * the delete in its dequeue then sees the decrement too.
 */
static void bt_do_delete(struct bt_bh *b, u8 thr)
{
	if (b->ordered && b->armed)
		bt_disarm(b);
	bhq_bh_delete(b->bh);
	b->bh = NULL;
	b->del_mark = bt_mark(b->bc);
	b->del_thr = thr;
	b->deleted = true;
	bt_inc(BT_OPS);
	bt_inc(BT_DELETES);
}

/**
 * bt_arm() - schedule an ordered BH and record the schedule
 * @b: the BH, locked, not deleted, not armed
 * @p: its producer (sequential: the stamps are its own)
 * @idle: schedule it idle
 *
 * cb_poll is read before the schedule: every poll up to that id had
 * carved its slice before the schedule, so none of them may run it.
 */
static void bt_arm(struct bt_bh *b, struct bt_producer *p, bool idle)
{
	struct bt_ctx *bc = b->bc;

	b->armed = ++p->stamps[bc->idx];
	b->armed_gen = READ_ONCE(bc->cb_poll);
	b->armed_ns = ktime_get_ns();
	b->armed_idle = idle;
	b->stalled = false;
	if (idle)
		bhq_bh_schedule_idle(b->bh);
	else
		bhq_bh_schedule(b->bh);
	/* Counted once the schedule is visible; pairs with bt_check_timeout(). */
	smp_mb__before_atomic();
	atomic_inc(&bc->armed_any);
	if (!idle)
		atomic_inc(&bc->armed_nonidle);
	bt_count_schedule(idle);
}

/* ---- checks made by every callback ---- */

/* The first callback of a threaded context names its thread. */
static void bt_check_task(struct bt_ctx *bc)
{
	struct task_struct *t = READ_ONCE(bc->poller);

	if (!t && !bc->manual) {
		t = cmpxchg(&bc->poller, NULL, current);
		if (!t)
			t = current;
	}
	bt_inc(BT_CHECKS);
	if (t != current)
		bt_violation(BT_V_TASK, "%s: callback run by %s/%d, not by its poller %s/%d",
			     bc->name, current->comm, task_pid_nr(current),
			     t ? t->comm : "(none)", t ? task_pid_nr(t) : 0);
}

/**
 * bt_check_cpu() - a per-CPU context's callback runs on its CPU
 * @bc: the context
 *
 * The generation is read before and after the CPU: equal and even means
 * that our hotplug callbacks did not run across the read.  The CPU must
 * also not be dying: from the start of its offline operation, before our
 * offline callback, the scheduler already moves a waking thread bound to
 * it elsewhere (and leaves it unbound).
 */
static void bt_check_cpu(struct bt_ctx *bc)
{
	atomic_t *gen = &bt.hp_gen[bc->cpu];
	unsigned int cpu;
	bool dying;
	int g1, g2;

	g1 = atomic_read_acquire(gen);
	dying = cpu_dying(bc->cpu);
	cpu = raw_smp_processor_id();
	/* Read the generation again only after the CPU number. */
	smp_rmb();
	g2 = atomic_read(gen);
	if (cpu == bc->cpu) {
		bt_inc(BT_CHECKS);
		return;
	}
	if (g1 != g2 || (g1 & 1) || dying) {
		bt_inc(BT_RUNS_CPU_UNSTABLE);
		return;
	}
	bt_inc(BT_CHECKS);
	bt_violation(BT_V_CPU, "%s: callback ran on CPU %u while CPU %d was online",
		     bc->name, cpu, bc->cpu);
}

/**
 * bt_event() - one more event of @bc's poller, see F1
 * @bc: the context; called by its poller only
 *
 * Return: the event's number.
 */
static unsigned long bt_event(struct bt_ctx *bc)
{
	unsigned long q = bc->cbseq + 1;

	WRITE_ONCE(bc->cbseq, q);
	/* F1: the event comes before this context's next dequeue. */
	smp_mb();
	return q;
}

/**
 * bt_cb_enter() - the prologue of every torture callback
 * @bc: the callback's context
 *
 * Return: the callback's index on @bc (its cbseq after the increment).
 */
static unsigned long bt_cb_enter(struct bt_ctx *bc)
{
	unsigned long q;

	/* Its poll has carved: see "poll" at the top of this file. */
	if (bc->cur_poll != U64_MAX)
		WRITE_ONCE(bc->cb_poll, bc->cur_poll);
	q = bt_event(bc);
	bt_inc(BT_RUNS);
	bt_check_task(bc);
	if (bc->cpu >= 0)
		bt_check_cpu(bc);
	return q;
}

/**
 * bt_check_timeout() - the poller's bhq_compute_timeout() is right
 * @bc: the context; called by its poller only
 *
 * See "timeout" at the top of this file.
 */
static void bt_check_timeout(struct bt_ctx *bc)
{
	int nonidle = atomic_read_acquire(&bc->armed_nonidle);
	int any = atomic_read_acquire(&bc->armed_any);
	s64 timeout;

	if (nonidle <= 0 && any <= 0)
		return;
	timeout = bhq_compute_timeout(bc->ctx);
	bt_inc(BT_CHECKS);
	bt_inc(BT_TIMEOUT_CHECKS);
	if (nonidle > 0 && timeout != 0)
		bt_violation(BT_V_TIMEOUT, "%s: timeout %lld with %d non-idle BHs pending",
			     bc->name, timeout, nonidle);
	else if (timeout == BHQ_TIMEOUT_INFINITE)
		bt_violation(BT_V_TIMEOUT, "%s: infinite timeout with %d BHs pending",
			     bc->name, any);
}

/* Did this run start after the BH's delete reached bhq? */
static void bt_check_deleted(struct bt_bh *b, unsigned long q)
{
	bt_inc(BT_CHECKS);
	if (!bt_before(b->del_mark, b->del_thr, q)) {
		bt_inc(BT_RUNS_RACING_DELETE);
		return;
	}
	bt_violation(BT_V_AFTER_DELETE,
		     "%s: %s BH of producer %u ran after its delete (callback %lu, delete at %lu)",
		     b->bc->name, b->ordered ? "ordered" : "free",
		     b->prod->idx, q, b->del_mark);
}

/**
 * bt_order_check() - FIFO, poll and latency checks of an enqueue
 * @bc: the context running it (its poller calls this)
 * @prod: the producer that scheduled it
 * @stamp: the producer's FIFO stamp for @bc
 * @gen: @bc's cb_poll read before the schedule
 * @ns: time of the schedule
 * @idle: scheduled idle
 */
static void bt_order_check(struct bt_ctx *bc, unsigned int prod, u64 stamp,
			   u64 gen, u64 ns, bool idle)
{
	u64 *last = &bc->last_stamp[prod];
	u64 lat = ktime_get_ns() - ns;

	bt_inc(BT_CHECKS);
	if (stamp <= *last)
		bt_violation(BT_V_FIFO, "%s: producer %u's BH #%llu ran after its BH #%llu",
			     bc->name, prod, stamp, *last);
	*last = max(*last, stamp);

	if (bc->manual || bt.traced) {
		bt_inc(BT_CHECKS);
		if (bc->cur_poll <= gen)
			bt_violation(BT_V_POLL,
				     "%s: poll %llu ran a BH scheduled after poll %llu had carved",
				     bc->name, bc->cur_poll, gen);
	}

	bt_max(idle ? &bt.max_idle_ns : &bt.max_nonidle_ns, lat);
	bt_inc(BT_CHECKS);
	if (lat > bt_stall_ns())
		bt_violation(BT_V_STALL, "%s: %s BH ran %llu ms after its schedule",
			     bc->name, idle ? "idle" : "non-idle",
			     lat / NSEC_PER_MSEC);
}

/**
 * bt_match_run() - match a run of a free BH to a schedule of its own
 * @b: the BH, locked, not deleted
 * @q: the run's callback index
 *
 * See "spurious" at the top of this file.  @lo collects the schedules
 * known not to be able to justify this run; the greedy match takes the
 * lowest schedule above it not used by an earlier run.
 */
static void bt_match_run(struct bt_bh *b, unsigned long q)
{
	u64 lo = max(b->lo, b->s_prev2);
	u64 i;

	if (b->runs) {
		if (bt_before(b->sched_mark, b->sched_thr, b->q_prev))
			lo = max(lo, b->sched);
		else if (bt_before(b->m_prev, b->thr_prev, b->q_prev))
			lo = max(lo, b->s_prev);
		lo = max(lo, b->cf_prev);
	}
	if (bt_before(b->cancel_mark, 2, q))
		lo = max(lo, b->cancel_floor);
	b->lo = lo;

	i = max(b->next, lo + 1);
	bt_inc(BT_CHECKS);
	if (i > b->sched)
		bt_violation(BT_V_SPURIOUS,
			     "%s: free BH run %llu has no schedule of its own (%llu schedules, the first %llu used up or cancelled)",
			     b->bc->name, b->runs + 1, b->sched, lo);
	else
		b->next = i + 1;

	b->s_prev2 = b->s_prev;
	b->s_prev = b->sched;
	b->cf_prev = b->cancel_floor;
	b->q_prev = q;
	b->m_prev = b->sched_mark;
	b->thr_prev = b->sched_thr;
	b->runs++;
}

/* ---- manual contexts: polls and flushes ---- */

/**
 * bt_manual_poll() - poll a manual context, giving the poll an id
 * @bc: a manual context; called by its poller (maybe from a callback)
 */
static void bt_manual_poll(struct bt_ctx *bc)
{
	u64 outer = bc->cur_poll;

	/* Fully ordered: the id is visible before the poll carves. */
	bc->cur_poll = atomic64_inc_return(&bc->polls);
	if (bc->depth++)
		bt_inc(BT_NESTED_POLLS);
	bt_inc(BT_POLLS);
	bt_inc(BT_OPS);
	bt_event(bc);
	bhq_poll(bc->ctx);
	bt_event(bc);
	bc->depth--;
	bc->cur_poll = outer;
}

static void bt_barrier_put(struct bt_barrier *bar)
{
	if (refcount_dec_and_test(&bar->ref))
		kfree(bar);
}

static void bt_barrier_fn(void *opaque)
{
	struct bt_barrier *bar = opaque;

	complete(&bar->done);
	bt_barrier_put(bar);
}

static bool bt_barrier_wait(struct bt_ctx *bc, struct bt_barrier *bar)
{
	unsigned int i;

	if (!bc->manual)
		return wait_for_completion_timeout(&bar->done,
						   msecs_to_jiffies(stall_ms));
	for (i = 0; i < BT_FLUSH_POLLS && !completion_done(&bar->done); i++)
		bt_manual_poll(bc);
	return completion_done(&bar->done);
}

/**
 * bt_flush() - wait, boundedly, until everything scheduled on @bc ran
 * @bc: the context; for a manual one, called by its poller, not from a
 *	callback
 *
 * bhq_ctx_flush() waits without a bound; this queues a oneshot barrier
 * instead, which may outlive a timed-out wait.  A timeout marks @bc stuck.
 *
 * Return: true if the barrier ran.
 */
static bool bt_flush(struct bt_ctx *bc)
{
	struct bt_barrier *bar;
	bool done;

	if (bc->stuck)
		return false;
	bar = kmalloc(sizeof(*bar), GFP_KERNEL);
	if (!bar)
		return false;
	init_completion(&bar->done);
	refcount_set(&bar->ref, 2);
	bt_inc(BT_OPS);
	if (bhq_schedule_oneshot(bc->ctx, bt_barrier_fn, bar, GFP_KERNEL)) {
		kfree(bar);
		return false;
	}
	done = bt_barrier_wait(bc, bar);
	bt_barrier_put(bar);
	if (!done) {
		bc->stuck = true;
		bt_violation(BT_V_STALL, "%s: a flush did not complete within %u ms",
			     bc->name, stall_ms);
	}
	return done;
}

/**
 * bt_reap() - free the deleted BHs of @bc once a barrier ran behind them
 * @bc: the context; for a manual one, called by its poller outside polls
 *
 * Every BH taken off the graveyard was deleted before the barrier was
 * scheduled, so bhq has dequeued it when the barrier runs, and (threaded
 * contexts run one callback at a time, manual ones are at top level here)
 * none of its callbacks still runs.
 */
static void bt_reap(struct bt_ctx *bc)
{
	struct llist_node *list;
	struct bt_bh *b, *tmp;

	if (llist_empty(&bc->grave) || bc->stuck)
		return;
	list = llist_del_all(&bc->grave);
	if (!bt_flush(bc)) {
		/* Leaked: a callback may still run on them. */
		pr_err("%s: leaving deleted BHs allocated after a stuck flush\n",
		       bc->name);
		return;
	}
	llist_for_each_entry_safe(b, tmp, list, grave)
		kfree(b);
}

/* The owner of a deleted BH moves it to its context's graveyard. */
static void bt_bury(struct bt_bh **slot, struct bt_bh *b)
{
	WRITE_ONCE(*slot, NULL);
	llist_add(&b->grave, &b->bc->grave);
}

/* ---- callbacks ---- */

static void bt_oneshot_fn(void *opaque);

/**
 * bt_oneshot() - schedule a stamped oneshot
 * @p: the producer (sequential)
 * @bc: the target context
 * @gfp: GFP_ATOMIC from interrupts
 */
static void bt_oneshot(struct bt_producer *p, struct bt_ctx *bc, gfp_t gfp)
{
	struct bt_oneshot *o = kmalloc(sizeof(*o), gfp);

	if (!o) {
		bt_inc(BT_ALLOC_FAILURES);
		return;
	}
	o->bc = bc;
	o->prod = p->idx;
	o->stamp = ++p->stamps[bc->idx];
	o->gen = READ_ONCE(bc->cb_poll);
	o->ns = ktime_get_ns();
	atomic_long_inc(&bt.oneshots_out);
	/* @o may be run and freed before this returns. */
	if (bhq_schedule_oneshot(bc->ctx, bt_oneshot_fn, o, gfp)) {
		atomic_long_dec(&bt.oneshots_out);
		kfree(o);
		bt_inc(BT_ALLOC_FAILURES);
		return;
	}
	bt_inc(BT_ONESHOTS);
	bt_count_schedule(false);
}

/* A free BH's callback schedules or deletes its own BH. */
static void bt_cb_self(struct bt_bh *b, u32 r)
{
	unsigned long flags;

	if (r % 8 > 1)
		return;
	raw_spin_lock_irqsave(&b->lock, flags);
	if (!b->deleted) {
		if (r % 8 == 0) {
			bt_do_schedule(b, r & 0x100, 1);
			bt_inc(BT_SELF_SCHEDULES);
		} else if (r % 64 == 1) {
			bt_do_delete(b, 1);
			bt_inc(BT_SELF_DELETES);
		}
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

/**
 * bt_cb_actions() - what a callback does after its checks
 * @bc: its context (the caller is its poller)
 * @b: its BH, NULL for a oneshot
 *
 * A free BH may re-schedule or delete itself; on a manual context the
 * callback may then schedule a oneshot and nest a poll (a BH that deleted
 * itself and polls again must not run in that poll).  Elsewhere it may
 * schedule a oneshot on any context.
 */
static void bt_cb_actions(struct bt_ctx *bc, struct bt_bh *b)
{
	u32 r = prandom_u32_state(&bc->rnd);

	if (READ_ONCE(bt.stopping) || bt_held())
		return;
	if (b && !b->ordered)
		bt_cb_self(b, r);
	if (r & 0x200)
		bt_check_timeout(bc);
	if (!bc->manual) {
		if ((r >> 12) % 16 == 0)
			bt_oneshot(bt_cb_prod(bc), &bt.ctxs[(r >> 16) % bt.nr_ctxs],
				   GFP_KERNEL);
		return;
	}
	if ((r >> 12) % 8 == 0)
		bt_oneshot(bt_cb_prod(bc), bc, GFP_KERNEL);
	if ((r >> 16) % 4 == 0 && bc->depth < max_nest) {
		bt_manual_poll(bc);
		bt_check_timeout(bc);
	}
}

/* The epilogue of every torture callback: one more event, see F1. */
static void bt_cb_exit(struct bt_ctx *bc)
{
	bt_event(bc);
}

static void bt_free_fn(void *opaque)
{
	struct bt_bh *b = opaque;
	struct bt_ctx *bc = b->bc;
	unsigned long q = bt_cb_enter(bc);
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	if (b->deleted)
		bt_check_deleted(b, q);
	else
		bt_match_run(b, q);
	raw_spin_unlock_irqrestore(&b->lock, flags);
	bt_cb_actions(bc, b);
	bt_cb_exit(bc);
}

static void bt_ordered_fn(void *opaque)
{
	struct bt_bh *b = opaque;
	struct bt_ctx *bc = b->bc;
	unsigned long q = bt_cb_enter(bc);
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	if (b->deleted) {
		bt_check_deleted(b, q);
	} else if (!b->armed) {
		bt_inc(BT_CHECKS);
		bt_violation(BT_V_SPURIOUS, "%s: ordered BH of producer %u ran without a schedule",
			     bc->name, b->prod->idx);
	} else {
		bt_inc(BT_CHECKS);
		bt_order_check(bc, b->prod->idx, b->armed, b->armed_gen,
			       b->armed_ns, b->armed_idle);
		bt_disarm(b);
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
	bt_cb_actions(bc, b);
	bt_cb_exit(bc);
}

static void bt_oneshot_fn(void *opaque)
{
	struct bt_oneshot *o = opaque;
	struct bt_ctx *bc = o->bc;

	bt_cb_enter(bc);
	bt_order_check(bc, o->prod, o->stamp, o->gen, o->ns, false);
	kfree(o);
	atomic_long_dec(&bt.oneshots_out);
	bt_cb_actions(bc, NULL);
	bt_cb_exit(bc);
}

/* ---- producers ---- */

/**
 * bt_free_op() - one random operation on a free BH of @p
 * @p: the producer owning @slot
 * @slot: the BH's slot
 * @r: random bits
 */
static void bt_free_op(struct bt_producer *p, struct bt_bh **slot, u32 r)
{
	struct bt_bh *b = READ_ONCE(*slot);
	unsigned long flags;
	bool bury;

	if (!b)
		return;
	raw_spin_lock_irqsave(&b->lock, flags);
	if (!b->deleted) {
		r %= 100;
		if (r < 45)
			bt_do_schedule(b, false, 2);
		else if (r < 70)
			bt_do_schedule(b, true, 2);
		else if (r < 97)
			bt_do_cancel(b);
		else
			bt_do_delete(b, 2);
	}
	bury = b->deleted;
	raw_spin_unlock_irqrestore(&b->lock, flags);
	if (bury)
		bt_bury(slot, b);
}

/* An armed ordered BH that waits too long is stuck. */
static void bt_check_stall(struct bt_bh *b)
{
	u64 wait = ktime_get_ns() - b->armed_ns;

	if (b->stalled || wait <= bt_stall_ns())
		return;
	b->stalled = true;
	bt_violation(BT_V_STALL, "%s: %s ordered BH of producer %u pending for %llu ms",
		     b->bc->name, b->armed_idle ? "idle" : "non-idle",
		     b->prod->idx, wait / NSEC_PER_MSEC);
}

/**
 * bt_ordered_op() - one random operation on an ordered BH of @p
 * @p: the producer owning @slot
 * @slot: the BH's slot
 * @r: random bits
 */
static void bt_ordered_op(struct bt_producer *p, struct bt_bh **slot, u32 r)
{
	struct bt_bh *b = READ_ONCE(*slot);
	unsigned long flags;
	bool bury;

	if (!b)
		return;
	raw_spin_lock_irqsave(&b->lock, flags);
	if (!b->deleted) {
		if (b->armed) {
			bt_inc(BT_CHECKS);
			bt_check_stall(b);
		}
		if (r % 64 == 0)
			bt_do_delete(b, 2);
		else if (!b->armed)
			bt_arm(b, p, r % 8 == 1);
	}
	bury = b->deleted;
	raw_spin_unlock_irqrestore(&b->lock, flags);
	if (bury)
		bt_bury(slot, b);
}

/**
 * bt_random_op() - one random operation of a CPU producer
 * @p: the producer
 * @gfp: allocation flags for oneshots
 */
static void bt_random_op(struct bt_producer *p, gfp_t gfp)
{
	u32 r = prandom_u32_state(&p->rnd);
	u32 r2 = prandom_u32_state(&p->rnd);
	unsigned int ctx = r % bt.nr_ctxs;
	unsigned int k = (r >> 8) % nr_bhs;
	unsigned int sel = (r >> 16) % 100;

	if (bt_held())
		return;
	if (sel < 50)
		bt_free_op(p, bt_slot(p, false, ctx, k), r2);
	else if (sel < 92)
		bt_ordered_op(p, bt_slot(p, true, ctx, k), r2);
	else
		bt_oneshot(p, &bt.ctxs[ctx], gfp);
}

/**
 * bt_bh_create() - allocate a free or ordered BH
 * @bc: its context
 * @p: its producer
 * @ordered: an ordered BH
 *
 * Context: process context.
 * Return: the BH, or NULL if out of memory.
 */
static struct bt_bh *bt_bh_create(struct bt_ctx *bc, struct bt_producer *p,
				  bool ordered)
{
	struct bt_bh *b = kzalloc(sizeof(*b), GFP_KERNEL);

	if (!b)
		goto fail;
	raw_spin_lock_init(&b->lock);
	b->bc = bc;
	b->prod = p;
	b->ordered = ordered;
	b->bh = bhq_bh_new(bc->ctx, ordered ? bt_ordered_fn : bt_free_fn, b);
	if (!b->bh) {
		kfree(b);
		goto fail;
	}
	bt_inc(BT_OPS);
	bt_inc(BT_CREATES);
	return b;
fail:
	bt_inc(BT_ALLOC_FAILURES);
	return NULL;
}

/* Fill the empty slots of @p; the producer only ever empties them. */
static int bt_refill(struct bt_producer *p)
{
	unsigned int n = 2 * bt.nr_ctxs * nr_bhs, i;
	struct bt_bh *b;

	for (i = 0; i < n; i++) {
		if (READ_ONCE(p->slots[i]))
			continue;
		b = bt_bh_create(&bt.ctxs[(i / nr_bhs) % bt.nr_ctxs], p,
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
static void bt_refill_cpu(unsigned int cpu)
{
	enum bt_kind kind;

	for (kind = 0; kind < BT_NR_KINDS; kind++) {
		struct bt_producer *p = bt_cpu_prod(cpu, kind);

		if (p->active)
			bt_refill(p);
	}
}

static int bt_kthread_fn(void *arg)
{
	struct bt_producer *p = arg;
	unsigned int i;

	while (!kthread_should_stop()) {
		if (!READ_ONCE(bt.stopping)) {
			for (i = 0; i < batch; i++)
				bt_random_op(p, GFP_KERNEL);
			bt_refill_cpu(p->cpu);
		}
		if (batch_sleep_us)
			usleep_range(batch_sleep_us, 2 * batch_sleep_us);
		else
			cond_resched();
	}
	return 0;
}

static enum hrtimer_restart bt_timer_fn(struct hrtimer *timer)
{
	struct bt_producer *p = container_of(timer, struct bt_producer, timer);
	unsigned int i;

	if (READ_ONCE(bt.stopping))
		return HRTIMER_NORESTART;
	for (i = 0; i < irq_ops; i++)
		bt_random_op(p, GFP_ATOMIC);
	hrtimer_forward_now(timer, ns_to_ktime((u64)irq_period_us * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static enum hrtimer_mode bt_timer_mode(struct bt_producer *p)
{
	return p->kind == BT_HARDIRQ ? HRTIMER_MODE_REL_PINNED_HARD :
				       HRTIMER_MODE_REL_PINNED_SOFT;
}

/* Start the timer on the calling CPU. */
static void bt_timer_start(struct bt_producer *p)
{
	if (!READ_ONCE(bt.stopping))
		hrtimer_start(&p->timer,
			      ns_to_ktime((u64)irq_period_us * NSEC_PER_USEC),
			      bt_timer_mode(p));
}

/* Called on @cpu (IPI at load, its hotplug thread when it comes online). */
static void bt_timers_home(unsigned int cpu, bool cancel)
{
	enum bt_kind kind;

	for (kind = BT_HARDIRQ; kind < BT_NR_KINDS; kind++) {
		struct bt_producer *p = bt_cpu_prod(cpu, kind);

		if (!p->active)
			continue;
		if (cancel)
			hrtimer_cancel(&p->timer);
		bt_timer_start(p);
	}
}

static void bt_timers_home_ipi(void *unused)
{
	bt_timers_home(smp_processor_id(), false);
}

/* ---- manual pollers, the probe, the control thread ---- */

static int bt_manual_fn(void *arg)
{
	struct bt_ctx *bc = arg;

	while (!kthread_should_stop()) {
		bt_manual_poll(bc);
		bt_check_timeout(bc);
		bt_reap(bc);
		if (bhq_compute_timeout(bc->ctx) != 0)
			usleep_range(50, 100);
		else
			cond_resched();
	}
	return 0;
}

static void bt_probe_fn(void *opaque)
{
	struct bt_probe_bh *pb = opaque;

	pb->ns_run = ktime_get_ns();
	/* The prober may schedule @pb again as soon as this completes. */
	complete(&pb->done);
}

/**
 * bt_probe_wait() - wait for a probe BH, within latency_ms, then stall_ms
 * @pb: the probe BH
 * @t0: when it was scheduled
 * @max: the maximum latency to update
 *
 * Return: false if it did not run within stall_ms either.
 */
static bool bt_probe_wait(struct bt_probe_bh *pb, u64 t0, atomic64_t *max)
{
	const char *what = pb == &bt.probe_idle ? "idle" : "non-idle";

	bt_inc(BT_CHECKS);
	bt_inc(BT_PROBES);
	if (!wait_for_completion_timeout(&pb->done, msecs_to_jiffies(latency_ms))) {
		bt_violation(BT_V_LATENCY,
			     "probe: %s BH on a quiet threaded context not run within %u ms",
			     what, latency_ms);
		if (!wait_for_completion_timeout(&pb->done, msecs_to_jiffies(stall_ms))) {
			bt_violation(BT_V_STALL,
				     "probe: %s BH not run within %u ms more, probe stopped",
				     what, stall_ms);
			return false;
		}
	}
	bt_max(max, pb->ns_run - t0);
	return true;
}

static void bt_probe_schedule(struct bt_probe_bh *pb, bool idle, u64 *t0)
{
	reinit_completion(&pb->done);
	*t0 = ktime_get_ns();
	if (idle)
		bhq_bh_schedule_idle(pb->bh);
	else
		bhq_bh_schedule(pb->bh);
}

/**
 * bt_probe_round() - one round of the latency probe
 * @round: selects the pattern: non-idle alone, idle then non-idle, idle
 *
 * In the second pattern the thread sleeps its idle timeout when the
 * non-idle BH comes (a pair, if the idle BH has not run yet); if that BH
 * still runs only when the idle timeout is over, the pair is late.
 *
 * Return: false if a probe BH is stuck.
 */
static bool bt_probe_round(unsigned int round)
{
	struct bt_probe_bh *n = &bt.probe_nonidle, *i = &bt.probe_idle;
	int held = atomic_read(&bt.held);
	bool idle_ran;
	u64 t0, t1;

	switch (round % 3) {
	case 0:
		bt_probe_schedule(n, false, &t0);
		return bt_probe_wait(n, t0, &bt.probe_max_nonidle_ns);
	case 1:
		bt_probe_schedule(i, true, &t0);
		usleep_range(2000, 3000);
		idle_ran = completion_done(&i->done);
		bt_probe_schedule(n, false, &t1);
		if (!bt_probe_wait(n, t1, &bt.probe_max_nonidle_ns))
			return false;
		/* A delay window may have held the wakeup: not a pair. */
		if (held & 1 || atomic_read(&bt.held) != held)
			idle_ran = true;
		if (!idle_ran)
			bt_inc(BT_PROBES_PAIRS);
		if (!idle_ran && n->ns_run - t0 >= BHQ_IDLE_TIMEOUT_NS)
			bt_inc(BT_PROBES_LATE);
		return bt_probe_wait(i, t0, &bt.probe_max_idle_ns);
	default:
		bt_probe_schedule(i, true, &t0);
		return bt_probe_wait(i, t0, &bt.probe_max_idle_ns);
	}
}

static int bt_probe_thread(void *unused)
{
	unsigned int round = 0;

	while (!kthread_should_stop() && !READ_ONCE(bt.stopping)) {
		if (!bt_held() && !bt_probe_round(round++))
			break;
		usleep_range(5000, 10000);
	}
	while (!kthread_should_stop())
		schedule_timeout_idle(HZ);
	return 0;
}

/* While the load runs: free what the threaded contexts' BHs left behind. */
static void bt_reap_threaded(void)
{
	unsigned int i;

	for (i = 0; i < bt.nr_ctxs; i++) {
		if (!bt.ctxs[i].manual)
			bt_reap(&bt.ctxs[i]);
	}
}

/* ---- bhq's tracepoints: polls and sleeps of threaded contexts ---- */

/* The context under test behind @ctx, if any; called by its poller. */
static struct bt_ctx *bt_find(struct bhq_ctx *ctx)
{
	unsigned int cpu = raw_smp_processor_id(), i;
	struct bt_ctx *bc = bt.cpu_bc[cpu];

	/* Fast path: a per-CPU context's thread on its own CPU. */
	if (bc && READ_ONCE(bc->ctx) == ctx)
		return bc->manual ? NULL : bc;
	for (i = 0; i < bt.nr_ctxs; i++) {
		bc = &bt.ctxs[i];
		if (READ_ONCE(bc->ctx) == ctx)
			return bc->manual ? NULL : bc;
	}
	return NULL;
}

/* A threaded context's poll starts: give it an id, as bt_manual_poll(). */
static void bt_tp_poll_start(void *data, struct bhq_ctx *ctx,
			     unsigned int depth, unsigned int ran)
{
	struct bt_ctx *bc = bt_find(ctx);
	u64 id;

	if (!bc)
		return;
	bt_event(bc);
	/* Fully ordered: the id is visible before the poll carves. */
	id = atomic64_inc_return(&bc->polls);
	if (depth > BT_MAX_DEPTH) {
		/* Unknown: no poll check can fail. */
		bc->cur_poll = U64_MAX;
		return;
	}
	bc->poll_ids[depth - 1] = id;
	bc->cur_poll = id;
}

/*
 * A threaded context's poll ends: at depth 1, count the ordered BHs still
 * waiting.  No callback runs between here and the thread's next sleep.
 */
static void bt_tp_poll_end(void *data, struct bhq_ctx *ctx,
			   unsigned int depth, unsigned int ran)
{
	struct bt_ctx *bc = bt_find(ctx);

	if (!bc)
		return;
	bt_event(bc);
	if (depth >= 2 && depth <= BT_MAX_DEPTH + 1)
		bc->cur_poll = bc->poll_ids[depth - 2];
	if (depth != 1)
		return;
	bc->cur_poll = 0;
	bc->snap_nonidle = atomic_read_acquire(&bc->armed_nonidle);
	bc->snap_any = atomic_read_acquire(&bc->armed_any);
	bc->snap_valid = true;
}

/*
 * The thread goes to sleep with a non-zero @timeout (bhq traces no other
 * sleep).  An ordered BH counted at the end of its last poll is still
 * pending: the timeout must have been 0 for a non-idle one, finite for an
 * idle one.  Exact: see "timeout" at the top of this file.
 */
static void bt_tp_sleep(void *data, struct bhq_ctx *ctx, s64 timeout)
{
	struct bt_ctx *bc = bt_find(ctx);

	if (!bc || !bc->snap_valid)
		return;
	bt_inc(BT_CHECKS);
	bt_inc(BT_SLEEP_CHECKS);
	if (bc->snap_nonidle > 0)
		bt_violation(BT_V_TIMEOUT,
			     "%s: thread slept with timeout %lld while %d non-idle BHs were pending",
			     bc->name, timeout, bc->snap_nonidle);
	else if (timeout == BHQ_TIMEOUT_INFINITE && bc->snap_any > 0)
		bt_violation(BT_V_TIMEOUT,
			     "%s: thread slept without timeout while %d BHs were pending",
			     bc->name, bc->snap_any);
}

/**
 * struct bt_tracepoint - a bhq tracepoint the torture probes
 * @name: its name
 * @probe: our probe
 * @tp: the tracepoint, once found
 * @registered: our probe is registered
 */
struct bt_tracepoint {
	const char *name;
	void *probe;
	struct tracepoint *tp;
	bool registered;
};

static struct bt_tracepoint bt_tps[] = {
	{ .name = "bhq_poll_start", .probe = bt_tp_poll_start },
	{ .name = "bhq_poll_end", .probe = bt_tp_poll_end },
	{ .name = "bhq_sleep", .probe = bt_tp_sleep },
};

static void bt_tp_match(struct tracepoint *tp, void *unused)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bt_tps); i++) {
		if (!strcmp(tp->name, bt_tps[i].name))
			bt_tps[i].tp = tp;
	}
}

/* Called for every module with tracepoints, with their list locked. */
static int bt_tp_module(struct notifier_block *nb, unsigned long val,
			void *data)
{
	struct tp_module *tp_mod = data;
	struct module *mod = tp_mod->mod;
	tracepoint_ptr_t *p;

	if (val != MODULE_STATE_COMING || strcmp(mod->name, "bhq"))
		return NOTIFY_OK;
	for (p = mod->tracepoints_ptrs;
	     p < mod->tracepoints_ptrs + mod->num_tracepoints; p++)
		bt_tp_match(tracepoint_ptr_deref(p), NULL);
	return NOTIFY_OK;
}

static struct notifier_block bt_tp_nb = {
	.notifier_call = bt_tp_module,
};

static void bt_tp_exit(void)
{
	unsigned int i;
	bool any = false;

	for (i = 0; i < ARRAY_SIZE(bt_tps); i++) {
		if (!bt_tps[i].registered)
			continue;
		tracepoint_probe_unregister(bt_tps[i].tp, bt_tps[i].probe, NULL);
		bt_tps[i].registered = false;
		any = true;
	}
	/* No probe of ours runs any more once this returns. */
	if (any)
		tracepoint_synchronize_unregister();
	bt.traced = false;
}

/**
 * bt_tp_init() - probe bhq's poll and sleep tracepoints
 *
 * bhq does not export its tracepoints, so they are found by name: among
 * the kernel's own (bhq built in) and through the tracepoint module
 * notifier (bhq a module), which calls us back at once for the modules
 * already loaded.  Without them the poll check covers only the manual
 * contexts and the sleep check is not made.
 *
 * Context: process context, before any BH of the torture exists.
 */
static void bt_tp_init(void)
{
	unsigned int i;

	for_each_kernel_tracepoint(bt_tp_match, NULL);
	if (!register_tracepoint_module_notifier(&bt_tp_nb))
		unregister_tracepoint_module_notifier(&bt_tp_nb);
	for (i = 0; i < ARRAY_SIZE(bt_tps); i++) {
		if (!bt_tps[i].tp ||
		    tracepoint_probe_register(bt_tps[i].tp, bt_tps[i].probe, NULL)) {
			pr_info("bhq tracepoint %s unavailable: no poll or sleep checks on threaded contexts\n",
				bt_tps[i].name);
			bt_tp_exit();
			return;
		}
		bt_tps[i].registered = true;
	}
	bt.traced = true;
}

/* ---- CPU hotplug ---- */

/* Is bhq's thread of @cpu (learned from its callbacks) bound to @cpu? */
static void bt_hp_check_binding(unsigned int cpu)
{
	struct task_struct *t = READ_ONCE(bt.cpu_bc[cpu]->poller);

	if (t && (READ_ONCE(t->nr_cpus_allowed) != 1 ||
		  !cpumask_test_cpu(cpu, t->cpus_ptr)))
		bt_inc(BT_HP_UNBOUND);
}

static void bt_bind_producer(unsigned int cpu, const struct cpumask *mask)
{
	struct task_struct *t = bt_cpu_prod(cpu, BT_KTHREAD)->task;

	if (t)
		set_cpus_allowed_ptr(t, mask);
}

/* Runs on @cpu, after bhq's own online callback. */
static int bt_cpu_online(unsigned int cpu)
{
	bt_hp_check_binding(cpu);
	bt_bind_producer(cpu, cpumask_of(cpu));
	bt_timers_home(cpu, true);
	/* Even once bhq's thread is bound to @cpu; pairs with bt_check_cpu(). */
	smp_mb__before_atomic();
	atomic_inc(&bt.hp_gen[cpu]);
	bt_inc(BT_HP_ONLINE);
	return 0;
}

/* Runs on @cpu, before bhq's own offline callback unbinds its thread. */
static int bt_cpu_offline(unsigned int cpu)
{
	atomic_inc(&bt.hp_gen[cpu]);
	/* Odd before our producer (and then bhq's thread) is unbound. */
	smp_mb__after_atomic();
	bt_bind_producer(cpu, cpu_possible_mask);
	bt_inc(BT_HP_OFFLINE);
	return 0;
}

/* ---- the end of the test ---- */

static void bt_stop_producers(void)
{
	unsigned int i;

	if (bt.cpuhp_state > 0)
		cpuhp_remove_state_nocalls(bt.cpuhp_state);
	bt.cpuhp_state = 0;
	for (i = 0; bt.prods && i < bt.nr_prods; i++) {
		struct bt_producer *p = &bt.prods[i];

		if (p->active && p->kind != BT_KTHREAD && p->cpu >= 0)
			hrtimer_cancel(&p->timer);
		if (p->task) {
			kthread_stop(p->task);
			p->task = NULL;
		}
	}
	if (bt.probe_task) {
		kthread_stop(bt.probe_task);
		bt.probe_task = NULL;
	}
}

/* From now on the calling thread polls the manual contexts. */
static void bt_stop_manual_pollers(void)
{
	unsigned int i;

	for (i = 0; bt.ctxs && i < bt.nr_ctxs; i++) {
		struct bt_ctx *bc = &bt.ctxs[i];

		if (!bc->manual)
			continue;
		if (bc->poll_task) {
			kthread_stop(bc->poll_task);
			bc->poll_task = NULL;
		}
		WRITE_ONCE(bc->poller, current);
	}
}

static bool bt_flush_all(void)
{
	bool ok = true;
	unsigned int i;

	for (i = 0; i < bt.nr_ctxs; i++)
		ok &= bt_flush(&bt.ctxs[i]);
	return ok;
}

/*
 * Flush until a whole round schedules nothing: callbacks that saw
 * @stopping clear may still have re-scheduled themselves or made oneshots.
 */
static bool bt_quiesce(void)
{
	unsigned int round;
	u64 before;

	for (round = 0; round < BT_QUIESCE_ROUNDS; round++) {
		before = bt_sum(BT_SCHEDULED) + bt_sum(BT_DELETES);
		if (!bt_flush_all())
			return false;
		if (bt_sum(BT_SCHEDULED) + bt_sum(BT_DELETES) == before)
			return true;
	}
	bt_violation(BT_V_STALL, "the load did not quiesce after %u flush rounds",
		     BT_QUIESCE_ROUNDS);
	return false;
}

/*
 * A non-idle schedule that does not wake a thread sleeping its idle
 * timeout makes nearly every pair late; scheduling noise, a few.
 */
static void bt_probe_check(void)
{
	u64 pairs = bt_sum(BT_PROBES_PAIRS), late = bt_sum(BT_PROBES_LATE);

	if (pairs < BT_PROBE_MIN_PAIRS)
		return;
	bt_inc(BT_CHECKS);
	if (late * 2 > pairs)
		bt_violation(BT_V_LATENCY,
			     "probe: %llu of %llu non-idle BHs scheduled behind an idle one ran only after the idle timeout",
			     late, pairs);
}

/* See "lost" at the top of this file. */
static void bt_final_check_bh(struct bt_bh *b)
{
	bt_inc(BT_CHECKS);
	if (b->ordered) {
		if (b->armed)
			bt_violation(BT_V_LOST,
				     "%s: ordered BH of producer %u never ran for its schedule",
				     b->bc->name, b->prod->idx);
		return;
	}
	if (!b->last_sched)
		return;
	if (b->runs && bt_before(b->sched_mark, b->sched_thr, b->q_prev))
		return;
	if (b->runs && b->s_prev >= b->sched)
		bt_inc(BT_LOST_UNPROVEN);
	else
		bt_violation(BT_V_LOST,
			     "%s: free BH of producer %u not run after its last schedule (%llu schedules, %llu runs)",
			     b->bc->name, b->prod->idx, b->sched, b->runs);
}

static void bt_final_check(void)
{
	unsigned int i, j, n = 2 * bt.nr_ctxs * nr_bhs;
	unsigned long flags;

	for (i = 0; i < bt.nr_prods; i++) {
		struct bt_producer *p = &bt.prods[i];

		for (j = 0; p->slots && j < n; j++) {
			struct bt_bh *b = p->slots[j];

			if (!b || b->bc->stuck)
				continue;
			raw_spin_lock_irqsave(&b->lock, flags);
			if (!b->deleted)
				bt_final_check_bh(b);
			raw_spin_unlock_irqrestore(&b->lock, flags);
		}
	}
}

static void bt_delete_all(void)
{
	unsigned int i, j, n = 2 * bt.nr_ctxs * nr_bhs;
	unsigned long flags;

	for (i = 0; bt.prods && i < bt.nr_prods; i++) {
		struct bt_producer *p = &bt.prods[i];

		for (j = 0; p->slots && j < n; j++) {
			struct bt_bh *b = p->slots[j];

			if (!b)
				continue;
			raw_spin_lock_irqsave(&b->lock, flags);
			if (!b->deleted)
				bt_do_delete(b, 2);
			raw_spin_unlock_irqrestore(&b->lock, flags);
			bt_bury(&p->slots[j], b);
		}
	}
}

static void bt_reap_all(void)
{
	unsigned int i;

	for (i = 0; i < bt.nr_ctxs; i++)
		bt_reap(&bt.ctxs[i]);
}

static void bt_destroy_probe(void)
{
	bhq_bh_delete(bt.probe_nonidle.bh);
	bhq_bh_delete(bt.probe_idle.bh);
	bt.probe_nonidle.bh = NULL;
	bt.probe_idle.bh = NULL;
	bhq_ctx_destroy(bt.probe_ctx);
	bt.probe_ctx = NULL;
}

/* Destroy the contexts we created, unless a flush of theirs got stuck. */
static void bt_destroy_contexts(void)
{
	unsigned int i;

	for (i = 0; i < bt.nr_ctxs; i++) {
		struct bt_ctx *bc = &bt.ctxs[i];

		if (!bc->owned || !bc->ctx)
			continue;
		if (bc->stuck) {
			pr_err("%s: stuck, not destroyed\n", bc->name);
			continue;
		}
		bhq_ctx_destroy(bc->ctx);
		WRITE_ONCE(bc->ctx, NULL);
	}
	bt_destroy_probe();
}

/**
 * bt_shutdown() - stop the load and check the final accounting
 *
 * Context: the control thread, or rmmod if that thread never ran.
 */
static void bt_shutdown(void)
{
	WRITE_ONCE(bt.status, BT_STOPPING);
	WRITE_ONCE(bt.stopping, true);
	bt.elapsed = (jiffies - bt.start) / HZ;
	/* They end their rounds and check them on their own contexts. */
	lt_stop();
	bt_stop_producers();
	bt_stop_manual_pollers();
	bt_probe_check();

	if (bt_quiesce())
		bt_final_check();
	bt_delete_all();
	bt_flush_all();
	bt_reap_all();
	bt_inc(BT_CHECKS);
	if (atomic_long_read(&bt.oneshots_out))
		bt_violation(BT_V_LOST, "%ld oneshots never ran",
			     atomic_long_read(&bt.oneshots_out));
	bt_destroy_contexts();

	WRITE_ONCE(bt.status, bt_nr_violations() ? BT_FAILURE : BT_SUCCESS);
	pr_info("test stopped after %lu s: %s, rmmod to unload\n", bt.elapsed,
		bt_status_names[bt.status]);
}

static int bt_control_fn(void *unused)
{
	unsigned long end = bt.start + (unsigned long)seconds * HZ;

	while (!kthread_should_stop() &&
	       !(seconds && time_after_eq(jiffies, end))) {
		bt_reap_threaded();
		schedule_timeout_idle(HZ / 20);
	}
	bt_shutdown();
	while (!kthread_should_stop())
		schedule_timeout_idle(HZ);
	return 0;
}

/* ---- debugfs ---- */

static int bt_num_show(struct seq_file *m, u64 val)
{
	seq_printf(m, "%llu\n", val);
	return 0;
}

static int bt_ops_show(struct seq_file *m, void *unused)
{
	return bt_num_show(m, bt_total_ops());
}
DEFINE_SHOW_ATTRIBUTE(bt_ops);

static int bt_checks_show(struct seq_file *m, void *unused)
{
	return bt_num_show(m, bt_total_checks());
}
DEFINE_SHOW_ATTRIBUTE(bt_checks);

static int bt_violations_show(struct seq_file *m, void *unused)
{
	return bt_num_show(m, bt_nr_violations());
}
DEFINE_SHOW_ATTRIBUTE(bt_violations);

static int bt_status_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "%s\n", bt_status_names[READ_ONCE(bt.status)]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bt_status);

static void bt_show_us(struct seq_file *m, const char *name, atomic64_t *ns)
{
	seq_printf(m, "%s %llu\n", name,
		   (u64)atomic64_read(ns) / NSEC_PER_USEC);
}

static int bt_stats_show(struct seq_file *m, void *unused)
{
	int i;

	seq_printf(m, "status %s\n", bt_status_names[READ_ONCE(bt.status)]);
	seq_printf(m, "seconds %lu\n", READ_ONCE(bt.status) >= BT_SUCCESS ?
		   bt.elapsed : (jiffies - bt.start) / HZ);
	for (i = 0; i < BT_NR_STATS; i++)
		seq_printf(m, "%s %llu\n", bt_stat_names[i],
			   i == BT_OPS ? bt_total_ops() :
			   i == BT_CHECKS ? bt_total_checks() : bt_sum(i));
	seq_printf(m, "violations %lu\n", bt_nr_violations());
	for (i = 0; i < BT_NR_VIOLATIONS; i++)
		seq_printf(m, "violations_%s %ld\n", bt_violation_names[i],
			   atomic_long_read(&bt.violations[i]));
	seq_printf(m, "oneshots_pending %ld\n", atomic_long_read(&bt.oneshots_out));
	seq_printf(m, "tracepoints %d\n", bt.traced);
	bt_show_us(m, "max_latency_nonidle_us", &bt.max_nonidle_ns);
	bt_show_us(m, "max_latency_idle_us", &bt.max_idle_ns);
	bt_show_us(m, "probe_max_latency_nonidle_us", &bt.probe_max_nonidle_ns);
	bt_show_us(m, "probe_max_latency_idle_us", &bt.probe_max_idle_ns);
	lt_stats_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bt_stats);

/* Our directory goes under bhq's own: /sys/kernel/debug/bhq/torture. */
static void bt_debugfs_init(void)
{
	struct dentry *parent = debugfs_lookup("bhq", NULL);

	if (IS_ERR_OR_NULL(parent)) {
		pr_warn("no debugfs directory bhq/, results only in dmesg\n");
		return;
	}
	bt.dir = debugfs_create_dir("torture", parent);
	dput(parent);
	debugfs_create_file("ops", 0444, bt.dir, NULL, &bt_ops_fops);
	debugfs_create_file("checks", 0444, bt.dir, NULL, &bt_checks_fops);
	debugfs_create_file("violations", 0444, bt.dir, NULL, &bt_violations_fops);
	debugfs_create_file("status", 0444, bt.dir, NULL, &bt_status_fops);
	debugfs_create_file("stats", 0444, bt.dir, NULL, &bt_stats_fops);
}

/* ---- set-up ---- */

struct bt_param {
	const char *name;
	unsigned int *val;
	unsigned int min;
	unsigned int max;
};

static const struct bt_param bt_params[] = {
	{ "seconds", &seconds, 0, 86400 },
	{ "nr_threaded", &nr_threaded, 0, 16 },
	{ "nr_manual", &nr_manual, 0, 16 },
	{ "nr_bhs", &nr_bhs, 1, 64 },
	{ "irq_period_us", &irq_period_us, 20, 100000 },
	{ "irq_ops", &irq_ops, 1, 64 },
	{ "batch", &batch, 1, 4096 },
	{ "batch_sleep_us", &batch_sleep_us, 0, 100000 },
	{ "max_nest", &max_nest, 1, 8 },
	{ "latency_ms", &latency_ms, 10, 600000 },
	{ "stall_ms", &stall_ms, 100, 3600000 },
};

static int bt_check_params(void)
{
	const struct bt_param *p;

	for (p = bt_params; p < bt_params + ARRAY_SIZE(bt_params); p++) {
		if (*p->val < p->min || *p->val > p->max) {
			pr_err("invalid parameter %s=%u: the allowed range is %u to %u\n",
			       p->name, *p->val, p->min, p->max);
			return -EINVAL;
		}
	}
	return lt_check_params();
}

static int bt_ctx_init(struct bt_ctx *bc, unsigned int idx, int cpu,
		       unsigned int flags, const char *name)
{
	bc->idx = idx;
	bc->cpu = cpu;
	bc->manual = flags & BHQ_CTX_MANUAL;
	init_llist_head(&bc->grave);
	prandom_seed_state(&bc->rnd, get_random_u64());
	strscpy(bc->name, name, sizeof(bc->name));
	bc->last_stamp = kcalloc(bt.nr_prods, sizeof(u64), GFP_KERNEL);
	if (!bc->last_stamp)
		return -ENOMEM;
	if (cpu >= 0) {
		bc->ctx = bhq_cpu_ctx(cpu);
		bt.cpu_bc[cpu] = bc;
		return bc->ctx ? 0 : -ENODEV;
	}
	bc->ctx = bhq_ctx_create(name, flags);
	if (IS_ERR(bc->ctx)) {
		int err = PTR_ERR(bc->ctx);

		bc->ctx = NULL;
		pr_err("cannot create context %s: %d\n", name, err);
		return err;
	}
	bc->owned = true;
	return 0;
}

static int bt_ctxs_init(void)
{
	unsigned int cpu, i, idx = 0;
	char name[BHQ_CTX_NAME_MAX + 1];
	int err;

	for_each_possible_cpu(cpu) {
		snprintf(name, sizeof(name), "cpu%u", cpu);
		err = bt_ctx_init(&bt.ctxs[idx], idx, cpu, 0, name);
		idx++;
		if (err)
			return err;
	}
	for (i = 0; i < nr_threaded + nr_manual; i++, idx++) {
		bool manual = i >= nr_threaded;

		snprintf(name, sizeof(name), "bhqt-%c%u", manual ? 'm' : 't',
			 manual ? i - nr_threaded : i);
		err = bt_ctx_init(&bt.ctxs[idx], idx, -1,
				  manual ? BHQ_CTX_MANUAL : 0, name);
		if (err)
			return err;
	}
	return 0;
}

static int bt_prod_init(struct bt_producer *p, unsigned int idx, int cpu,
			enum bt_kind kind, bool active)
{
	unsigned int n = 2 * bt.nr_ctxs * nr_bhs;

	p->idx = idx;
	p->cpu = cpu;
	p->kind = kind;
	p->active = active;
	prandom_seed_state(&p->rnd, get_random_u64());
	p->stamps = kcalloc(bt.nr_ctxs, sizeof(u64), GFP_KERNEL);
	if (!p->stamps)
		return -ENOMEM;
	if (cpu >= 0 && kind != BT_KTHREAD) {
		hrtimer_init(&p->timer, CLOCK_MONOTONIC,
			     kind == BT_HARDIRQ ? HRTIMER_MODE_REL_HARD :
						  HRTIMER_MODE_REL_SOFT);
		p->timer.function = bt_timer_fn;
	}
	if (!active || cpu < 0)
		return 0;
	p->slots = kcalloc(n, sizeof(*p->slots), GFP_KERNEL);
	if (!p->slots)
		return -ENOMEM;
	return bt_refill(p);
}

static int bt_prods_init(void)
{
	unsigned int cpu, i;
	int err;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		bool possible = cpu_possible(cpu);

		err = bt_prod_init(bt_cpu_prod(cpu, BT_KTHREAD),
				   cpu * BT_NR_KINDS + BT_KTHREAD, cpu,
				   BT_KTHREAD, possible);
		err = err ?: bt_prod_init(bt_cpu_prod(cpu, BT_HARDIRQ),
					  cpu * BT_NR_KINDS + BT_HARDIRQ, cpu,
					  BT_HARDIRQ, possible && irq_producers);
		err = err ?: bt_prod_init(bt_cpu_prod(cpu, BT_SOFTIRQ),
					  cpu * BT_NR_KINDS + BT_SOFTIRQ, cpu,
					  BT_SOFTIRQ, possible && softirq_producers);
		if (err)
			return err;
	}
	for (i = 0; i < bt.nr_ctxs; i++) {
		err = bt_prod_init(&bt.prods[nr_cpu_ids * BT_NR_KINDS + i],
				   nr_cpu_ids * BT_NR_KINDS + i, -1,
				   BT_KTHREAD, true);
		if (err)
			return err;
	}
	return 0;
}

static int bt_probe_bh_init(struct bt_probe_bh *pb)
{
	init_completion(&pb->done);
	pb->bh = bhq_bh_new(bt.probe_ctx, bt_probe_fn, pb);
	return pb->bh ? 0 : -ENOMEM;
}

static int bt_probe_init(void)
{
	int err;

	bt.probe_ctx = bhq_ctx_create("bhqt-probe", 0);
	if (IS_ERR(bt.probe_ctx)) {
		err = PTR_ERR(bt.probe_ctx);
		bt.probe_ctx = NULL;
		pr_err("cannot create context bhqt-probe: %d\n", err);
		return err;
	}
	err = bt_probe_bh_init(&bt.probe_nonidle);
	return err ?: bt_probe_bh_init(&bt.probe_idle);
}

static int bt_alloc(void)
{
	bt.nr_cpu_ctxs = num_possible_cpus();
	bt.nr_ctxs = bt.nr_cpu_ctxs + nr_threaded + nr_manual;
	bt.nr_prods = nr_cpu_ids * BT_NR_KINDS + bt.nr_ctxs;
	bt.counters = alloc_percpu(struct bt_counters);
	bt.hp_gen = kcalloc(nr_cpu_ids, sizeof(*bt.hp_gen), GFP_KERNEL);
	bt.cpu_bc = kcalloc(nr_cpu_ids, sizeof(*bt.cpu_bc), GFP_KERNEL);
	bt.ctxs = kcalloc(bt.nr_ctxs, sizeof(*bt.ctxs), GFP_KERNEL);
	bt.prods = kcalloc(bt.nr_prods, sizeof(*bt.prods), GFP_KERNEL);
	if (!bt.counters || !bt.hp_gen || !bt.cpu_bc || !bt.ctxs || !bt.prods)
		return -ENOMEM;
	return 0;
}

static struct task_struct *bt_kthread(int (*fn)(void *), void *arg,
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
static int bt_create_producers(void)
{
	unsigned int cpu;
	char name[24];

	for_each_possible_cpu(cpu) {
		struct bt_producer *p = bt_cpu_prod(cpu, BT_KTHREAD);

		snprintf(name, sizeof(name), "bhqt-p/%u", cpu);
		p->task = bt_kthread(bt_kthread_fn, p, name);
		if (!p->task)
			return -ENOMEM;
		if (cpu_online(cpu))
			kthread_bind(p->task, cpu);
		atomic_set(&bt.hp_gen[cpu], cpu_online(cpu) ? 0 : 1);
	}
	return 0;
}

static int bt_create_threads(void)
{
	unsigned int i;

	for (i = 0; i < bt.nr_ctxs; i++) {
		struct bt_ctx *bc = &bt.ctxs[i];

		if (!bc->manual)
			continue;
		bc->poll_task = bt_kthread(bt_manual_fn, bc, bc->name);
		if (!bc->poll_task)
			return -ENOMEM;
		bc->poller = bc->poll_task;
	}
	bt.probe_task = bt_kthread(bt_probe_thread, NULL, "bhqt-probe");
	bt.control = bt_kthread(bt_control_fn, NULL, "bhqt-control");
	return bt.probe_task && bt.control ? 0 : -ENOMEM;
}

/*
 * Under the hotplug lock: bind the producers, set the generations, set up
 * our hotplug state, start each online CPU's timers on that CPU (those of
 * offline CPUs here; they move home when their CPU comes online).
 */
static int bt_start_cpus(void)
{
	unsigned int cpu;
	int ret;

	cpus_read_lock();
	ret = bt_create_producers();
	if (ret)
		goto out;
	ret = cpuhp_setup_state_nocalls_cpuslocked(CPUHP_AP_ONLINE_DYN,
						   "bhq_torture:online",
						   bt_cpu_online, bt_cpu_offline);
	if (ret < 0)
		goto out;
	bt.cpuhp_state = ret;
	ret = 0;
	for_each_possible_cpu(cpu) {
		if (cpu_online(cpu))
			smp_call_function_single(cpu, bt_timers_home_ipi, NULL, 1);
		else
			bt_timers_home(cpu, false);
	}
out:
	cpus_read_unlock();
	return ret;
}

static void bt_wake_threads(void)
{
	unsigned int i;

	for (i = 0; i < bt.nr_prods; i++) {
		if (bt.prods[i].task)
			wake_up_process(bt.prods[i].task);
	}
	for (i = 0; i < bt.nr_ctxs; i++) {
		if (bt.ctxs[i].poll_task)
			wake_up_process(bt.ctxs[i].poll_task);
	}
	wake_up_process(bt.probe_task);
	wake_up_process(bt.control);
}

/* Frees what is left; a stuck context's BHs and the context are leaked. */
static void bt_free(void)
{
	unsigned int i, j, n = 2 * bt.nr_ctxs * nr_bhs;

	bt_tp_exit();
	for (i = 0; bt.prods && i < bt.nr_prods; i++) {
		struct bt_producer *p = &bt.prods[i];

		for (j = 0; p->slots && j < n; j++) {
			if (p->slots[j] && !p->slots[j]->bc->stuck)
				kfree(p->slots[j]);
		}
		kfree(p->slots);
		kfree(p->stamps);
	}
	for (i = 0; bt.ctxs && i < bt.nr_ctxs; i++)
		kfree(bt.ctxs[i].last_stamp);
	kfree(bt.prods);
	kfree(bt.ctxs);
	kfree(bt.cpu_bc);
	kfree(bt.hp_gen);
	free_percpu(bt.counters);
	lt_free();
}

/* Undo a failed load: nothing ran yet, so there is nothing to check. */
static void bt_abort(void)
{
	unsigned int i;

	WRITE_ONCE(bt.stopping, true);
	if (bt.control)
		kthread_stop(bt.control);
	lt_stop();
	bt_stop_producers();
	bt_stop_manual_pollers();
	if (bt.ctxs) {
		bt_delete_all();
		for (i = 0; i < bt.nr_ctxs; i++) {
			if (bt.ctxs[i].ctx)
				bt_reap(&bt.ctxs[i]);
		}
		for (i = 0; i < bt.nr_ctxs; i++) {
			if (bt.ctxs[i].owned && bt.ctxs[i].ctx)
				bhq_ctx_destroy(bt.ctxs[i].ctx);
		}
	}
	if (bt.probe_ctx)
		bt_destroy_probe();
	bt_free();
}

static int __init bt_init(void)
{
	int err;

	err = bt_check_params();
	if (err)
		return err;
	err = bt_alloc();
	err = err ?: bt_ctxs_init();
	if (!err)
		bt_tp_init();
	err = err ?: bt_prods_init();
	err = err ?: bt_probe_init();
	err = err ?: bt_create_threads();
	err = err ?: bt_start_cpus();
	err = err ?: lt_init();
	if (err) {
		bt_abort();
		return err;
	}
	bt.start = jiffies;
	bt_debugfs_init();
	bt_wake_threads();
	lt_start();
	pr_info("started: %u contexts (%u per-CPU, %u threaded, %u manual), %u producers per CPU, %u BHs each per context, %s\n",
		bt.nr_ctxs, bt.nr_cpu_ctxs, nr_threaded, nr_manual,
		1 + irq_producers + softirq_producers, 2 * nr_bhs,
		seconds ? "timed" : "until rmmod");
	return 0;
}

static void __exit bt_exit(void)
{
	debugfs_remove_recursive(bt.dir);
	kthread_stop(bt.control);
	/* The control thread never ran if rmmod came first. */
	if (READ_ONCE(bt.status) < BT_SUCCESS)
		bt_shutdown();
	pr_alert("End of test: %s (seconds=%lu ops=%llu scheduled=%llu runs=%llu checks=%llu violations=%lu hotplug=%llu)\n",
		 bt_status_names[bt.status], bt.elapsed, bt_total_ops(),
		 bt_sum(BT_SCHEDULED), bt_sum(BT_RUNS), bt_total_checks(),
		 bt_nr_violations(),
		 bt_sum(BT_HP_ONLINE) + bt_sum(BT_HP_OFFLINE));
	bt_free();
}

module_init(bt_init);
module_exit(bt_exit);

MODULE_DESCRIPTION("bhq torture test: concurrent BH life cycles, checked");
MODULE_LICENSE("GPL");
