#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The report of a bhq_bench run: tables, CSV files and plot data.

scripts/bench.sh runs bench/bhq_bench.ko in a guest, keeps the lines of
its results file (the format is described in bench/bhq_bench.h) and runs

    scripts/bench_report.py RAW OUT PLOT

RAW is the file of those lines.  The report first checks that every
benchmark that ran gave all its figures, and sane ones: none missing,
zero (but for the counts that may be zero) or absurd, percentiles and
latency distributions in order, the polling window's samples complete
and within their bounds; no timing is ever compared with a threshold.
If one is not sane, it prints
one "bench: <problem>" line per problem and exits with status 1, having
written nothing.  Otherwise it writes into the directory OUT:

    table.txt    every table, as text
    summary.md   the same in markdown, for the README
    summary.rst  the same in reStructuredText, which
                 Documentation/performance.rst includes
    results.csv  every figure
    cdf.csv      the latency distributions
    poll_window.csv  the polling window over a changing load

and into the directory PLOT the data files of bench/plot.gp and
plot.vars, the variables to pass to gnuplot with -e.

What the report says about the run (command, revision, date, host,
guest) comes from the BENCH_* environment variables that scripts/bench.sh
exports.  Python 3 standard library only.
"""

import argparse
import collections
import math
import os
import re
import sys

# Mechanisms in each table, bh_workqueue dropped when the guest lacks it.
# bhq: a per-CPU context with polling off; bhq_poll: the same with
# polling on (windows up to POLL_MAX_NS).
SAME = ["bhq", "bhq_poll", "bhq_manual", "kthread_worker", "workqueue", "bh_workqueue",
        "irq_work", "llist_floor"]
CROSS = ["bhq", "bhq_poll", "kthread_worker", "workqueue", "bh_workqueue"]
LAT_SAME = ["bhq", "bhq_poll", "kthread_worker", "workqueue", "bh_workqueue", "irq_work"]
# The mechanisms with a consumer thread of their own, whose CPU time is
# measured.
OWN_THREAD = ["bhq", "bhq_poll", "kthread_worker"]
# The batch sizes of throughput, the percentiles of latency, the
# scenarios of wakeups (the paced ones across CPUs only).
KS = [1, 16, 256]
PCTS = ["p50", "p99", "p99.9"]
WAKE = ["trickle", "burst=8", "burst=64"]
WAKE_PACED = ["trickle/10us", "burst=8/10us"]
# The polling benchmark: the windows (BENCH_POLL_MAX_NS, QEMU's default,
# and BHQ_POLL_MAX_NS_LIMIT), its mechanisms, the figures of the idle
# second and the phases of the window's load.
POLL_MAX_NS = 32768
POLL_WINDOWS = [POLL_MAX_NS, 1000000]
IDLE_MECHS = ["bhq", "bhq_poll", "bhq_poll_1ms"]
IDLE = ["window_ns", "cpu_ns", "cpu_ns_after_1ms", "spin_ns", "spin_ns_after_1ms"]
PHASES = ["trickle", "bursts", "silence"]
# Counts that are zero when polling works, or when it is off.
ZERO_OK = ["sleeps_per_item", "wake_calls_per_item", "spin_per_item"]
# The figures of the complexity benchmark: (benchmark, mechanism).
CX = [("poll", "bhq"), ("poll", "qemu2019_model"), ("timeout_nonidle", "bhq"),
      ("timeout_nonidle", "qemu_model"), ("timeout_idle", "bhq"), ("timeout_idle", "qemu_model")]
PROFILE = ["loop", "this_cpu_inc", "atomic_inc", "atomic_xchg", "atomic_cmpxchg",
           "atomic_fetch_or", "smp_mb", "local_irq_save_restore", "raw_spin_lock_irqsave_unlock",
           "indirect_call", "ktime_get_ns", "llist_floor_add_del_call", "bhq_schedule_pending_bh",
           "bhq_poll_nothing_pending", "bhq_schedule_then_poll", "bhq_compute_timeout",
           "llist_floor_batch16_per_item", "bhq_batch16_per_bh"]
STRUCTS = ["bhq_bh", "work_struct", "kthread_work", "irq_work", "tasklet_struct"]
CTXMEM = ["struct", "kmalloc", "percpu", "stack", "task_struct", "total"]
# The values of N of the complexity benchmark, up to the run's max_n.
ALL_NS = [1, 100, 1000, 10000, 100000, 1000000]
# Far beyond anything a working run gives, even on a loaded host.
LIMIT = {"ns": 1e10, "per_s": 1e11, "count": 1000, "bytes": 1e8}
# The directory of the results as summary.rst names it: relative to
# Documentation/, since Sphinx takes the paths of an included file as
# relative to the document that includes it (Documentation/performance.rst).
RST_DIR = "../bench/results/"

Section = collections.namedtuple("Section", "title notes head body after left plot")


def section(title, notes, head=None, body=None, after=(), left=1, plot=None):
    """A section of the report: a title, lines of notes, a table, lines
    after it, and a plot of bench/plot.gp: (file without .png, what it
    shows).  The first `left` columns of the table are text, the others
    figures."""
    return Section(title, list(notes), head, body, list(after), left, plot)


class Run:
    """The figures of one run, and which benchmarks it ran."""

    def __init__(self, info, rows, cdf, window, status):
        self.info = info
        self.rows = rows
        self.cdf = cdf
        self.window = window
        self.status = status
        self.figs = {(r["bench"], r["mech"], r["param"], r["metric"]): r for r in rows}
        self.same, self.cross_mechs, self.lat_same = SAME, CROSS, LAT_SAME
        if info.get("bh_workqueue", "").startswith("unavailable"):
            self.same, self.cross_mechs, self.lat_same = [
                [m for m in x if m != "bh_workqueue"] for x in (SAME, CROSS, LAT_SAME)]
        max_n = int(info.get("max_n", "0"))
        self.ns = [n for n in ALL_NS if n <= max_n]
        self.cross = int(info.get("cpu_b", "-1")) >= 0
        self.only = info.get("only", "all")
        self.wake_bench = "wake_cross" if self.cross else "wake_same"
        self.wake = WAKE + (WAKE_PACED if self.cross else [])
        self.idle_param = "silence=%sms" % info.get("idle_ms", "?")
        # The polling benchmark needs two CPUs.
        self.polling = self.ran("polling") and self.cross

    def ran(self, bench):
        """Whether the benchmark `bench` was selected by only=."""
        return self.only == "all" or bench in self.only.split(",")

    def med(self, key):
        """The median of a figure, None if the run did not give it."""
        r = self.figs.get(key)
        return r["med"] if r else None

    def fig(self, key, scale=1.0):
        """A figure for a table: its median and its spread."""
        r = self.figs.get(key)
        if not r:
            return "-"
        spread = (r["max"] - r["min"]) / 2 / r["med"] * 100 if r["med"] else 0
        return "%s ±%.0f%%" % (sig(r["med"] * scale), spread)


def read_raw(path):
    """Parse the lines of bhq_bench's results file into a Run."""
    info, rows, cdf, status = {}, [], collections.defaultdict(list), None
    window = collections.defaultdict(list)
    for line in open(path):
        f = line.rstrip("\n").split(",")
        if f[0] == "info" and len(f) >= 3:
            info[f[1]] = ",".join(f[2:])
        elif f[0] == "csv" and len(f) == 9:
            rows.append(dict(bench=f[1], mech=f[2], param=f[3], metric=f[4], med=float(f[5]),
                             min=float(f[6]), max=float(f[7]), unit=f[8], raw=f[1:]))
        elif f[0] == "cdf" and len(f) == 5:
            cdf[(f[1], f[2])].append((int(f[3]), float(f[4])))
        elif f[0] == "window" and len(f) == 8:
            window[int(f[1])].append(dict(us=int(f[2]), phase=f[3], ns=int(f[4]),
                                          max_ns=int(f[5]), changes=int(f[6]),
                                          spin_ns=int(f[7])))
        elif f[0] == "status":
            status = f[1]
    return Run(info, rows, cdf, window, status)


def lat_benches(run):
    """The latency benchmarks that ran: (benchmark, its mechanisms)."""
    return [("lat_same", run.lat_same)] + \
        ([("lat_cross", run.cross_mechs), ("lat_cross_10us", run.cross_mechs)] if run.cross else [])


def expected_figures(run):
    """The keys of every figure that the benchmarks run must have given."""
    expect = []
    if run.ran("complexity"):
        expect += [(b, m, "N=%d" % n, "cost") for n in run.ns for b, m in CX]
    if run.ran("throughput"):
        for b, p in tput_scenarios(run):
            expect += [(b, m, p, "rate") for m in (run.same if b == "tput_same" else
                                                    run.cross_mechs)]
            expect += [(b, m, p, "cpu_per_item") for m in OWN_THREAD]
            expect += [(b, "bhq_poll", p, "spin_per_item")]
    if run.ran("latency"):
        expect += [(b, m, p, "latency") for b, mechs in lat_benches(run) for m in mechs
                   for p in PCTS]
    if run.ran("wakeups"):
        for sc in run.wake:
            expect += [(run.wake_bench, m, sc, x) for m in OWN_THREAD
                       for x in ["sleeps_per_item", "cpu_per_item"]]
            expect += [(run.wake_bench, m, sc, "wake_calls_per_item") for m in ["bhq", "bhq_poll"]]
            expect += [(run.wake_bench, "bhq_poll", sc, "spin_per_item")]
    if run.polling:
        expect += [("idle", m, run.idle_param, x) for m in IDLE_MECHS for x in IDLE]
    if run.ran("memory"):
        expect += [("memory", s, "sizeof", "size") for s in STRUCTS]
        expect += [("memory", "QEMUBH", "qemu_x86_64", "size")]
        expect += [("ctx_memory", m, p, "size") for m in ["bhq", "kthread_worker"] for p in CTXMEM]
    if run.ran("profile"):
        expect += [("profile", p, "-", "cost") for p in PROFILE]
    return expect


def check(run):
    """Every benchmark ran, with sane figures (no timing thresholds).

    Return: the problems found, as lines of text.
    """
    errors = []
    if run.status != "ok":
        errors.append('no "status,ok" line: the module did not finish')
    for k in expected_figures(run):
        if k not in run.figs:
            errors.append("missing figure: %s" % ",".join(k))
    for r in run.rows:
        name = ",".join(r["raw"][:4])
        # The idle figures are those of a thread that should not run.
        zero_ok = (r["bench"] == "ctx_memory" and r["param"] == "percpu") or \
            r["bench"] == "idle" or r["metric"] in ZERO_OK
        if not (r["min"] <= r["med"] <= r["max"]):
            errors.append("%s: median %g outside [%g, %g]" % (name, r["med"], r["min"], r["max"]))
        if r["min"] < 0 or (r["min"] == 0 and not zero_ok):
            errors.append("%s: zero figure (min %g)" % (name, r["min"]))
        if r["max"] >= LIMIT.get(r["unit"], 0):
            errors.append("%s: absurd figure %g %s" % (name, r["max"], r["unit"]))
    if run.polling:
        errors += check_polling(run)
    if not run.ran("latency"):
        return errors
    for side, mechs in lat_benches(run):
        for m in mechs:
            p = [run.figs.get((side, m, q, "latency"), {}).get("med", 0) for q in PCTS]
            if not p[0] <= p[1] <= p[2]:
                errors.append("%s,%s: percentiles out of order: %s" % (side, m, p))
            pts = sorted(run.cdf.get((side, m), []))
            if not pts or pts[0][0] != 0 or pts[-1][0] != 10000:
                errors.append("%s,%s: no latency distribution" % (side, m))
            elif any(b[1] < a[1] for a, b in zip(pts, pts[1:])):
                errors.append("%s,%s: latency distribution not monotonic" % (side, m))
    return errors


def check_polling(run):
    """The idle figures bounded as they must be, and the window's samples
    complete: every phase of each window, in time order, every window
    within its bounds.  Return: the problems found."""
    errors = []
    limit = dict(zip(IDLE_MECHS, [0] + POLL_WINDOWS))
    for m in IDLE_MECHS:
        r = {x: run.figs.get(("idle", m, run.idle_param, x)) for x in IDLE}
        if None in r.values():
            continue
        for part, whole in [("cpu_ns_after_1ms", "cpu_ns"), ("spin_ns_after_1ms", "spin_ns")]:
            if any(r[part][k] > r[whole][k] for k in ["min", "med", "max"]):
                errors.append("idle,%s: %s above %s" % (m, part, whole))
        if r["window_ns"]["max"] > limit[m]:
            errors.append("idle,%s: window %g ns above its largest, %d" %
                          (m, r["window_ns"]["max"], limit[m]))
    if run.figs.get(("idle", "bhq", run.idle_param, "spin_ns"), {}).get("max"):
        errors.append("idle,bhq: polled with polling off")
    for w in POLL_WINDOWS:
        pts = run.window.get(w, [])
        missing = [p for p in PHASES if p not in {x["phase"] for x in pts}]
        if missing:
            errors.append("window,%d: no samples of %s" % (w, ", ".join(missing)))
        if any(b["us"] <= a["us"] for a, b in zip(pts, pts[1:])):
            errors.append("window,%d: samples out of time order" % w)
        if any(x["phase"] not in PHASES or not 0 <= x["ns"] <= w or not 0 <= x["max_ns"] <= w or
               x["changes"] < 0 for x in pts):
            errors.append("window,%d: a sample out of its bounds" % w)
    return errors


def write_csv(run, out):
    """results.csv, every figure, cdf.csv, the latency distributions, and
    poll_window.csv, the polling window's samples."""
    with open(os.path.join(out, "results.csv"), "w") as f:
        f.write("benchmark,mechanism,param,metric,median,min,max,unit\n")
        for r in run.rows:
            f.write(",".join(r["raw"]) + "\n")
    with open(os.path.join(out, "cdf.csv"), "w") as f:
        f.write("benchmark,mechanism,quantile,ns\n")
        for (b, m), pts in sorted(run.cdf.items()):
            for q, v in sorted(pts):
                f.write("%s,%s,%g,%d\n" % (b, m, q / 10000, v))
    with open(os.path.join(out, "poll_window.csv"), "w") as f:
        f.write("max_ns,time_us,phase,window_ns,max_window_ns,changes,spin_ns\n")
        for w, pts in sorted(run.window.items()):
            for x in pts:
                f.write("%d,%d,%s,%d,%d,%d,%d\n" % (w, x["us"], x["phase"], x["ns"], x["max_ns"],
                                                   x["changes"], x["spin_ns"]))


# ---- formatting ----

def sig(x):
    """`x` with three significant digits, or none after the point from 100."""
    if x == 0:
        return "0"
    for lim, fmt in [(100, "%.0f"), (10, "%.1f"), (1, "%.2f")]:
        if abs(x) >= lim:
            return fmt % x
    return "%.3g" % x


def ratio(a, b):
    """`a` / `b`, or None if either is missing (or `b` is zero)."""
    return a / b if a is not None and b else None


def rx(x):
    """A ratio for a table."""
    return "-" if x is None else sig(x) + "x"


def txt_table(head, body, left):
    """A table as lines of text, its first `left` columns left-aligned."""
    w = [max(len(str(row[i])) for row in [head] + body) for i in range(len(head))]

    def fmt(row):
        return "  ".join(str(c).ljust(w[i]) if i < left else str(c).rjust(w[i])
                         for i, c in enumerate(row)).rstrip()

    return [fmt(head), fmt(["-" * x for x in w])] + [fmt(row) for row in body]


def md_table(head, body, left):
    """A table in markdown, its first `left` columns left-aligned."""
    def row(r):
        return "| " + " | ".join(str(c) for c in r) + " |"

    rule = [" --- "] * left + [" ---: "] * (len(head) - left)
    return [row(head), "|" + "|".join(rule) + "|"] + [row(r) for r in body]


def rst_text(s):
    """`s` in reStructuredText: its `code` spans as literals, and no other
    character taken as markup."""
    parts = str(s).split("`")
    return "".join("``%s``" % p if i % 2 else re.sub(r"[\\*`|]|_(?!\w)", r"\\\g<0>", p)
                   for i, p in enumerate(parts))


def rst_table(head, body):
    """A table in reStructuredText, a list-table.  A cell that would begin
    a list or a comment ("-", "1. ...", "..") is escaped."""
    def cell(c):
        t = rst_text(c)
        return "\\" + t if re.match(r"([-+*]|\d+[.)]|#[.)]|\.\.)(\s|$)", t) else t

    lines = [".. list-table::", "   :header-rows: 1", "   :widths: auto", ""]
    for row in [head] + body:
        lines += [("   * - " if i == 0 else "     - ") + cell(c) for i, c in enumerate(row)]
    return [line.rstrip() for line in lines]


# ---- the sections of the report ----

def machine_lines(run, env):
    """What ran, where and how: the lines at the top of the report."""
    span = env.get("BENCH_SPAN", "").split()
    return [
        "command: `%s` (bhq %s, %s; %s s in all%s)" % (
            env["BENCH_CMD"], env["BENCH_REV"], env["BENCH_DATE"], env["BENCH_SECONDS"],
            ", the benchmarks from %ss to %ss of guest uptime" % tuple(span)
            if len(span) == 2 else ""),
        "host: %s, %s cores, Linux %s; load average %s before, %s after" % (
            env["BENCH_HOST_CPU"], env["BENCH_HOST_CORES"], env["BENCH_HOST_KERNEL"],
            env["BENCH_LOAD0"], env["BENCH_LOAD1"]),
        "guest: %s; %s, -accel tcg -smp %s; producer CPU %s, consumer CPU %s" % (
            env["BENCH_GUEST"], env["BENCH_QEMU"], env["BENCH_CPUS"], run.info.get("cpu_a"),
            run.info.get("cpu_b") if run.cross else "none (one CPU: no cross-CPU benchmarks)"),
        "figures: median of %s repetitions; ±: half their range (max - min) relative to the "
        "median; ratios are between medians of this one boot.  TCG emulates every instruction, "
        "a locked one or a call far more slowly than a plain one: absolute figures are not "
        "those of hardware, compare the ratios." % run.info.get("reps", "?"),
    ]


def complexity_section(run):
    ns = run.ns
    label = {("poll", "bhq"): "poll: bhq_poll()",
             ("poll", "qemu2019_model"): "poll: model of QEMU <= 4.2 (walks every BH)",
             ("timeout_nonidle", "bhq"): "timeout: bhq, one non-idle among idle",
             ("timeout_nonidle", "qemu_model"):
                 "timeout: model of QEMU >= 5.0, one non-idle (met last)",
             ("timeout_idle", "bhq"): "timeout: bhq, all idle",
             ("timeout_idle", "qemu_model"): "timeout: model of QEMU >= 5.0, all idle"}
    head = ["ns per operation"] + ["N=%d" % n for n in ns] + ["N=%d / N=1" % ns[-1]]
    body = [[label[(b, m)]] + [run.fig((b, m, "N=%d" % n, "cost")) for n in ns] +
            [rx(ratio(run.med((b, m, "N=%d" % ns[-1], "cost")), run.med((b, m, "N=1", "cost"))))]
            for b, m in CX]
    return section("1. Complexity: ns per operation against N",
                   ["poll: one BH scheduled and polled while N BHs exist; timeout: N BHs pending.",
                    "Each repetition: the fastest of 20 chunks of the loop."], head, body,
                   plot=("complexity",
                         "ns per operation against N, log-log, for bhq and the models of QEMU"))


def tput_scenarios(run):
    """The rows of the throughput table: (benchmark, param)."""
    scen = [("tput_same", "self")] + [("tput_same", "K=%d" % k) for k in KS]
    if run.cross:
        scen += [("tput_cross", "K=%d" % k) for k in KS]
    return scen


def manual_and_floor(run):
    """The self rates of bhq_manual and of llist_floor."""
    return (run.med(("tput_same", "bhq_manual", "self", "rate")),
            run.med(("tput_same", "llist_floor", "self", "rate")))


def throughput_section(run):
    ratios = [("bhq", "kthread_worker"), ("bhq_poll", "kthread_worker"), ("bhq", "workqueue")]
    head = ["thousands per second"] + run.same + ["%s / %s" % r for r in ratios]
    body = [[("same CPU " if b == "tput_same" else "cross-CPU ") + p] +
            [run.fig((b, m, p, "rate"), 1e-3) for m in run.same] +
            [rx(ratio(run.med((b, x, p, "rate")), run.med((b, y, p, "rate")))) for x, y in ratios]
            for b, p in tput_scenarios(run)]
    manual, floor = manual_and_floor(run)
    after = []
    if manual and floor:
        after = ["Manual context against the floor (self): bhq_manual %s ns per schedule+poll, "
                 "llist_floor %s ns: %s." % (sig(1e9 / manual), sig(1e9 / floor),
                                             rx(floor / manual))]
    return section("2. Throughput: thousands of dispatches per second",
                   ["self: one item re-queues itself from its callback; K=n: n distinct items "
                    "queued, then waited for; same: the consumer on the producer's CPU, cross: on "
                    "another CPU.",
                    "bhq: a per-CPU context, polling off; bhq_poll: the same context with polling "
                    "on (windows up to %d ns, QEMU's default)." % POLL_MAX_NS,
                    "Each repetition: the median rate of its chains or windows of 16 rounds."],
                   head, body, after,
                   plot=("throughput", "thousands of dispatches per second for each mechanism"))


def lat_ratio(run, bench, m, pct):
    """The `pct` latency of `m` over kthread_worker's, in `bench`."""
    return ratio(run.med((bench, m, pct, "latency")),
                 run.med((bench, "kthread_worker", pct, "latency")))


def p99_ratios(run):
    """bhq p99 / kthread_worker p99 latency, on the same CPU and cross-CPU."""
    return lat_ratio(run, "lat_same", "bhq", "p99"), lat_ratio(run, "lat_cross", "bhq", "p99")


LAT_LABEL = {"lat_same": "same", "lat_cross": "cross", "lat_cross_10us": "cross 10 µs"}


def latency_section(run):
    benches = lat_benches(run)
    head = ["µs"] + ["%s %s" % (LAT_LABEL[b], p) for b, _ in benches for p in PCTS]
    body = [[m] + [run.fig((b, m, p, "latency"), 1e-3) if m in mechs else "-"
                   for b, mechs in benches for p in PCTS] for m in run.lat_same]
    same, cross = p99_ratios(run)
    after = ["bhq p99 / kthread_worker p99: same CPU %s, cross-CPU %s." % (rx(same), rx(cross))]
    if run.cross:
        after += ["bhq_poll p50 / kthread_worker p50, cross-CPU: %s; with 10 µs gaps: %s "
                  "(bhq: %s, %s)." % tuple(rx(lat_ratio(run, b, m, "p50"))
                                           for m in ["bhq_poll", "bhq"]
                                           for b in ["lat_cross", "lat_cross_10us"])]
    return section("3. Latency: schedule to callback start, µs",
                   ["One item at a time.  same, cross: the consumer asleep (a pause of 50-100 µs "
                    "between samples); cross 10 µs: the producer spins until the callback ran, "
                    "then 10 µs more, so that the consumer has been idle for less than a polling "
                    "window.  Percentiles of %s samples per repetition." %
                    run.info.get("samples", "?")],
                   head, body, after,
                   plot=("latency_cdf",
                         "cumulative distribution of the latency for each mechanism"))


def wakeups_section(run):
    wb = run.wake_bench
    cols = [("bhq", "sleeps_per_item"), ("bhq", "wake_calls_per_item"),
            ("bhq_poll", "sleeps_per_item"), ("bhq_poll", "wake_calls_per_item"),
            ("kthread_worker", "sleeps_per_item")]
    head = ["per item"] + ["%s %s" % (m, "sleeps" if x.startswith("sleeps") else "wake calls")
                           for m, x in cols]
    body = [[sc] + [run.fig((wb, m, sc, x)) for m, x in cols] for sc in run.wake]
    return section("4. Wakeups per dispatched item, consumer on CPU %s" %
                   run.info.get("cpu_b" if run.cross else "cpu_a"),
                   ["trickle: one item, then 200 µs; burst=n: n items back to back, then 1 ms; "
                    "the producer sleeps in the pauses and waits for each burst." +
                    (" trickle/10us, burst=8/10us: the same paced by a producer that spins 10 µs "
                     "after each item or burst and does not wait for them." if run.cross else ""),
                    "sleeps: the consumer thread's voluntary context switches (each ended by one "
                    "wakeup); wake calls: bhq's own count of schedules whose wake_up_process() "
                    "woke its thread."],
                   head, body)


def polling_sections(run):
    """The gain of polling next to its price, the idle second, the window."""
    secs = []
    us = 1e-3
    if run.ran("throughput") or run.ran("wakeups"):
        rows = []
        if run.ran("throughput"):
            rows += [(b, p, "rate", "%s %s, k/s" % ("same" if b == "tput_same" else "cross", p))
                     for b, p in tput_scenarios(run) if p != "self"]
        if run.ran("wakeups"):
            rows += [(run.wake_bench, sc, "sleeps_per_item", "%s, sleeps/item" % sc)
                     for sc in run.wake]
        body = []
        trio = ["kthread_worker", "bhq", "bhq_poll"]
        for b, p, metric, label in rows:
            scale = 1e-3 if metric == "rate" else 1
            body.append([label] + [run.fig((b, m, p, metric), scale) for m in trio] +
                        [rx(ratio(run.med((b, "bhq_poll", p, metric)),
                                  run.med((b, "bhq", p, metric))))] +
                        [run.fig((b, m, p, "cpu_per_item"), us) for m in trio] +
                        [run.fig((b, "bhq_poll", p, "spin_per_item"), us)])
        secs.append(section(
            "7. Polling: the gain and its price",
            ["bhq_poll is bhq's per-CPU context with bhq_ctx_set_polling(ctx, %d, 0, 0): when "
             "its thread runs out of work it polls for up to its window, which adapts between 0 "
             "and %d ns, before it sleeps.  Next to each figure of sections 2 and 4 (the same "
             "runs): the CPU time the consumer thread ran for per item (scheduler runtime; under "
             "TCG it also counts the time the host took the vCPU away), and the time bhq_poll's "
             "thread polled per item (its spin_ns counter)." % (POLL_MAX_NS, POLL_MAX_NS)],
            ["load", "kthread_worker", "bhq", "bhq_poll", "bhq_poll / bhq",
             "CPU µs/item kthread_worker", "CPU µs/item bhq", "CPU µs/item bhq_poll",
             "polled µs/item bhq_poll"], body))
    if not run.polling:
        return secs
    label = {"bhq": "bhq, polling off", "bhq_poll": "bhq_poll, up to %d ns" % POLL_MAX_NS,
             "bhq_poll_1ms": "bhq_poll_1ms, up to 1 ms"}

    def worst(m, x):
        """Median and largest: most of these medians are 0."""
        r = run.figs.get(("idle", m, run.idle_param, x))
        scale = 1 if x == "window_ns" else us
        return "%s (max %s)" % (sig(r["med"] * scale), sig(r["max"] * scale)) if r else "-"

    body = [[label[m]] + [worst(m, x) for x in IDLE] for m in IDLE_MECHS]
    info = run.info.get
    secs.append(section(
        "", ["The silence after a burst: a trickle (one item every %s µs for 20 ms), a burst of "
             "%s, then %s ms without work, on CPU %s's context.  bhq_poll_1ms has the largest "
             "window bhq allows (1 ms), which, unlike %d ns, is longer than a wakeup under TCG.  "
             "CPU: the thread's scheduler runtime over the silence, and over the silence after "
             "its first ms; polled: its spin_ns counter over the same spans; each the median "
             "and the largest of the repetitions.  A thread whose window is 0 when the silence "
             "begins sleeps at once.  The runtime read when the silence begins leaves out the "
             "thread's run since the scheduler last accounted it (up to a tick): a thread that "
             "polled through the trickle did not sleep, so CPU over the silence may include "
             "some of its work before it; after the first ms the thread sleeps and the figure "
             "is exact." %
             (info("poll_trickle_us"), info("poll_burst"), info("idle_ms"), info("cpu_b"),
              POLL_MAX_NS)],
        ["silence after a burst", "window at its start, ns", "CPU µs", "CPU µs after 1 ms",
         "polled µs", "polled µs after 1 ms"], body))
    body = []
    for w in POLL_WINDOWS:
        for ph in PHASES:
            st = window_phase_stats(run.window.get(w, []), ph)
            body.append(["up to %s ns" % w, ph] + (
                ["%.0f" % st["mean"], "%d" % st["max"], sig(st["changes"]),
                 "%.2f%%" % (st["polled"] * 100)] if st else ["-"] * 4))
    secs.append(section(
        "", ["The window over a changing load, on CPU %s's context, in %s rounds of 3 phases of "
             "%s ms: trickle, one item every %s µs; bursts, %s items every %s µs; silence.  "
             "About 100 samples per phase (poll_window.csv): the window then, the largest in "
             "force since the last sample and its changes (bhq_poll_window tracepoint), and the "
             "time the thread polled.  The figures below add up the samples of each phase." %
             (info("cpu_b"), info("poll_rounds"), info("poll_phase_ms"), info("poll_trickle_us"),
              info("poll_burst"), info("poll_burst_gap_us"))],
        ["window", "phase", "mean window, ns", "largest, ns", "changes per s", "time polled"],
        body, left=2,
        plot=("poll_window", "the polling window and the share of time polled over trickle, "
              "bursts and silence")))
    return secs


def window_phase_stats(pts, phase):
    """The samples of `phase` added up: the window's mean over time, the
    largest in force, its changes per second and the share of the time
    polled; None without samples.  A sample stands for the time since the
    one before."""
    span = mean = largest = changes = polled = 0
    for a, b in zip(pts, pts[1:]):
        if b["phase"] != phase:
            continue
        d = b["us"] - a["us"]
        span += d
        mean += b["ns"] * d
        largest = max(largest, b["max_ns"])
        changes += b["changes"]
        polled += b["spin_ns"]
    if not span:
        return None
    return dict(mean=mean / span, max=largest, changes=changes / span * 1e6,
                polled=polled / (span * 1e3))


def memory_sections(run):
    def size(key):
        return "%d" % run.med(key) if run.med(key) is not None else "-"

    head = ["bytes"] + STRUCTS + ["QEMUBH (QEMU, x86-64)"]
    body = [["sizeof"] + [size(("memory", s, "sizeof", "size")) for s in STRUCTS] +
            [size(("memory", "QEMUBH", "qemu_x86_64", "size"))]]
    structs = section("5. Memory, bytes",
                      ["A deferred call; bhq_bh_new() also takes an xarray slot, about %s bytes "
                       "per BH." % size(("memory", "bhq_bh", "xarray_slot", "size"))],
                      head, body)
    head = ["per context"] + CTXMEM
    body = [[m] + [size(("ctx_memory", m, p, "size")) for p in CTXMEM]
            for m in ["bhq", "kthread_worker"]]
    contexts = section("", ["One context: kmalloc is the struct's kmalloc bucket, percpu bhq's "
                            "counters on every possible CPU, stack and task_struct its kthread's "
                            "(task_struct without the FPU state)."], head, body)
    return [structs, contexts]


def profile_section(run):
    body = [[p, run.fig(("profile", p, "-", "cost"))] for p in PROFILE]

    def cost(p):
        return run.med(("profile", p, "-", "cost"))

    return section("6. Profile: ns per operation on this machine",
                   ["A loop of the operation, loop overhead included; each repetition the "
                    "fastest of 20 chunks.  The batch rows: per item of batches of 16 "
                    "queued, then dequeued at once (the floor) or polled once (bhq, a manual "
                    "context)."], ["operation", "ns"], body,
                   ["bhq against the floor: one schedule+poll %s, in batches of 16 %s per item."
                    % (rx(ratio(cost("bhq_schedule_then_poll"), cost("llist_floor_add_del_call"))),
                       rx(ratio(cost("bhq_batch16_per_bh"), cost("llist_floor_batch16_per_item"))))])


def targets(run):
    """The targets of the benchmark issue and of the polling issue: rows of
    [verdict, issue, text].  A target that both ask for is listed once."""
    rows = []

    def target(ok, issue, text):
        rows.append(["n/a" if ok is None else ("met" if ok else "MISSED"), issue, text])

    if run.ran("complexity") and run.ns:
        big = run.ns[-1]
        for bn, what in [("poll", "bhq_poll()"), ("timeout_nonidle", "bhq timeout, one non-idle"),
                         ("timeout_idle", "bhq timeout, all idle")]:
            x = ratio(run.med((bn, "bhq", "N=%d" % big, "cost")),
                      run.med((bn, "bhq", "N=1", "cost")))
            target(x <= 1.3, "bench", "%s flat: N=%d / N=1 = %s (<= 1.3x)" % (what, big, rx(x)))
        for bn, m, what in [("poll", "qemu2019_model", "QEMU <= 4.2 poll model"),
                            ("timeout_nonidle", "qemu_model",
                             "QEMU >= 5.0 timeout model, one non-idle"),
                            ("timeout_idle", "qemu_model", "QEMU >= 5.0 timeout model, all idle")]:
            x = ratio(run.med((bn, m, "N=%d" % big, "cost")), run.med((bn, m, "N=1", "cost")))
            target(x >= 100 if big >= 100000 else None, "bench",
                   "%s grows: N=%d / N=1 = %s (>= 100x at N=100000)" % (what, big, rx(x)))
    if run.ran("throughput"):
        scen = tput_scenarios(run)

        def tput(bn, p, m, other):
            return ratio(run.med((bn, m, p, "rate")), run.med((bn, other, p, "rate")))

        for bn, p in scen:
            x = tput(bn, p, "bhq", "kthread_worker")
            both = (bn, p) in [("tput_same", "K=16"), ("tput_cross", "K=256")]
            target(x >= 2, "both" if both else "bench",
                   "bhq (polling off) >= 2x kthread_worker, %s %s: %s" % (bn[5:], p, rx(x)))
        for bn, p in scen:
            if p.startswith("K=") and p != "K=1":
                x = tput(bn, p, "bhq", "workqueue")
                target(x >= 5, "both" if (bn, p) == ("tput_cross", "K=256") else "bench",
                       "bhq (polling off) >= 5x workqueue on batches, %s %s: %s" %
                       (bn[5:], p, rx(x)))
        manual, floor = manual_and_floor(run)
        if manual and floor:
            target(floor / manual <= 2, "bench",
                   "manual schedule+poll within 2x of the floor: %s" % rx(floor / manual))
            target(floor / manual <= 2.5, "polling",
                   "manual schedule+poll <= 2.5x the floor: %s" % rx(floor / manual))
        if run.cross:
            for p, want in [("K=1", 3), ("K=16", 2)]:
                x = tput("tput_cross", p, "bhq_poll", "kthread_worker")
                target(x >= want, "polling", "bhq_poll >= %dx kthread_worker, cross %s: %s "
                       "(bhq_poll / bhq: %s)" % (want, p, rx(x),
                                                 rx(tput("tput_cross", p, "bhq_poll", "bhq"))))
    if run.ran("latency"):
        same, cross = p99_ratios(run)
        target(same <= 1, "bench", "bhq p99 <= kthread_worker p99, same CPU: %s" % rx(same))
        if run.cross:
            target(cross <= 1, "bench", "bhq p99 <= kthread_worker p99, cross-CPU: %s" % rx(cross))
            x = lat_ratio(run, "lat_cross", "bhq_poll", "p50")
            target(x <= 1 / 3, "polling",
                   "bhq_poll p50 <= 1/3 of kthread_worker p50, cross-CPU: %s (with 10 µs gaps: "
                   "%s)" % (rx(x), rx(lat_ratio(run, "lat_cross_10us", "bhq_poll", "p50"))))
    if run.ran("wakeups"):
        wb = run.wake_bench
        x = run.med((wb, "bhq_poll", "burst=8", "sleeps_per_item"))
        paced = run.med((wb, "bhq_poll", "burst=8/10us", "sleeps_per_item"))
        target(x <= 0.05, "polling",
               "bhq_poll bursts of 8 (1 ms apart): <= 0.05 wakeups per item: %s (wake calls %s)%s"
               % (sig(x), sig(run.med((wb, "bhq_poll", "burst=8", "wake_calls_per_item"))),
                  "; bursts 10 µs apart: %s" % sig(paced) if paced is not None else ""))
    if run.polling:
        def idle(m, x):
            return run.figs.get(("idle", m, run.idle_param, x), {})

        silence_ns = float(run.info.get("idle_ms", "0")) * 1e6
        spun = idle("bhq_poll", "spin_ns_after_1ms").get("max")
        cpu = idle("bhq_poll", "cpu_ns")
        if spun is not None and cpu:
            target(spun == 0 and cpu["med"] <= 1e-4 * silence_ns, "polling",
                   "idle: bhq_poll polls no more 1 ms after its last work (polled after 1 ms: at "
                   "most %s ns; in all, at most %s ns) and its CPU time over %s ms of silence is "
                   "within noise of zero (median <= 0.01%%, %s µs): median %s µs, largest %s µs, "
                   "after its first ms at most %s µs (polling off: median %s µs, largest %s µs); "
                   "the window when the silence began: at most %s ns" %
                   (sig(spun), sig(idle("bhq_poll", "spin_ns").get("max", 0)),
                    run.info.get("idle_ms"), sig(1e-7 * silence_ns), sig(cpu["med"] * 1e-3),
                    sig(cpu["max"] * 1e-3),
                    sig(idle("bhq_poll", "cpu_ns_after_1ms").get("max", 0) * 1e-3),
                    sig(idle("bhq", "cpu_ns").get("med", 0) * 1e-3),
                    sig(idle("bhq", "cpu_ns").get("max", 0) * 1e-3),
                    sig(idle("bhq_poll", "window_ns").get("max", 0))))
    if run.ran("memory"):
        x = run.med(("memory", "bhq_bh", "sizeof", "size"))
        target(x <= 40, "bench", "sizeof(struct bhq_bh) <= 40 bytes: %d" % x)
    return rows


def sections(run):
    """Every section of the report, for the benchmarks that ran."""
    s = []
    if run.ran("complexity"):
        s.append(complexity_section(run))
    if run.ran("throughput"):
        s.append(throughput_section(run))
    if run.ran("latency"):
        s.append(latency_section(run))
    if run.ran("wakeups"):
        s.append(wakeups_section(run))
    if run.ran("memory"):
        s += memory_sections(run)
    if run.ran("profile"):
        s.append(profile_section(run))
    s += polling_sections(run)
    rows = targets(run)
    if rows:
        s.append(section("8. Targets (reported, never asserted by a test)",
                         ["issue: bench, the benchmark issue; polling, the polling issue; both, "
                          "a target that both ask for.  bhq is polling off, bhq_poll polling on."],
                         ["", "issue", "target"], rows, left=3))
    return s


def render(machine, secs, cmd):
    """The report as text (table.txt), as markdown (summary.md) and as
    reStructuredText (summary.rst)."""
    text = ["bhq benchmark results", ""] + machine
    md = ["Measured by `%s`; the full table, with the spread of every figure, is "
          "[bench/results/table.txt](bench/results/table.txt), every figure in "
          "[results.csv](bench/results/results.csv)." % cmd, ""] + \
        ["- " + m for m in machine]
    rst = [".. Written by scripts/bench_report.py (make bench) for",
           "   Documentation/performance.rst, which includes it: edit the generator, not this.",
           "",
           "Measured by ``%s``; the full table, with the spread of every figure, is "
           ":download:`bench/results/table.txt <%stable.txt>`, every figure in "
           ":download:`results.csv <%sresults.csv>` and the latency distributions in "
           ":download:`cdf.csv <%scdf.csv>`." % ((cmd,) + (RST_DIR,) * 3), ""] + \
        ["- " + rst_text(m) for m in machine]
    for title, notes, head, body, after, left, plot in secs:
        name = rst_text(title[3:] if title[:1].isdigit() else title)
        rst += ([""] + [name, "-" * len(name)] if title else []) + \
            ([""] + [rst_text(n) for n in notes] if notes else [])
        if head:
            rst += [""] + rst_table(head, body)
        if after:
            rst += [""] + [rst_text(a) for a in after]
        if plot:
            img, alt = plot
            rst += ["", ".. figure:: %s%s.png" % (RST_DIR, img), "   :alt: " + alt, "",
                    "   " + (name or rst_text(alt[:1].upper() + alt[1:]))]
        text += [""] + ([title] if title else []) + ["   " + n for n in notes]
        md += [""] + (["**%s**" % title[3:] if title[:1].isdigit() else "**%s**" % title, ""]
                      if title else []) + \
            [n for n in notes] + ([""] if notes else [])
        if head:
            text += [""] + txt_table(head, body, left)
            md += md_table(head, body, left)
        if after:
            text += [""] + ["   " + a for a in after]
            md += [""] + after
        if plot:
            md += ["", "![%s](bench/results/%s.png)" % (title[3:] or plot[1], plot[0])]
    return text, md, rst


def write_plot_data(run, plot, out):
    """The data files of bench/plot.gp, and plot.vars, into the directory `plot`."""
    for b, m in CX:
        with open(os.path.join(plot, "cx_%s_%s.dat" % (b, m)), "w") as f:
            for n in run.ns:
                r = run.figs.get((b, m, "N=%d" % n, "cost"))
                if r:
                    f.write("%d %g %g %g\n" % (n, r["med"], r["min"], r["max"]))
    vals = []
    with open(os.path.join(plot, "throughput.dat"), "w") as f:
        f.write("scenario " + " ".join(run.same) + "\n")
        for b, p in [("tput_same", "self")] + [(b, "K=%d" % k) for b in ["tput_same", "tput_cross"]
                                               for k in KS]:
            line = []
            for m in run.same:
                x = run.med((b, m, p, "rate"))
                line.append("NaN" if x is None else "%g" % x)
                if x:
                    vals.append(x)
            f.write("%s:%s %s\n" % ("same" if b == "tput_same" else "cross", p, " ".join(line)))
    for side, mechs in lat_benches(run):
        for m in mechs:
            with open(os.path.join(plot, "%s_%s.dat" % (side, m)), "w") as f:
                for q, v in sorted(run.cdf.get((side, m), [])):
                    f.write("%g %g\n" % (v, q / 10000))
    if run.polling:
        for w in POLL_WINDOWS:
            write_window_plot(run.window[w], os.path.join(plot, "poll_window_%d" % w))
    # The y range of the throughput plot: whole decades around the rates.
    ymin = 10 ** math.floor(math.log10(min(vals))) if vals else 1e3
    ymax = 10 ** math.ceil(math.log10(max(vals))) if vals else 1e8
    with open(os.path.join(plot, "plot.vars"), "w") as f:
        f.write("dir='%s'; out='%s'; ymin=%g; ymax=%g; cross=%d; nmech=%d; latsame='%s'; "
                "latcross='%s'; polling=%d; windows='%s'" %
                (plot, out, ymin, ymax, run.cross, len(run.same), " ".join(run.lat_same),
                 " ".join(run.cross_mechs), run.polling, " ".join(map(str, POLL_WINDOWS))))


# The background of each phase in the window plot.
PHASE_COLOURS = {"trickle": "#d8f3dc", "bursts": "#ffe8cc", "silence": "#e9ecef"}


def write_window_plot(pts, base):
    """The window plot of one largest window: `base`.dat, the samples (ms,
    window ns, largest in force ns, % of the time since the last sample
    polled), and `base`.gp, the phases as shaded rectangles with labels."""
    with open(base + ".dat", "w") as f:
        prev = None
        for x in pts:
            d = x["us"] - prev if prev is not None else 0
            f.write("%g %d %d %g\n" % (x["us"] / 1e3, x["ns"], x["max_ns"],
                                        min(x["spin_ns"] / (d * 10), 100) if d else 0))
            prev = x["us"]
    runs = []
    for x in pts:
        if not runs or runs[-1][0] != x["phase"]:
            runs.append([x["phase"], x["us"], x["us"]])
        runs[-1][2] = x["us"]
    with open(base + ".gp", "w") as f:
        f.write("unset object; unset label\n")
        for i, (phase, t0, t1) in enumerate(runs):
            end = runs[i + 1][1] if i + 1 < len(runs) else t1
            f.write('set object rect from %g, graph 0 to %g, graph 1 behind fc rgb "%s" '
                    'fs solid noborder\n' % (t0 / 1e3, end / 1e3, PHASE_COLOURS[phase]))
            f.write('set label "%s" at %g, graph 0.95 center\n' % (phase, (t0 + end) / 2e3))


def main(argv):
    ap = argparse.ArgumentParser(
        description="Check the results of a bhq_bench run and write its report.")
    ap.add_argument("raw", help="the lines of bhq_bench's results file")
    ap.add_argument("out", help="directory for table.txt, summary.md, summary.rst, results.csv, "
                    "cdf.csv")
    ap.add_argument("plot", help="directory for the data of bench/plot.gp and plot.vars")
    args = ap.parse_args(argv)

    run = read_raw(args.raw)
    errors = check(run)
    if errors:
        for e in errors:
            print("bench: " + e)
        return 1
    write_csv(run, args.out)
    env = os.environ
    text, md, rst = render(machine_lines(run, env), sections(run), env["BENCH_CMD"])
    with open(os.path.join(args.out, "table.txt"), "w") as f:
        f.write("\n".join(text) + "\n")
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(args.out, "summary.rst"), "w") as f:
        f.write("\n".join(rst) + "\n")
    write_plot_data(run, args.plot, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
