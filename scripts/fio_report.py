#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The report of `make fio` (scripts/fio.sh).

    fio_report.py GUEST_LOG OUT_DIR [--quick]

Reads the FIO-RESULT and FIO-VERIFY lines of
tools/testing/selftests/bhq/fio.sh from GUEST_LOG and writes into OUT_DIR:
fio.csv (one row per run), fio.txt (the table and the targets, also
printed), fio.rst (the same for Documentation/performance.rst) and
fio.png (IOPS per completion path, with gnuplot when it is installed).
Every ratio compares runs of the one boot.  --quick (make check) checks
only that every run of the guest is there; the targets are printed but
never fail it.
"""

import csv
import os
import re
import subprocess
import sys

PATHS = ["bhq", "bhq_poll", "softirq", "wq", "kworker", "inline",
         "null_blk", "null_blk_inline"]
LABELS = {
    "bhq": "bhq_blk, bhq",
    "bhq_poll": "bhq_blk, bhq polling",
    "softirq": "bhq_blk, softirq",
    "wq": "bhq_blk, bound workqueue",
    "kworker": "bhq_blk, kthread_worker",
    "inline": "bhq_blk, inline",
    "null_blk": "null_blk irqmode=1",
    "null_blk_inline": "null_blk irqmode=0",
}
FIELDS = ["iops", "p50_us", "p99_us", "p999_us"]


def parse(log):
    runs, verify = [], None
    with open(log, errors="replace") as f:
        for line in f:
            m = re.search(r"FIO-RESULT (.*)", line)
            if m:
                kv = dict(p.split("=", 1) for p in m.group(1).split())
                runs.append(kv)
                continue
            m = re.search(r"FIO-VERIFY (.*)", line)
            if m:
                verify = dict(p.split("=", 1) for p in m.group(1).split())
    return runs, verify


def table(runs):
    configs = sorted({(int(r["depth"]), int(r["jobs"])) for r in runs})
    by = {(r["path"], int(r["depth"]), int(r["jobs"])): r for r in runs}
    paths = [p for p in PATHS if any(k[0] == p for k in by)]
    head = ["path"] + ["qd%d/%dj IOPS" % c for c in configs] + \
        ["qd%d/%dj p50/p99/p99.9 us" % c for c in configs]
    rows = []
    for p in paths:
        row = [LABELS.get(p, p)]
        for c in configs:
            r = by.get((p,) + c)
            row.append(r["iops"] if r else "-")
        for c in configs:
            r = by.get((p,) + c)
            row.append("%s/%s/%s" % (r["p50_us"], r["p99_us"], r["p999_us"])
                       if r else "-")
        rows.append(row)
    return head, rows, by, configs


def text_table(head, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt = "  ".join("%%-%ds" % w if i == 0 else "%%%ds" % w
                    for i, w in enumerate(widths))
    out = [fmt % tuple(head), fmt % tuple("-" * w for w in widths)]
    out += [fmt % tuple(r) for r in rows]
    return out


def targets(by, configs):
    """(met, text) per target, from the runs there are."""
    res = []

    def iops(p, d, j):
        r = by.get((p, d, j))
        return float(r["iops"]) if r else None

    for d, j in configs:
        if d != 32:
            continue
        b = iops("bhq", d, j)
        for other, want in (("kworker", 1.5), ("wq", 1.5)):
            o = iops(other, d, j)
            if b and o:
                ratio = b / o
                res.append((ratio >= want,
                            "bhq >= %.1fx %s's IOPS at iodepth %d, %d job(s): %.2fx (%d against %d)"
                            % (want, other, d, j, ratio, b, o)))
        s = iops("softirq", d, j)
        if b and s:
            ratio = b / s
            res.append((ratio >= 1 / 1.2,
                        "bhq within 1.2x of softirq's IOPS at iodepth %d, %d job(s): %.2fx (%d against %d)"
                        % (d, j, ratio, b, s)))
    for d, j in configs:
        if d != 1:
            continue
        p, s = by.get(("bhq_poll", d, j)), by.get(("softirq", d, j))
        if p and s:
            a, b = float(p["p50_us"]), float(s["p50_us"])
            res.append((a < b,
                        "bhq polling's p50 below softirq's at iodepth 1, %d job(s): %g us against %g us"
                        % (j, a, b)))
    return res


def write_csv(path, runs):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "depth", "jobs"] + FIELDS)
        for r in runs:
            w.writerow([r["path"], r["depth"], r["jobs"]] + [r[k] for k in FIELDS])


def write_rst(path, lines, verify, tg):
    with open(path, "w") as f:
        f.write(".. This file is written by scripts/fio_report.py (make fio).\n\n")
        f.write("4 KiB random reads, O_DIRECT, libaio; IOPS, and completion latency "
                "percentiles in microseconds (fio's clat), per completion path, "
                "iodepth (qd) and number of jobs (j); one boot.\n\n::\n\n")
        for line in lines:
            f.write("    " + line + "\n")
        f.write("\n")
        if verify:
            f.write("Verify: %s fio runs of random writes with --verify=crc32c on "
                    "memory-backed bhq_blk, CPU 1 offline and online %s times "
                    "meanwhile: %s errors.\n\n"
                    % (verify.get("runs"), verify.get("hotplug"), verify.get("errors")))
        f.write("Targets:\n\n")
        for met, text in tg:
            f.write("- %s %s\n" % ("**met**" if met else "**missed**", text))
        f.write("\n.. image:: ../bench/results/fio.png\n")


def plot(out, work, by, configs, paths):
    dat = os.path.join(work, "fio.dat")
    with open(dat, "w") as f:
        f.write("path " + " ".join("qd%d/%dj" % c for c in configs) + "\n")
        for p in paths:
            f.write("%s %s\n" % (p, " ".join(
                by[(p,) + c]["iops"] if (p,) + c in by else "0" for c in configs)))
    gp = (
        "set terminal pngcairo size 1000,500 noenhanced\n"
        "set output '%s'\n"
        "set title 'fio 4 KiB random reads: IOPS per completion path (one boot, TCG)'\n"
        "set style data histograms\nset style histogram clustered gap 1\n"
        "set style fill solid 0.8 border -1\nset ylabel 'IOPS'\n"
        "set xtics rotate by -30\nset key outside right top\n"
        "set grid ytics\nset yrange [0:*]\n"
        "plot %s\n" % (
            os.path.join(out, "fio.png"),
            ", ".join("'%s' using %d:xtic(1) title columnheader"
                      % (dat, i + 2) for i in range(len(configs)))))
    try:
        subprocess.run(["gnuplot"], input=gp, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print("fio_report: no plot: %s" % e)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    log, out = sys.argv[1], sys.argv[2]
    quick = "--quick" in sys.argv[3:]
    runs, verify = parse(log)
    if not runs:
        sys.exit("fio_report: no FIO-RESULT line in %s" % log)
    head, rows, by, configs = table(runs)
    paths = [p for p in PATHS if any(k[0] == p for k in by)]
    lines = text_table(head, rows)
    tg = targets(by, configs)
    text = list(lines) + [""]
    if verify:
        text.append("verify: %(runs)s runs, %(hotplug)s hotplug cycles, %(errors)s errors" % verify)
    text += ["%s  %s" % ("MET   " if met else "MISSED", t) for met, t in tg]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "fio.txt"), "w") as f:
        f.write("\n".join(text) + "\n")
    print("\n".join(text))
    write_csv(os.path.join(out, "fio.csv"), runs)
    write_rst(os.path.join(out, "fio.rst"), lines, verify, tg)
    plot(out, os.path.dirname(os.path.abspath(log)), by, configs, paths)
    if verify and verify.get("errors") != "0":
        sys.exit("fio_report: verify found errors")
    if quick:
        print("fio (quick): %d runs, every figure present; the targets above "
              "are not judged in the quick form" % len(runs))


if __name__ == "__main__":
    main()
