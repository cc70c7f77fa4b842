#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The user-space tools of tools/bhq/ against a real load:
#
#	tools.sh [-m DIR] [-t TOOLS_DIR]
#
# Load bhq, run the demo load (bhq_demo.ko, loaded and unloaded again
# and again in the background) and meanwhile: `bhqstat -1` must print a
# line of numbers for every per-CPU context and a non-zero rate;
# bhq_latency.bt (bpftrace) must print a histogram with counts for the
# demo's callbacks; `trace-cmd record -e bhq` of one demo load must hold
# as many bhq_schedule and bhq_execute_start events as the counters
# counted.  TOOLS_DIR is where bhqstat and bhq_latency.bt are (default
# tools/bhq of this tree, or /tools/bhq in the test guest).  Skips when
# bpftrace or trace-cmd is missing (scripts/guest.sh --debian has them).
# shellcheck source=tools/testing/selftests/bhq/lib.sh
. "$(dirname "$0")/lib.sh"
bhq_args "$@"
shift "$bhq_shift"
tools=
if [ "${1:-}" = -t ]; then
	[ $# -ge 2 ] || fail "-t needs a directory"
	tools=$2
fi
for t in "$tools" "$BHQ_SELFTESTS/../../../bhq" /tools/bhq; do
	if [ -n "$t" ] && [ -f "$t/bhqstat" ]; then
		tools=$(cd "$t" && pwd)
		break
	fi
done
[ -f "$tools/bhqstat" ] || fail "no bhqstat (give its directory with -t DIR)"
missing=
for p in awk bpftrace trace-cmd timeout; do
	command -v $p >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] || skip "missing:$missing"
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs tracefs $T 2>/dev/null
[ -d $T/events ] || skip "no tracefs"
kmsg_mark
bhq_unload_all
echo "tools from $tools; $(bpftrace --version); $(trace-cmd --version 2>&1 | grep -m 1 version)"
tmp=$(mktemp -d /tmp/bhq-tools.XXXXXX) || fail "mktemp"
demo=$(bhq_module bhq_demo) || exit 1
bhq_insmod bhq || fail "insmod bhq.ko"

# load_start: the demo load, in the background until load_stop.
load_start() {
	rm -f "$tmp/stop" "$tmp/load-failed"
	(
		n=0
		while [ ! -f "$tmp/stop" ]; do
			insmod "$demo" rounds=50 || { echo "insmod $demo" >"$tmp/load-failed"; break; }
			rmmod bhq_demo || { echo "rmmod bhq_demo" >"$tmp/load-failed"; break; }
			n=$((n + 1))
		done
		echo "$n" >"$tmp/loads"
	) &
	load_pid=$!
	echo "+ demo load started: insmod/rmmod bhq_demo.ko rounds=50 in a loop"
}

# load_stop: stop the load, and fail if it failed.
load_stop() {
	touch "$tmp/stop"
	wait "$load_pid"
	[ ! -f "$tmp/load-failed" ] || fail "the demo load failed: $(cat "$tmp/load-failed")"
	echo "+ demo load stopped after $(cat "$tmp/loads") loads"
}

# --- bhqstat
ncpu=0
for f in "$D"/cpu*/stats; do
	[ -f "$f" ] && ncpu=$((ncpu + 1))
done
[ "$ncpu" -gt 0 ] || fail "no per-CPU context in $D"

# bhqstat_check FILE [all]: a header, one line per per-CPU context, every
# column from the third a number, and scheduled/s plus executed/s, summed
# over the per-CPU contexts, not zero.  With "all" (bhqstat -a) a line of
# another context (the demo's manual one, alive through the sample) is
# checked the same way, but not counted.
bhqstat_check() {
	cat "$1"
	head -n 1 "$1" | grep -q '^time  *ctx  *scheduled/s .*executed/s' ||
		fail "bhqstat: no header line with scheduled/s and executed/s"
	awk -v ncpu="$ncpu" -v all="${2:-}" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; ncol = NF; next }
		$2 ~ /^cpu[0-9]+$/ || all == "all" {
			if (NF != ncol) { print "wrong number of fields: " $0; exit 1 }
			for (i = 3; i <= NF; i++)
				if ($i !~ /^[0-9]+(\.[0-9])?$/) { print "not a number: " $i; exit 1 }
			if ($2 !~ /^cpu[0-9]+$/)
				next
			lines++
			s += $(col["scheduled/s"]) + $(col["executed/s"])
			next
		}
		{ print "unexpected line: " $0; exit 1 }
		END {
			if (lines != ncpu) { print lines " per-CPU lines, expected " ncpu; exit 1 }
			if (s <= 0) { print "all the rates are zero under load"; exit 1 }
		}' "$1" || fail "bhqstat's output is wrong"
	echo "bhqstat: $ncpu per-CPU lines of numbers, non-zero rates"
}

load_start
sleep 1
echo "+ bhqstat -1 -i 2 'cpu*'"
rc=0
sh "$tools/bhqstat" -1 -i 2 'cpu*' >"$tmp/bhqstat.out" 2>&1 || rc=$?
[ $rc -eq 0 ] || { cat "$tmp/bhqstat.out"; fail "bhqstat exited $rc"; }
if command -v busybox >/dev/null 2>&1; then
	echo "+ busybox sh bhqstat -1 -i 1 -a  (under busybox's sh and awk too)"
	rc=0
	{ mkdir "$tmp/bb" && busybox --install -s "$tmp/bb"; } || fail "busybox --install"
	PATH=$tmp/bb:$PATH busybox sh "$tools/bhqstat" -1 -i 1 -a >"$tmp/bb.out" 2>&1 || rc=$?
	[ $rc -eq 0 ] || { cat "$tmp/bb.out"; fail "busybox sh bhqstat exited $rc"; }
fi
load_stop
bhqstat_check "$tmp/bhqstat.out"
[ ! -f "$tmp/bb.out" ] || bhqstat_check "$tmp/bb.out" all
echo "+ bhqstat -1 nosuchctx  (must fail)"
if sh "$tools/bhqstat" -1 nosuchctx; then fail "bhqstat took a pattern that matches nothing"; fi
echo "+ bhqstat -i 0  (must exit 2)"
sh "$tools/bhqstat" -i 0 >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] || fail "bhqstat -i 0 exited $rc, not 2"

# --- bpftrace
echo "+ bpftrace bhq_latency.bt  (compiling under TCG takes a while)"
bpftrace "$tools/bhq_latency.bt" >"$tmp/bt.out" 2>&1 &
bt_pid=$!
i=0
until grep -q 'Hit Ctrl-C' "$tmp/bt.out"; do
	kill -0 $bt_pid 2>/dev/null || { cat "$tmp/bt.out"; fail "bpftrace exited before it attached"; }
	i=$((i + 1))
	[ $i -lt 120 ] || { kill $bt_pid; cat "$tmp/bt.out"; fail "bpftrace did not attach in 120s"; }
	sleep 1
done
echo "bpftrace attached after ${i}s"
load_start
sleep 3
load_stop
# The callbacks' names are resolved when bpftrace prints: keep the demo
# module loaded until then.
bhq_insmod bhq_demo rounds=20 || fail "insmod bhq_demo.ko"
kill -INT $bt_pid
# On SIGINT bpftrace prints its maps, resolving every callback's name in
# /proc/kallsyms: under TCG on a busy host that took over 60 s once.
i=0
while kill -0 $bt_pid 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 150 ] || { kill -9 $bt_pid; fail "bpftrace did not end in 150 s after SIGINT"; }
	sleep 1
done
echo "bpftrace ended ${i}s after SIGINT"
wait $bt_pid
cat "$tmp/bt.out"
rmmod bhq_demo || fail "rmmod bhq_demo"
# The histogram of demo_bh_fn, then a bucket line with a count.
awk '
	/^@usecs\[demo_bh_fn\]:/ { in_h = 1; named = 1; next }
	/^@/ { in_h = 0 }
	# "[128, 256)   32430 |@@@@   |" or "[1]   5 |@@|": the count
	# follows the bucket.
	in_h && /^\[[0-9]/ {
		l = $0
		sub(/^[^])]*[])] */, "", l)
		split(l, f, " ")
		if (f[1] + 0 > 0) { buckets++; n += f[1] }
	}
	/^@runs\[demo_bh_fn\]: [1-9]/ { runs = $2 }
	END {
		if (!named) { print "no histogram for demo_bh_fn"; exit 1 }
		if (!buckets) { print "the histogram of demo_bh_fn has no counts"; exit 1 }
		if (n != runs) { print "histogram counts " n " but @runs " runs; exit 1 }
		print "bpftrace: demo_bh_fn timed " n " times in " buckets " buckets"
	}' "$tmp/bt.out" || fail "bhq_latency.bt's output is wrong"

# --- trace-cmd
before_scheduled=$(counter_sum scheduled)
before_executed=$(counter_sum executed)
echo "+ trace-cmd record -e bhq -o $tmp/trace.dat insmod bhq_demo.ko nr_bhs=8 rounds=5"
trace-cmd record -e bhq -o "$tmp/trace.dat" insmod "$demo" nr_bhs=8 rounds=5 \
	>"$tmp/record.out" 2>&1 || { cat "$tmp/record.out"; fail "trace-cmd record"; }
sched=$(($(counter_sum scheduled) - before_scheduled))
exec=$(($(counter_sum executed) - before_executed))
trace-cmd report -i "$tmp/trace.dat" >"$tmp/report.out" 2>"$tmp/report.err" ||
	{ cat "$tmp/report.err"; fail "trace-cmd report"; }
grep -m 3 'bhq_schedule:' "$tmp/report.out"
grep -m 3 'bhq_execute_start:' "$tmp/report.out"
rs=$(grep -c ' bhq_schedule: ' "$tmp/report.out")
re=$(grep -c ' bhq_execute_start: ' "$tmp/report.out")
echo "trace-cmd report: $rs bhq_schedule, $re bhq_execute_start; counters: scheduled $sched, executed $exec"
if [ "$rs" -eq 0 ] || [ "$re" -eq 0 ]; then
	fail "trace-cmd report shows no bhq events"
fi
[ "$rs" -eq "$sched" ] || fail "bhq_schedule: $rs events, counters say $sched"
[ "$re" -eq "$exec" ] || fail "bhq_execute_start: $re events, counters say $exec"
grep -q 'bhq_execute_start: .*func=demo_bh_fn' "$tmp/report.out" ||
	fail "trace-cmd report does not name demo_bh_fn"
rmmod bhq_demo || fail "rmmod bhq_demo"
rmmod bhq || fail "rmmod bhq"
rm -rf "$tmp"
kernel_clean
pass
