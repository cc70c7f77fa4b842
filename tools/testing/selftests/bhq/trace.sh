#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# bhq's tracepoints against its counters:
#
#	trace.sh [-m DIR]
#
# Load bhq (unless it is loaded), trace the demo load with the bhq events
# (tracefs) and check that the events in the trace buffer match what the
# debugfs counters of every context counted meanwhile.
. "$(dirname "$0")/lib.sh"
bhq_args "$@"
kmsg_mark
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs tracefs $T 2>/dev/null
[ -d $T/events ] || T=/sys/kernel/debug/tracing
[ -d $T/events ] || skip "no tracefs"
bhq_loaded bhq_demo && { rmmod bhq_demo || fail "rmmod bhq_demo"; }
loaded_here=
if ! bhq_loaded bhq; then
	bhq_insmod bhq || fail "insmod bhq.ko"
	loaded_here=1
fi
cat $D/version
[ -d $T/events/bhq ] || fail "no bhq events in $T/events"
ls $T/events/bhq
sleep 1
events() { grep -c " $1: " /tmp/bhq-trace.$$; }
for k in scheduled coalesced executed polls timeouts_idle timeouts_infinite; do
	eval "before_$k=$(counter_sum $k)"
done
echo 0 >$T/tracing_on
echo >$T/trace
echo 8192 >$T/buffer_size_kb
echo 1 >$T/events/bhq/enable
echo 1 >$T/tracing_on
bhq_insmod bhq_demo nr_bhs=8 rounds=5 || fail "insmod bhq_demo.ko"
sleep 1
echo 0 >$T/tracing_on
echo 0 >$T/events/bhq/enable
cp $T/trace /tmp/bhq-trace.$$
head -n 3 /tmp/bhq-trace.$$
grep -m 6 ' bhq_' /tmp/bhq-trace.$$
grep -q 'LOST.*EVENTS' /tmp/bhq-trace.$$ && fail "the trace buffer overflowed"

check() {
	echo "$1: $2 events, counters say $3"
	[ "$2" -eq "$3" ] || fail "$1: $2 events but counters say $3"
}
check bhq_schedule "$(events bhq_schedule)" $(($(counter_sum scheduled) - before_scheduled))
check "bhq_schedule coalesced=1" "$(grep -c ' bhq_schedule: .*coalesced=1' /tmp/bhq-trace.$$)" \
	$(($(counter_sum coalesced) - before_coalesced))
check bhq_execute_start "$(events bhq_execute_start)" $(($(counter_sum executed) - before_executed))
check bhq_execute_end "$(events bhq_execute_end)" $(($(counter_sum executed) - before_executed))
check bhq_poll_start "$(events bhq_poll_start)" $(($(counter_sum polls) - before_polls))
check bhq_poll_end "$(events bhq_poll_end)" $(($(counter_sum polls) - before_polls))
check bhq_sleep "$(events bhq_sleep)" \
	$(($(counter_sum timeouts_idle) + $(counter_sum timeouts_infinite) - before_timeouts_idle - before_timeouts_infinite))
rm -f /tmp/bhq-trace.$$
rmmod bhq_demo || fail "rmmod bhq_demo"
[ -z "$loaded_here" ] || rmmod bhq || fail "rmmod bhq"
kernel_clean
pass
