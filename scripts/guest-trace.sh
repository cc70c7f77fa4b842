#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the test guest: trace the demo load with bhq's tracepoints
# (tracefs) and check that the events in the trace buffer match the
# counters in debugfs.
D=/sys/kernel/debug/bhq
T=/sys/kernel/tracing
fail() { echo "TRACE FAIL: $*"; exit 1; }

# Sum counter $1 over the stats files of every context.
sum() {
	cat $D/*/stats | awk -v k="$1" '$1 == k { s += $2 } END { print s + 0 }'
}
events() { grep -c " $1: " /tmp/trace; }

insmod /bhq.ko || fail "insmod bhq.ko"
cat $D/version
[ -d $T/events/bhq ] || fail "no bhq events in $T/events"
ls $T/events/bhq
sleep 1
for k in scheduled coalesced executed polls timeouts_idle timeouts_infinite; do
	eval "before_$k=$(sum $k)"
done
echo 0 > $T/tracing_on
echo > $T/trace
echo 8192 > $T/buffer_size_kb
echo 1 > $T/events/bhq/enable
echo 1 > $T/tracing_on
insmod /bhq_demo.ko nr_bhs=8 rounds=5 || fail "insmod bhq_demo.ko"
sleep 1
echo 0 > $T/tracing_on
cp $T/trace /tmp/trace
head -n 3 /tmp/trace
grep -m 6 ' bhq_' /tmp/trace

check() {
	echo "$1: $2 events, counters say $3"
	[ "$2" -eq "$3" ] || fail "$1: $2 events but counters say $3"
}
check bhq_schedule "$(events bhq_schedule)" $(($(sum scheduled) - before_scheduled))
check "bhq_schedule coalesced=1" "$(grep -c ' bhq_schedule: .*coalesced=1' /tmp/trace)" \
	$(($(sum coalesced) - before_coalesced))
check bhq_execute_start "$(events bhq_execute_start)" $(($(sum executed) - before_executed))
check bhq_execute_end "$(events bhq_execute_end)" $(($(sum executed) - before_executed))
check bhq_poll_start "$(events bhq_poll_start)" $(($(sum polls) - before_polls))
check bhq_poll_end "$(events bhq_poll_end)" $(($(sum polls) - before_polls))
check bhq_sleep "$(events bhq_sleep)" \
	$(($(sum timeouts_idle) + $(sum timeouts_infinite) - before_timeouts_idle - before_timeouts_infinite))
rmmod bhq_demo && rmmod bhq || fail "rmmod"
if dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace'; then
	fail "the kernel log shows a warning"
fi
echo "TRACE PASS"
