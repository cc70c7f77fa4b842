#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run bhq's benchmarks (bhq_bench.ko) and print their results:
#
#	bench.sh [-m DIR] [PARAM=VALUE...]
#
# Load bhq, check that bhq_bench rejects a bad parameter with EINVAL and a
# message, run every benchmark with the module parameters given
# (reps=, max_n=, only=, cpu_a=, ...), print the results between
# BHQ-BENCH-BEGIN and BHQ-BENCH-END (scripts/bench.sh on the host makes
# the tables and plots from them), unload, and fail on any kernel report.
. "$(dirname "$0")/lib.sh"
bhq_args "$@"
shift "$bhq_shift"
kmsg_mark
R=/sys/kernel/debug/bhq_bench/results
bhq_unload_all
bhq_insmod bhq || fail "insmod bhq.ko"

# reps=1 cannot give a median with a spread: the load must fail, clearly.
bench=$(bhq_module bhq_bench) || exit 1
if insmod "$bench" reps=1 2>/tmp/bhq-err.$$; then
	rmmod bhq_bench
	fail "bhq_bench.ko accepted reps=1"
fi
grep -q "Invalid argument" /tmp/bhq-err.$$ ||
	fail "reps=1 did not give EINVAL: $(cat /tmp/bhq-err.$$)"
kmsg | grep -q "bhq_bench: reps=1 is out of range" ||
	fail "reps=1: no message in the kernel log"
echo "bad parameter rejected: $(cat /tmp/bhq-err.$$)"
rm -f /tmp/bhq-err.$$

t0=$(cut -d' ' -f1 /proc/uptime)
bhq_insmod bhq_bench "$@" || fail "insmod bhq_bench.ko $*"
t1=$(cut -d' ' -f1 /proc/uptime)
# insmod's status is not enough: see bhq_insmod in lib.sh.
if kmsg | grep "bhq_bench: a benchmark failed"; then
	fail "a benchmark failed, and its second run did not count (kernel log above)"
fi
echo "benchmarks ran from ${t0}s to ${t1}s of uptime"
echo "BHQ-BENCH-BEGIN"
cat $R
echo "BHQ-BENCH-END"
rmmod bhq_bench || fail "rmmod bhq_bench"
rmmod bhq || fail "rmmod bhq"
kernel_clean
pass
