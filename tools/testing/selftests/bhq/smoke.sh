#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# bhq's smoke test (what `make run` shows):
#
#	smoke.sh [-m DIR]
#
# Load bhq with CPU 1 offline (when it can go offline), check that
# userspace cannot move any per-CPU thread (the offline CPU's included)
# and that there is one per possible CPU, bring CPU 1 back, run the demo
# load through the per-CPU contexts (it checks that each BH ran on its
# context's CPU), show the counters, check that they reconcile, unload,
# and fail on any kernel report.
. "$(dirname "$0")/lib.sh"
bhq_args "$@"
kmsg_mark
bhq_unload_all

# The pids of the per-CPU threads bhq/N.
bhq_threads() {
	for f in /proc/[0-9]*/comm; do
		case "$(cat "$f" 2>/dev/null)" in
		bhq/[0-9]*) p=${f#/proc/}; echo "${p%/comm}" ;;
		esac
	done
}

cpu1=/sys/devices/system/cpu/cpu1/online
if [ -w $cpu1 ] && [ "$(cat $cpu1)" = 1 ]; then
	echo "+ echo 0 > $cpu1  (CPU 1 offline while bhq loads)"
	echo 0 >$cpu1 || fail "cannot offline CPU 1"
	offlined=1
fi
bhq_insmod bhq || fail "insmod bhq.ko"
ls $D
n=0
for p in $(bhq_threads); do
	if taskset -p 1 "$p" >/dev/null 2>&1; then
		fail "taskset moved $(cat /proc/"$p"/comm) (pid $p)"
	fi
	n=$((n + 1))
done
echo "taskset -p refused for all $n per-CPU threads"
# One thread per possible CPU; the list reads like "0-3" or "0,2-5".
possible=$(awk -F, '{ for (i = 1; i <= NF; i++) { split($i, r, "-");
	n += (r[2] == "" ? 1 : r[2] - r[1] + 1) } } END { print n }' \
	/sys/devices/system/cpu/possible)
[ "$n" -eq "$possible" ] ||
	fail "expected one bhq/N thread per possible CPU ($possible), found $n"
if [ -n "${offlined:-}" ]; then
	echo "+ echo 1 > $cpu1"
	echo 1 >$cpu1 || fail "cannot online CPU 1"
fi
bhq_insmod bhq_demo || fail "insmod bhq_demo.ko (load through every per-CPU context)"
kmsg | grep bhq_demo | tail -n 5
echo "+ cat $D/summary"
cat $D/summary
echo "+ cat $D/demo/stats  (the demo's manual context: nested polls)"
cat $D/demo/stats
reconcile $D/summary
[ "$(counter $D/demo/stats nested_polls)" -eq 2 ] || fail "demo: expected 2 nested polls"
[ "$(counter $D/demo/stats max_depth)" -eq 3 ] || fail "demo: expected depth 3"
live=$(counter $D/summary live)
echo "+ rmmod bhq_demo"
rmmod bhq_demo || fail "rmmod bhq_demo"
reconcile $D/summary
after=$(counter $D/summary live)
echo "live BHs: $live with the demo loaded, $after after rmmod"
[ "$after" -eq 0 ] || fail "live did not return to 0 after rmmod"
[ "$live" -gt 0 ] || fail "the demo did not allocate BHs"
echo "+ rmmod bhq"
rmmod bhq || fail "rmmod bhq"
kernel_clean
pass
