#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: run every benchmark of bench/bhq_bench.ko in one boot of
# the test kernel under QEMU (scripts/guest.sh, the boot path of `make
# run`; tools/testing/selftests/bhq/bench.sh runs in the guest), with no more vCPUs than
# the host has cores, then write table.txt, summary.md (the same for the
# README), results.csv, cdf.csv and PNG plots (gnuplot, bench/plot.gp)
# into the results directory and print the table.
#
#   scripts/bench.sh [--quick] [--again] [--out DIR] [PARAM=VALUE...]
#
# The full run takes minutes and writes bench/results.  --quick is the
# form `make check` runs (small N, few repetitions, results in
# $BHQ_CACHE/bench-quick): it fails only when a benchmark did not run or
# gave a zero or absurd figure, never because of a timing.  PARAM=VALUE
# pairs go to bhq_bench.ko (reps=, max_n=, samples=, only=, cpu_a=, ...).
# --again writes the results of the last run once more, without a boot.
. "$(dirname "$0")/lib.sh"

quick=0
again=0
out=""
params=()
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1; shift ;;
	--again) again=1; shift ;;
	--out) out=$2; shift 2 ;;
	*=*) params+=("$1"); shift ;;
	*) die "bench.sh: unknown argument $1 (see the top of $0)" ;;
	esac
done

# Our own build and guest directories, apart from other jobs'.
if [ "$quick" -eq 1 ]; then
	export BHQ_JOB=bench-quick
	params=(quick=1 "${params[@]}")
	out=${out:-$BHQ_CACHE/bench-quick}
	cmdline="scripts/bench.sh --quick"
else
	export BHQ_JOB=bench
	export BHQ_QEMU_TIMEOUT=${BHQ_BENCH_TIMEOUT:-3600}
	out=${out:-$BHQ_TOP/bench/results}
	cmdline="make bench"
fi
[ "${#params[@]}" -eq 0 ] || cmdline="$cmdline (module parameters: ${params[*]})"

ensure_pkgs gnuplot-nox python3
work=$BHQ_CACHE/bench-work/$BHQ_JOB
# What the report says about the run, for the Python below; kept in
# $work/meta for --again.
export BENCH_HOST_CPU BENCH_HOST_CORES BENCH_HOST_KERNEL BENCH_QEMU BENCH_LOAD0 BENCH_LOAD1 \
	BENCH_REV BENCH_DATE BENCH_CPUS BENCH_CMD BENCH_GUEST BENCH_SPAN BENCH_SECONDS

if [ "$again" -eq 1 ]; then
	[ -f "$work/meta" ] || die "no earlier run in $work"
	# shellcheck source=/dev/null
	. "$work/meta"
	rm -rf "$work/plot"
	mkdir -p "$work/plot" "$out"
else
	# No more vCPUs than host cores, so that the vCPUs do not share a core;
	# the benchmarks need two (producer and consumer).
	BENCH_CPUS=$(nproc)
	[ "$BENCH_CPUS" -le 2 ] || BENCH_CPUS=2
	rm -rf "$work"
	mkdir -p "$work/plot" "$out"

	BENCH_HOST_CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	BENCH_HOST_CORES=$(nproc)
	BENCH_HOST_KERNEL=$(uname -r)
	BENCH_QEMU=$(qemu-system-x86_64 --version 2>/dev/null | head -n 1 || echo "qemu ?")
	BENCH_LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
	BENCH_REV=$(git -C "$BHQ_TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
	BENCH_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
	BENCH_CMD=$cmdline

	say "benchmarks in one boot, $BENCH_CPUS vCPUs, module parameters: ${params[*]:-none} (log: $work/guest.log)"
	start=$SECONDS
	run_logged "$work/guest.log" "$BHQ_TOP/scripts/guest.sh" --cpus "$BENCH_CPUS" \
		--test bench -- "${params[@]}" ||
		die "the benchmark guest failed; log: $work/guest.log"
	BENCH_SECONDS=$((SECONDS - start))
	BENCH_LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
	BENCH_GUEST=$(sed -n 's/.*BHQ-GUEST: //p' "$work/guest.log" | head -n 1)
	BENCH_SPAN=$(sed -n 's/^benchmarks ran from \(.*\)s to \(.*\)s of uptime$/\1 \2/p' "$work/guest.log")
	sed -n '/^BHQ-BENCH-BEGIN$/,/^BHQ-BENCH-END$/p' "$work/guest.log" |
		grep -E '^(info|csv|cdf|status),' >"$work/raw.txt" ||
		die "no results in $work/guest.log"
	for v in "${!BENCH_@}"; do
		printf '%s=%q\n' "$v" "${!v}"
	done >"$work/meta"
fi

say "writing the results into $out"
python3 - "$work" "$out" "$quick" <<'PYTHON' || die "the results are incomplete or absurd (see above)"
import collections
import os
import sys

work, out, quick = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
env = os.environ
plot = os.path.join(work, "plot")

info, rows, cdf, status = {}, [], collections.defaultdict(list), None
for line in open(os.path.join(work, "raw.txt")):
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
R = {(r["bench"], r["mech"], r["param"], r["metric"]): r for r in rows}

SAME = ["bhq", "bhq_manual", "kthread_worker", "workqueue", "bh_workqueue", "irq_work",
        "llist_floor"]
CROSS = ["bhq", "kthread_worker", "workqueue", "bh_workqueue"]
LAT_SAME = ["bhq", "kthread_worker", "workqueue", "bh_workqueue", "irq_work"]
KS = [1, 16, 256]
PCTS = ["p50", "p99", "p99.9"]
WAKE = ["trickle", "burst=8", "burst=64"]
CX = [("poll", "bhq"), ("poll", "qemu2019_model"), ("timeout_nonidle", "bhq"),
      ("timeout_nonidle", "qemu_model"), ("timeout_idle", "bhq"), ("timeout_idle", "qemu_model")]
PROFILE = ["loop", "this_cpu_inc", "atomic_inc", "atomic_xchg", "atomic_cmpxchg",
           "atomic_fetch_or", "smp_mb", "local_irq_save_restore", "raw_spin_lock_irqsave_unlock",
           "indirect_call", "ktime_get_ns", "llist_floor_add_del_call", "bhq_schedule_pending_bh",
           "bhq_poll_nothing_pending", "bhq_schedule_then_poll", "bhq_compute_timeout"]
STRUCTS = ["bhq_bh", "work_struct", "kthread_work", "irq_work", "tasklet_struct"]
CTXMEM = ["struct", "kmalloc", "percpu", "stack", "task_struct", "total"]

if info.get("bh_workqueue", "").startswith("unavailable"):
    SAME, CROSS, LAT_SAME = [[m for m in x if m != "bh_workqueue"] for x in (SAME, CROSS, LAT_SAME)]
max_n = int(info.get("max_n", "0"))
NS = [n for n in [1, 100, 1000, 10000, 100000, 1000000] if n <= max_n]
cross = int(info.get("cpu_b", "-1")) >= 0
only = info.get("only", "all")
sel = lambda b: only == "all" or b in only.split(",")
wake_bench = "wake_cross" if cross else "wake_same"

# ---- every benchmark ran, with sane figures (no timing thresholds) ----
errors = []
if status != "ok":
    errors.append('no "status,ok" line: the module did not finish')
expect = []
if sel("complexity"):
    expect += [(b, m, "N=%d" % n, "cost") for n in NS for b, m in CX]
if sel("throughput"):
    expect += [("tput_same", m, p, "rate") for m in SAME for p in ["self"] + ["K=%d" % k for k in KS]]
    if cross:
        expect += [("tput_cross", m, "K=%d" % k, "rate") for m in CROSS for k in KS]
if sel("latency"):
    expect += [("lat_same", m, p, "latency") for m in LAT_SAME for p in PCTS]
    if cross:
        expect += [("lat_cross", m, p, "latency") for m in CROSS for p in PCTS]
if sel("wakeups"):
    for sc in WAKE:
        expect += [(wake_bench, "bhq", sc, "sleeps_per_item"), (wake_bench, "bhq", sc, "wake_calls_per_item"),
                   (wake_bench, "kthread_worker", sc, "sleeps_per_item")]
if sel("memory"):
    expect += [("memory", s, "sizeof", "size") for s in STRUCTS]
    expect += [("memory", "QEMUBH", "qemu_x86_64", "size")]
    expect += [("ctx_memory", m, p, "size") for m in ["bhq", "kthread_worker"] for p in CTXMEM]
if sel("profile"):
    expect += [("profile", p, "-", "cost") for p in PROFILE]
for k in expect:
    if k not in R:
        errors.append("missing figure: %s" % ",".join(k))
# Far beyond anything a working run gives, even on a loaded host.
LIMIT = {"ns": 1e10, "per_s": 1e11, "count": 1000, "bytes": 1e8}
for r in rows:
    name = ",".join(r["raw"][:4])
    zero_ok = r["bench"] == "ctx_memory" and r["param"] == "percpu"
    if not (r["min"] <= r["med"] <= r["max"]):
        errors.append("%s: median %g outside [%g, %g]" % (name, r["med"], r["min"], r["max"]))
    if r["min"] <= 0 and not zero_ok:
        errors.append("%s: zero figure (min %g)" % (name, r["min"]))
    if r["max"] >= LIMIT.get(r["unit"], 0):
        errors.append("%s: absurd figure %g %s" % (name, r["max"], r["unit"]))
for side, mechs in [("lat_same", LAT_SAME), ("lat_cross", CROSS if cross else [])]:
    if not sel("latency"):
        break
    for m in mechs:
        p = [R.get((side, m, q, "latency"), {}).get("med", 0) for q in PCTS]
        if not p[0] <= p[1] <= p[2]:
            errors.append("%s,%s: percentiles out of order: %s" % (side, m, p))
        pts = sorted(cdf.get((side, m), []))
        if not pts or pts[0][0] != 0 or pts[-1][0] != 10000:
            errors.append("%s,%s: no latency distribution" % (side, m))
        elif any(b[1] < a[1] for a, b in zip(pts, pts[1:])):
            errors.append("%s,%s: latency distribution not monotonic" % (side, m))
if errors:
    for e in errors:
        print("bench: " + e)
    sys.exit(1)

# ---- results.csv, cdf.csv ----
with open(os.path.join(out, "results.csv"), "w") as f:
    f.write("benchmark,mechanism,param,metric,median,min,max,unit\n")
    for r in rows:
        f.write(",".join(r["raw"]) + "\n")
with open(os.path.join(out, "cdf.csv"), "w") as f:
    f.write("benchmark,mechanism,quantile,ns\n")
    for (b, m), pts in sorted(cdf.items()):
        for q, v in sorted(pts):
            f.write("%s,%s,%g,%d\n" % (b, m, q / 10000, v))

# ---- formatting ----
def sig(x):
    if x == 0:
        return "0"
    for lim, fmt in [(100, "%.0f"), (10, "%.1f"), (1, "%.2f")]:
        if abs(x) >= lim:
            return fmt % x
    return "%.3g" % x

def fig(key, scale=1.0):
    r = R.get(key)
    if not r:
        return "-"
    spread = (r["max"] - r["min"]) / 2 / r["med"] * 100 if r["med"] else 0
    return "%s ±%.0f%%" % (sig(r["med"] * scale), spread)

def med(key):
    r = R.get(key)
    return r["med"] if r else None

def ratio(a, b):
    return a / b if a is not None and b else None

def rx(x):
    return "-" if x is None else sig(x) + "x"

# The first @left columns are text (left-aligned), the others figures.
def txt_table(head, body, left):
    w = [max(len(str(row[i])) for row in [head] + body) for i in range(len(head))]
    fmt = lambda row: "  ".join(str(c).ljust(w[i]) if i < left else str(c).rjust(w[i])
                                for i, c in enumerate(row)).rstrip()
    return [fmt(head), fmt(["-" * x for x in w])] + [fmt(row) for row in body]

def md_table(head, body, left):
    row = lambda r: "| " + " | ".join(str(c) for c in r) + " |"
    rule = [" --- "] * left + [" ---: "] * (len(head) - left)
    return [row(head), "|" + "|".join(rule) + "|"] + [row(r) for r in body]

# Sections: a title, lines of notes, a table, lines after it; rendered as
# text (table.txt) and as markdown (summary.md, for the README).
S = []
def section(title, notes, head=None, body=None, after=(), left=1):
    S.append((title, list(notes), head, body, list(after), left))

reps = info.get("reps", "?")
span = env.get("BENCH_SPAN", "").split()
machine = [
    "command: `%s` (bhq %s, %s; %s s in all%s)" % (
        env["BENCH_CMD"], env["BENCH_REV"], env["BENCH_DATE"], env["BENCH_SECONDS"],
        ", the benchmarks from %ss to %ss of guest uptime" % tuple(span) if len(span) == 2 else ""),
    "host: %s, %s cores, Linux %s; load average %s before, %s after" % (
        env["BENCH_HOST_CPU"], env["BENCH_HOST_CORES"], env["BENCH_HOST_KERNEL"],
        env["BENCH_LOAD0"], env["BENCH_LOAD1"]),
    "guest: %s; %s, -accel tcg -smp %s; producer CPU %s, consumer CPU %s" % (
        env["BENCH_GUEST"], env["BENCH_QEMU"], env["BENCH_CPUS"], info.get("cpu_a"),
        info.get("cpu_b") if cross else "none (one CPU: no cross-CPU benchmarks)"),
    "figures: median of %s repetitions; ±: half their range (max - min) relative to the "
    "median; ratios are between medians of this one boot.  TCG emulates every instruction, "
    "a locked one or a call far more slowly than a plain one: absolute figures are not "
    "those of hardware, compare the ratios." % reps,
]

if sel("complexity"):
    label = {("poll", "bhq"): "poll: bhq_poll()",
             ("poll", "qemu2019_model"): "poll: model of QEMU <= 4.2 (walks every BH)",
             ("timeout_nonidle", "bhq"): "timeout: bhq, one non-idle among idle",
             ("timeout_nonidle", "qemu_model"): "timeout: model of QEMU >= 5.0, one non-idle (met last)",
             ("timeout_idle", "bhq"): "timeout: bhq, all idle",
             ("timeout_idle", "qemu_model"): "timeout: model of QEMU >= 5.0, all idle"}
    head = ["ns per operation"] + ["N=%d" % n for n in NS] + ["N=%d / N=1" % NS[-1]]
    body = [[label[(b, m)]] + [fig((b, m, "N=%d" % n, "cost")) for n in NS] +
            [rx(ratio(med((b, m, "N=%d" % NS[-1], "cost")), med((b, m, "N=1", "cost"))))]
            for b, m in CX]
    section("1. Complexity: ns per operation against N",
            ["poll: one BH scheduled and polled while N BHs exist; timeout: N BHs pending.",
             "Each repetition: the fastest of 20 chunks of the loop."], head, body)

if sel("throughput"):
    head = ["thousands per second"] + SAME + ["bhq / kthread_worker", "bhq / workqueue"]
    scen = [("tput_same", "self")] + [("tput_same", "K=%d" % k) for k in KS]
    if cross:
        scen += [("tput_cross", "K=%d" % k) for k in KS]
    body = [[("same CPU " if b == "tput_same" else "cross-CPU ") + p] +
            [fig((b, m, p, "rate"), 1e-3) for m in SAME] +
            [rx(ratio(med((b, "bhq", p, "rate")), med((b, "kthread_worker", p, "rate")))),
             rx(ratio(med((b, "bhq", p, "rate")), med((b, "workqueue", p, "rate"))))]
            for b, p in scen]
    man = med(("tput_same", "bhq_manual", "self", "rate"))
    flo = med(("tput_same", "llist_floor", "self", "rate"))
    after = []
    if man and flo:
        after = ["Manual context against the floor (self): bhq_manual %s ns per schedule+poll, "
                 "llist_floor %s ns: %s." % (sig(1e9 / man), sig(1e9 / flo), rx(flo / man))]
    section("2. Throughput: thousands of dispatches per second",
            ["self: one item re-queues itself from its callback; K=n: n distinct items queued, "
             "then waited for; same: the consumer on the producer's CPU, cross: on another CPU.",
             "Each repetition: the median rate of its chains or windows of 16 rounds."],
            head, body, after)

if sel("latency"):
    head = ["µs"] + ["same %s" % p for p in PCTS] + (["cross %s" % p for p in PCTS] if cross else [])
    body = []
    for m in LAT_SAME:
        row = [m] + [fig(("lat_same", m, p, "latency"), 1e-3) for p in PCTS]
        if cross:
            row += [fig(("lat_cross", m, p, "latency"), 1e-3) if m in CROSS else "-" for p in PCTS]
        body.append(row)
    s = ratio(med(("lat_same", "bhq", "p99", "latency")), med(("lat_same", "kthread_worker", "p99", "latency")))
    c = ratio(med(("lat_cross", "bhq", "p99", "latency")), med(("lat_cross", "kthread_worker", "p99", "latency")))
    section("3. Latency: schedule to callback start, µs",
            ["One item at a time, the consumer asleep (a pause of 50-100 µs between samples); "
             "percentiles of %s samples per repetition." % info.get("samples", "?")],
            head, body, ["bhq p99 / kthread_worker p99: same CPU %s, cross-CPU %s." % (rx(s), rx(c))])

if sel("wakeups"):
    head = ["per item", "bhq sleeps", "bhq wake calls", "kthread_worker sleeps"]
    body = [[sc, fig((wake_bench, "bhq", sc, "sleeps_per_item")),
             fig((wake_bench, "bhq", sc, "wake_calls_per_item")),
             fig((wake_bench, "kthread_worker", sc, "sleeps_per_item"))] for sc in WAKE]
    section("4. Wakeups per dispatched item, consumer on CPU %s" % info.get("cpu_b" if cross else "cpu_a"),
            ["trickle: one item, then 200 µs; burst=n: n items back to back, then 1 ms.",
             "sleeps: the consumer thread's voluntary context switches (each ended by one wakeup); "
             "wake calls: bhq's own count of schedules that called wake_up_process()."],
            head, body)

if sel("memory"):
    b = lambda key: "%d" % med(key) if med(key) is not None else "-"
    head = ["bytes"] + STRUCTS + ["QEMUBH (QEMU, x86-64)"]
    body = [["sizeof"] + [b(("memory", s, "sizeof", "size")) for s in STRUCTS] +
            [b(("memory", "QEMUBH", "qemu_x86_64", "size"))]]
    section("5. Memory, bytes", ["A deferred call; bhq_bh_new() also takes an xarray slot, "
                                 "about %s bytes per BH." % b(("memory", "bhq_bh", "xarray_slot", "size"))],
            head, body)
    head = ["per context"] + CTXMEM
    body = [[m] + [b(("ctx_memory", m, p, "size")) for p in CTXMEM] for m in ["bhq", "kthread_worker"]]
    section("", ["One context: kmalloc is the struct's kmalloc bucket, percpu bhq's counters on "
                 "every possible CPU, stack and task_struct its kthread's (task_struct without "
                 "the FPU state)."], head, body)

if sel("profile"):
    body = [[p, fig(("profile", p, "-", "cost"))] for p in PROFILE]
    section("6. Profile: ns per operation on this machine",
            ["A loop of the operation, loop overhead included; each repetition the fastest of "
             "20 chunks."], ["operation", "ns"], body)

# ---- targets ----
T = []
def target(ok, text):
    T.append(["n/a" if ok is None else ("met" if ok else "MISSED"), text])

if sel("complexity") and NS:
    big = NS[-1]
    for bn, what in [("poll", "bhq_poll()"), ("timeout_nonidle", "bhq timeout, one non-idle"),
                     ("timeout_idle", "bhq timeout, all idle")]:
        x = ratio(med((bn, "bhq", "N=%d" % big, "cost")), med((bn, "bhq", "N=1", "cost")))
        target(x <= 1.3, "%s flat: N=%d / N=1 = %s (<= 1.3x)" % (what, big, rx(x)))
    for bn, m, what in [("poll", "qemu2019_model", "QEMU <= 4.2 poll model"),
                        ("timeout_nonidle", "qemu_model", "QEMU >= 5.0 timeout model, one non-idle"),
                        ("timeout_idle", "qemu_model", "QEMU >= 5.0 timeout model, all idle")]:
        x = ratio(med((bn, m, "N=%d" % big, "cost")), med((bn, m, "N=1", "cost")))
        target(x >= 100 if big >= 100000 else None,
               "%s grows: N=%d / N=1 = %s (>= 100x at N=100000)" % (what, big, rx(x)))
if sel("throughput"):
    for bn, p in scen:
        x = ratio(med((bn, "bhq", p, "rate")), med((bn, "kthread_worker", p, "rate")))
        target(x >= 2, "bhq >= 2x kthread_worker, %s %s: %s" % (bn[5:], p, rx(x)))
    for bn, p in scen:
        if p.startswith("K=") and p != "K=1":
            x = ratio(med((bn, "bhq", p, "rate")), med((bn, "workqueue", p, "rate")))
            target(x >= 5, "bhq >= 5x workqueue on batches, %s %s: %s" % (bn[5:], p, rx(x)))
    if man and flo:
        target(flo / man <= 2, "manual schedule+poll within 2x of the floor: %s" % rx(flo / man))
if sel("latency"):
    target(s <= 1, "bhq p99 <= kthread_worker p99, same CPU: %s" % rx(s))
    if cross:
        target(c <= 1, "bhq p99 <= kthread_worker p99, cross-CPU: %s" % rx(c))
if sel("memory"):
    x = med(("memory", "bhq_bh", "sizeof", "size"))
    target(x <= 40, "sizeof(struct bhq_bh) <= 40 bytes: %d" % x)
if T:
    section("7. Targets of the benchmark issue (reported, never asserted by a test)", [],
            ["", "target"], T, left=2)

L = ["bhq benchmark results", ""] + machine
M = ["Measured by `%s`; the full table, with the spread of every figure, is "
     "[bench/results/table.txt](bench/results/table.txt), every figure in "
     "[results.csv](bench/results/results.csv)." % env["BENCH_CMD"], ""] + \
    ["- " + m for m in machine]
for title, notes, head, body, after, left in S:
    L += [""] + ([title] if title else []) + ["   " + n for n in notes]
    M += [""] + (["**%s**" % title[3:] if title[:1].isdigit() else "**%s**" % title, ""] if title else []) + \
         [n for n in notes] + ([""] if notes else [])
    if head:
        L += [""] + txt_table(head, body, left)
        M += md_table(head, body, left)
    if after:
        L += [""] + ["   " + a for a in after]
        M += [""] + after
    img = {"1.": "complexity", "2.": "throughput", "3.": "latency_cdf"}.get(title[:2])
    if img:
        M += ["", "![%s](bench/results/%s.png)" % (title[3:], img)]
with open(os.path.join(out, "table.txt"), "w") as f:
    f.write("\n".join(L) + "\n")
with open(os.path.join(out, "summary.md"), "w") as f:
    f.write("\n".join(M) + "\n")

# ---- data for gnuplot ----
for b, m in CX:
    with open(os.path.join(plot, "cx_%s_%s.dat" % (b, m)), "w") as f:
        for n in NS:
            r = R.get((b, m, "N=%d" % n, "cost"))
            if r:
                f.write("%d %g %g %g\n" % (n, r["med"], r["min"], r["max"]))
vals = []
with open(os.path.join(plot, "throughput.dat"), "w") as f:
    f.write("scenario " + " ".join(SAME) + "\n")
    for b, p in [("tput_same", "self")] + [(b, "K=%d" % k) for b in ["tput_same", "tput_cross"] for k in KS]:
        line = []
        for m in SAME:
            x = med((b, m, p, "rate"))
            line.append("NaN" if x is None else "%g" % x)
            if x:
                vals.append(x)
        f.write("%s:%s %s\n" % ("same" if b == "tput_same" else "cross", p, " ".join(line)))
for side in ["lat_same", "lat_cross"]:
    for m in LAT_SAME:
        with open(os.path.join(plot, "%s_%s.dat" % (side, m)), "w") as f:
            for q, v in sorted(cdf.get((side, m), [])):
                f.write("%g %g\n" % (v, q / 10000))
import math
ymin = 10 ** math.floor(math.log10(min(vals))) if vals else 1e3
ymax = 10 ** math.ceil(math.log10(max(vals))) if vals else 1e8
with open(os.path.join(work, "plot.vars"), "w") as f:
    f.write("dir='%s'; out='%s'; ymin=%g; ymax=%g; cross=%d" % (plot, out, ymin, ymax, cross))
PYTHON

gnuplot -e "$(cat "$work/plot.vars")" "$BHQ_TOP/bench/plot.gp" 2>"$work/gnuplot.log" || {
	cat "$work/gnuplot.log" >&2
	die "gnuplot failed"
}
cat "$out/table.txt"
say "results in $out: table.txt summary.md results.csv cdf.csv complexity.png throughput.png latency_cdf.png (${BENCH_SECONDS}s)"
