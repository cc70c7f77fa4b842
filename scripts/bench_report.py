#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The report of a bhq_bench run: tables, CSV files and plot data.

scripts/bench.sh runs bench/bhq_bench.ko in a guest, keeps the lines of
its results file (the format is described in bench/bhq_bench.h) and runs

    scripts/bench_report.py RAW OUT PLOT

RAW is the file of those lines.  The report first checks that every
benchmark that ran gave all its figures, and sane ones: none missing,
zero or absurd, percentiles and latency distributions in order; no
timing is ever compared with a threshold.  If one is not sane, it prints
one "bench: <problem>" line per problem and exits with status 1, having
written nothing.  Otherwise it writes into the directory OUT:

    table.txt    every table, as text
    summary.md   the same in markdown, for the README
    summary.rst  the same in reStructuredText, which
                 Documentation/performance.rst includes
    results.csv  every figure
    cdf.csv      the latency distributions

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
SAME = ["bhq", "bhq_manual", "kthread_worker", "workqueue", "bh_workqueue", "irq_work",
        "llist_floor"]
CROSS = ["bhq", "kthread_worker", "workqueue", "bh_workqueue"]
LAT_SAME = ["bhq", "kthread_worker", "workqueue", "bh_workqueue", "irq_work"]
# The batch sizes of throughput, the percentiles of latency, the
# scenarios of wakeups.
KS = [1, 16, 256]
PCTS = ["p50", "p99", "p99.9"]
WAKE = ["trickle", "burst=8", "burst=64"]
# The figures of the complexity benchmark: (benchmark, mechanism).
CX = [("poll", "bhq"), ("poll", "qemu2019_model"), ("timeout_nonidle", "bhq"),
      ("timeout_nonidle", "qemu_model"), ("timeout_idle", "bhq"), ("timeout_idle", "qemu_model")]
PROFILE = ["loop", "this_cpu_inc", "atomic_inc", "atomic_xchg", "atomic_cmpxchg",
           "atomic_fetch_or", "smp_mb", "local_irq_save_restore", "raw_spin_lock_irqsave_unlock",
           "indirect_call", "ktime_get_ns", "llist_floor_add_del_call", "bhq_schedule_pending_bh",
           "bhq_poll_nothing_pending", "bhq_schedule_then_poll", "bhq_compute_timeout"]
STRUCTS = ["bhq_bh", "work_struct", "kthread_work", "irq_work", "tasklet_struct"]
CTXMEM = ["struct", "kmalloc", "percpu", "stack", "task_struct", "total"]
# The values of N of the complexity benchmark, up to the run's max_n.
ALL_NS = [1, 100, 1000, 10000, 100000, 1000000]
# Far beyond anything a working run gives, even on a loaded host.
LIMIT = {"ns": 1e10, "per_s": 1e11, "count": 1000, "bytes": 1e8}
# The plots of bench/plot.gp, after the sections whose titles begin with
# these numbers: the file (without .png) and what the plot shows.
PLOTS = {"1.": ("complexity",
                "ns per operation against N, log-log, for bhq and the models of QEMU"),
         "2.": ("throughput", "thousands of dispatches per second for each mechanism"),
         "3.": ("latency_cdf", "cumulative distribution of the latency for each mechanism")}
# The directory of the results as summary.rst names it: relative to
# Documentation/, since Sphinx takes the paths of an included file as
# relative to the document that includes it (Documentation/performance.rst).
RST_DIR = "../bench/results/"

Section = collections.namedtuple("Section", "title notes head body after left")


def section(title, notes, head=None, body=None, after=(), left=1):
    """A section of the report: a title, lines of notes, a table, lines
    after it.  The first `left` columns of the table are text, the others
    figures."""
    return Section(title, list(notes), head, body, list(after), left)


class Run:
    """The figures of one run, and which benchmarks it ran."""

    def __init__(self, info, rows, cdf, status):
        self.info = info
        self.rows = rows
        self.cdf = cdf
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
    for line in open(path):
        f = line.rstrip("\n").split(",")
        if f[0] == "info" and len(f) >= 3:
            info[f[1]] = ",".join(f[2:])
        elif f[0] == "csv" and len(f) == 9:
            rows.append(dict(bench=f[1], mech=f[2], param=f[3], metric=f[4], med=float(f[5]),
                             min=float(f[6]), max=float(f[7]), unit=f[8], raw=f[1:]))
        elif f[0] == "cdf" and len(f) == 5:
            cdf[(f[1], f[2])].append((int(f[3]), float(f[4])))
        elif f[0] == "status":
            status = f[1]
    return Run(info, rows, cdf, status)


def expected_figures(run):
    """The keys of every figure that the benchmarks run must have given."""
    expect = []
    if run.ran("complexity"):
        expect += [(b, m, "N=%d" % n, "cost") for n in run.ns for b, m in CX]
    if run.ran("throughput"):
        expect += [("tput_same", m, p, "rate") for m in run.same
                   for p in ["self"] + ["K=%d" % k for k in KS]]
        if run.cross:
            expect += [("tput_cross", m, "K=%d" % k, "rate") for m in run.cross_mechs for k in KS]
    if run.ran("latency"):
        expect += [("lat_same", m, p, "latency") for m in run.lat_same for p in PCTS]
        if run.cross:
            expect += [("lat_cross", m, p, "latency") for m in run.cross_mechs for p in PCTS]
    if run.ran("wakeups"):
        for sc in WAKE:
            expect += [(run.wake_bench, "bhq", sc, "sleeps_per_item"),
                       (run.wake_bench, "bhq", sc, "wake_calls_per_item"),
                       (run.wake_bench, "kthread_worker", sc, "sleeps_per_item")]
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
        zero_ok = r["bench"] == "ctx_memory" and r["param"] == "percpu"
        if not (r["min"] <= r["med"] <= r["max"]):
            errors.append("%s: median %g outside [%g, %g]" % (name, r["med"], r["min"], r["max"]))
        if r["min"] <= 0 and not zero_ok:
            errors.append("%s: zero figure (min %g)" % (name, r["min"]))
        if r["max"] >= LIMIT.get(r["unit"], 0):
            errors.append("%s: absurd figure %g %s" % (name, r["max"], r["unit"]))
    if not run.ran("latency"):
        return errors
    for side, mechs in [("lat_same", run.lat_same),
                        ("lat_cross", run.cross_mechs if run.cross else [])]:
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


def write_csv(run, out):
    """results.csv, every figure, and cdf.csv, the latency distributions."""
    with open(os.path.join(out, "results.csv"), "w") as f:
        f.write("benchmark,mechanism,param,metric,median,min,max,unit\n")
        for r in run.rows:
            f.write(",".join(r["raw"]) + "\n")
    with open(os.path.join(out, "cdf.csv"), "w") as f:
        f.write("benchmark,mechanism,quantile,ns\n")
        for (b, m), pts in sorted(run.cdf.items()):
            for q, v in sorted(pts):
                f.write("%s,%s,%g,%d\n" % (b, m, q / 10000, v))


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
                    "Each repetition: the fastest of 20 chunks of the loop."], head, body)


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
    head = ["thousands per second"] + run.same + ["bhq / kthread_worker", "bhq / workqueue"]
    body = [[("same CPU " if b == "tput_same" else "cross-CPU ") + p] +
            [run.fig((b, m, p, "rate"), 1e-3) for m in run.same] +
            [rx(ratio(run.med((b, "bhq", p, "rate")), run.med((b, "kthread_worker", p, "rate")))),
             rx(ratio(run.med((b, "bhq", p, "rate")), run.med((b, "workqueue", p, "rate"))))]
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
                    "Each repetition: the median rate of its chains or windows of 16 rounds."],
                   head, body, after)


def p99_ratios(run):
    """bhq p99 / kthread_worker p99 latency, on the same CPU and cross-CPU."""
    def p99(side, m):
        return run.med((side, m, "p99", "latency"))

    return (ratio(p99("lat_same", "bhq"), p99("lat_same", "kthread_worker")),
            ratio(p99("lat_cross", "bhq"), p99("lat_cross", "kthread_worker")))


def latency_section(run):
    head = ["µs"] + ["same %s" % p for p in PCTS] + \
        (["cross %s" % p for p in PCTS] if run.cross else [])
    body = []
    for m in run.lat_same:
        row = [m] + [run.fig(("lat_same", m, p, "latency"), 1e-3) for p in PCTS]
        if run.cross:
            row += [run.fig(("lat_cross", m, p, "latency"), 1e-3) if m in run.cross_mechs else "-"
                    for p in PCTS]
        body.append(row)
    same, cross = p99_ratios(run)
    return section("3. Latency: schedule to callback start, µs",
                   ["One item at a time, the consumer asleep (a pause of 50-100 µs between "
                    "samples); percentiles of %s samples per repetition." %
                    run.info.get("samples", "?")],
                   head, body,
                   ["bhq p99 / kthread_worker p99: same CPU %s, cross-CPU %s." %
                    (rx(same), rx(cross))])


def wakeups_section(run):
    wb = run.wake_bench
    head = ["per item", "bhq sleeps", "bhq wake calls", "kthread_worker sleeps"]
    body = [[sc, run.fig((wb, "bhq", sc, "sleeps_per_item")),
             run.fig((wb, "bhq", sc, "wake_calls_per_item")),
             run.fig((wb, "kthread_worker", sc, "sleeps_per_item"))] for sc in WAKE]
    return section("4. Wakeups per dispatched item, consumer on CPU %s" %
                   run.info.get("cpu_b" if run.cross else "cpu_a"),
                   ["trickle: one item, then 200 µs; burst=n: n items back to back, then 1 ms.",
                    "sleeps: the consumer thread's voluntary context switches (each ended by one "
                    "wakeup); wake calls: bhq's own count of schedules that called "
                    "wake_up_process()."],
                   head, body)


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
    return section("6. Profile: ns per operation on this machine",
                   ["A loop of the operation, loop overhead included; each repetition the "
                    "fastest of 20 chunks."], ["operation", "ns"], body)


def targets(run):
    """The targets of the benchmark issue: rows of [verdict, text]."""
    rows = []

    def target(ok, text):
        rows.append(["n/a" if ok is None else ("met" if ok else "MISSED"), text])

    if run.ran("complexity") and run.ns:
        big = run.ns[-1]
        for bn, what in [("poll", "bhq_poll()"), ("timeout_nonidle", "bhq timeout, one non-idle"),
                         ("timeout_idle", "bhq timeout, all idle")]:
            x = ratio(run.med((bn, "bhq", "N=%d" % big, "cost")),
                      run.med((bn, "bhq", "N=1", "cost")))
            target(x <= 1.3, "%s flat: N=%d / N=1 = %s (<= 1.3x)" % (what, big, rx(x)))
        for bn, m, what in [("poll", "qemu2019_model", "QEMU <= 4.2 poll model"),
                            ("timeout_nonidle", "qemu_model",
                             "QEMU >= 5.0 timeout model, one non-idle"),
                            ("timeout_idle", "qemu_model", "QEMU >= 5.0 timeout model, all idle")]:
            x = ratio(run.med((bn, m, "N=%d" % big, "cost")), run.med((bn, m, "N=1", "cost")))
            target(x >= 100 if big >= 100000 else None,
                   "%s grows: N=%d / N=1 = %s (>= 100x at N=100000)" % (what, big, rx(x)))
    if run.ran("throughput"):
        scen = tput_scenarios(run)
        for bn, p in scen:
            x = ratio(run.med((bn, "bhq", p, "rate")), run.med((bn, "kthread_worker", p, "rate")))
            target(x >= 2, "bhq >= 2x kthread_worker, %s %s: %s" % (bn[5:], p, rx(x)))
        for bn, p in scen:
            if p.startswith("K=") and p != "K=1":
                x = ratio(run.med((bn, "bhq", p, "rate")), run.med((bn, "workqueue", p, "rate")))
                target(x >= 5, "bhq >= 5x workqueue on batches, %s %s: %s" % (bn[5:], p, rx(x)))
        manual, floor = manual_and_floor(run)
        if manual and floor:
            target(floor / manual <= 2,
                   "manual schedule+poll within 2x of the floor: %s" % rx(floor / manual))
    if run.ran("latency"):
        same, cross = p99_ratios(run)
        target(same <= 1, "bhq p99 <= kthread_worker p99, same CPU: %s" % rx(same))
        if run.cross:
            target(cross <= 1, "bhq p99 <= kthread_worker p99, cross-CPU: %s" % rx(cross))
    if run.ran("memory"):
        x = run.med(("memory", "bhq_bh", "sizeof", "size"))
        target(x <= 40, "sizeof(struct bhq_bh) <= 40 bytes: %d" % x)
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
    rows = targets(run)
    if rows:
        s.append(section("7. Targets of the benchmark issue (reported, never asserted by a test)",
                         [], ["", "target"], rows, left=2))
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
    for title, notes, head, body, after, left in secs:
        name = rst_text(title[3:] if title[:1].isdigit() else title)
        rst += ([""] + [name, "-" * len(name)] if title else []) + \
            ([""] + [rst_text(n) for n in notes] if notes else [])
        if head:
            rst += [""] + rst_table(head, body)
        if after:
            rst += [""] + [rst_text(a) for a in after]
        if title[:2] in PLOTS:
            img, alt = PLOTS[title[:2]]
            rst += ["", ".. figure:: %s%s.png" % (RST_DIR, img), "   :alt: " + alt, "",
                    "   " + name]
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
        if title[:2] in PLOTS:
            md += ["", "![%s](bench/results/%s.png)" % (title[3:], PLOTS[title[:2]][0])]
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
    for side in ["lat_same", "lat_cross"]:
        for m in run.lat_same:
            with open(os.path.join(plot, "%s_%s.dat" % (side, m)), "w") as f:
                for q, v in sorted(run.cdf.get((side, m), [])):
                    f.write("%g %g\n" % (v, q / 10000))
    # The y range of the throughput plot: whole decades around the rates.
    ymin = 10 ** math.floor(math.log10(min(vals))) if vals else 1e3
    ymax = 10 ** math.ceil(math.log10(max(vals))) if vals else 1e8
    with open(os.path.join(plot, "plot.vars"), "w") as f:
        f.write("dir='%s'; out='%s'; ymin=%g; ymax=%g; cross=%d" %
                (plot, out, ymin, ymax, run.cross))


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
