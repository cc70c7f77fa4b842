#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: run every benchmark of bench/bhq_bench.ko in one boot of
# the test kernel under QEMU (scripts/guest.sh, the boot path of `make
# run`; tools/testing/selftests/bhq/bench.sh runs in the guest), with no more vCPUs than
# the host has cores, then write table.txt, summary.md (the same for the
# README), summary.rst (the same for Documentation/performance.rst, which
# includes it), results.csv, cdf.csv and poll_window.csv
# (scripts/bench_report.py) and PNG plots (gnuplot, bench/plot.gp) into
# the results directory and print the table.
#
#   scripts/bench.sh [--quick] [--again] [--out DIR] [PARAM=VALUE...]
#
# The full run takes minutes and writes bench/results.  --quick is the
# form `make check` runs (small N, few repetitions, results in
# $BHQ_CACHE/bench-quick): it fails only when a benchmark did not run or
# gave a zero or absurd figure, never because of a timing.  PARAM=VALUE
# pairs go to bhq_bench.ko (reps=, max_n=, samples=, only=, cpu_a=, ...).
# --again writes the results of the last run once more, without a boot.
# With BHQ_JOB=name set, the job is name-bench or name-bench-quick, and
# the quick results go to $BHQ_CACHE/name-bench-quick.

# The caller's BHQ_JOB, before lib.sh gives it its default.
caller_job=${BHQ_JOB:-}
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

# Our own build and guest directories, apart from other jobs' (and from
# the benchmarks of another job that set BHQ_JOB).
if [ "$quick" -eq 1 ]; then
	export BHQ_JOB=${caller_job:+$caller_job-}bench-quick
	params=(quick=1 "${params[@]}")
	out=${out:-$BHQ_CACHE/$BHQ_JOB}
	cmdline="scripts/bench.sh --quick"
else
	export BHQ_JOB=${caller_job:+$caller_job-}bench
	export BHQ_QEMU_TIMEOUT=${BHQ_BENCH_TIMEOUT:-3600}
	out=${out:-$BHQ_TOP/bench/results}
	cmdline="make bench"
fi
[ "${#params[@]}" -eq 0 ] || cmdline="$cmdline (module parameters: ${params[*]})"

ensure_pkgs gnuplot-nox python3
# The guest's TSC is TCG's, read from the host's monotonic clock: the
# clocksource watchdog, comparing it with an emulated HPET while the host
# delays a vCPU, finds it skewed and switches to the HPET mid-run (seen in
# every full run: ktime_get_ns() then costs 4x more, and the switch's
# stop_machine() stalls CPUs).  Measurements keep one clock throughout.
export BHQ_GUEST_APPEND="${BHQ_GUEST_APPEND:+$BHQ_GUEST_APPEND }tsc=reliable"
work=$BHQ_CACHE/bench-work/$BHQ_JOB
# What the report says about the run, for scripts/bench_report.py; kept
# in $work/meta for --again.
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
		grep -E '^(info|csv|cdf|window|status),' >"$work/raw.txt" ||
		die "no results in $work/guest.log"
	for v in "${!BENCH_@}"; do
		printf '%s=%q\n' "$v" "${!v}"
	done >"$work/meta"
fi

say "writing the results into $out"
python3 "$BHQ_TOP/scripts/bench_report.py" "$work/raw.txt" "$out" "$work/plot" ||
	die "the results are incomplete or absurd (see above)"

gnuplot -e "$(cat "$work/plot/plot.vars")" "$BHQ_TOP/bench/plot.gp" 2>"$work/gnuplot.log" || {
	cat "$work/gnuplot.log" >&2
	die "gnuplot failed"
}
cat "$out/table.txt"
say "results in $out: table.txt summary.md summary.rst results.csv cdf.csv poll_window.csv complexity.png throughput.png latency_cdf.png poll_window.png (${BENCH_SECONDS}s)"
