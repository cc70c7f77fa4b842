#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the test guest (busybox sh), put there by scripts/bench.sh
# through scripts/guest.sh: load bhq, check that bhq_bench rejects a bad
# parameter with EINVAL and a message, run every benchmark with the module
# parameters in /bench.params, print the results between BHQ-BENCH-BEGIN
# and BHQ-BENCH-END, unload, and fail on any kernel warning.
R=/sys/kernel/debug/bhq_bench/results
fail() {
	echo "BENCH FAIL: $*"
	dmesg | tail -n 40
	exit 1
}

params=$(cat /bench.params 2>/dev/null)
insmod /bhq.ko || fail "insmod bhq.ko"

# reps=1 cannot give a median with a spread: the load must fail, clearly.
if insmod /bhq_bench.ko reps=1 2>/tmp/err; then
	rmmod bhq_bench
	fail "bhq_bench.ko accepted reps=1"
fi
grep -q "Invalid argument" /tmp/err || fail "reps=1 did not give EINVAL: $(cat /tmp/err)"
dmesg | grep -q "bhq_bench: reps=1 is out of range" || fail "reps=1: no message in the kernel log"
echo "bad parameter rejected: $(cat /tmp/err)"

echo "+ insmod bhq_bench.ko $params"
t0=$(cut -d' ' -f1 /proc/uptime)
# shellcheck disable=SC2086
insmod /bhq_bench.ko $params || fail "insmod bhq_bench.ko $params"
t1=$(cut -d' ' -f1 /proc/uptime)
echo "benchmarks ran from ${t0}s to ${t1}s of uptime"
echo "BHQ-BENCH-BEGIN"
cat $R
echo "BHQ-BENCH-END"
rmmod bhq_bench || fail "rmmod bhq_bench"
rmmod bhq || fail "rmmod bhq"
if dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection|soft lockup|blocked for more than|rcu_.*stall'; then
	fail "the kernel log shows a warning"
fi
echo "BENCH PASS"
