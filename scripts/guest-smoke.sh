#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the test guest (busybox sh): load bhq, run the demo load
# through the per-CPU contexts, show the counters, check that they
# reconcile, unload, and fail on any warning in the kernel log.
D=/sys/kernel/debug/bhq
fail() { echo "SMOKE FAIL: $*"; exit 1; }
stat() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

# scheduled - coalesced == executed + cancelled once nothing is pending.
reconcile() {
	s=$(stat scheduled "$1"); c=$(stat coalesced "$1")
	e=$(stat executed "$1"); x=$(stat cancelled "$1")
	echo "check $1: scheduled $s - coalesced $c = $((s - c)), executed $e + cancelled $x = $((e + x))"
	[ $((s - c)) -eq $((e + x)) ] || fail "counters of $1 do not reconcile"
}

echo "+ insmod bhq.ko"
insmod /bhq.ko || fail "insmod bhq.ko"
ls $D
echo "+ insmod bhq_demo.ko  (load through every per-CPU context)"
insmod /bhq_demo.ko || fail "insmod bhq_demo.ko"
dmesg | grep bhq_demo
echo "+ cat $D/summary"
cat $D/summary
echo "+ cat $D/demo/stats  (the demo's manual context: nested polls)"
cat $D/demo/stats
reconcile $D/summary
[ "$(stat nested_polls $D/demo/stats)" -eq 2 ] || fail "demo: expected 2 nested polls"
[ "$(stat max_depth $D/demo/stats)" -eq 3 ] || fail "demo: expected depth 3"
live=$(stat live $D/summary)
echo "+ rmmod bhq_demo"
rmmod bhq_demo || fail "rmmod bhq_demo"
reconcile $D/summary
after=$(stat live $D/summary)
echo "live BHs: $live with the demo loaded, $after after rmmod"
[ "$after" -eq 0 ] || fail "live did not return to 0 after rmmod"
[ "$live" -gt 0 ] || fail "the demo did not allocate BHs"
echo "+ rmmod bhq"
rmmod bhq || fail "rmmod bhq"
if dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection'; then
	fail "the kernel log shows a warning"
fi
echo "SMOKE PASS"
