#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# fio, a client nobody here wrote, against bhq_blk's completion paths and
# Debian's null_blk, in one boot (scripts/fio.sh runs it in the Debian
# guest, which has fio):
#
#	fio.sh [-m DIR] [FIO_SECONDS=N] [FIO_PATHS="PATH..."]
#	       [FIO_DEPTHS="D..."] [FIO_JOBS="J..."] [FIO_VERIFY_SECONDS=N]
#
# 1. For each completion path, iodepth and number of jobs: fio 4 KiB
#    random reads, O_DIRECT, libaio, FIO_SECONDS (default 5) each, one line
#    per run:
#
#	FIO-RESULT path=bhq depth=32 jobs=1 iops=.. p50_us=.. p99_us=.. p999_us=..
#
#    (completion latency percentiles).  PATHs (default all): bhq, bhq_poll
#    (bhq.ko loaded with poll_max_ns=32768, QEMU's IOThread window),
#    softirq, wq, kworker and inline (bhq_blk's completion=), null_blk and
#    null_blk_inline (Debian's null_blk, irqmode=1 and 0, when its module
#    and configfs's are in /; skipped otherwise).  After each bhq_blk run
#    its counters must balance: submitted == completed, nothing in flight,
#    no double completion.
# 2. Verify, when FIO_VERIFY_SECONDS (default 10) is not 0: bhq_blk
#    memory-backed on the bhq path, fio random writes with
#    --verify=crc32c (every block written is read back and checked), run
#    again until FIO_VERIFY_SECONDS have passed, while CPU 1 goes offline
#    and online; every fio run must end without error, CPU 1 must have
#    gone offline and online at least once and be online at the end, then
#    the counters must balance.  One line:
#
#	FIO-VERIFY path=bhq runs=.. hotplug=.. errors=0
#
# Fails on any failed run, unbalanced counter or kernel report.
. "$(dirname "$0")/lib.sh"
bhq_args "$@"
shift "$bhq_shift"
FIO_SECONDS=5
FIO_PATHS="bhq bhq_poll softirq wq kworker inline null_blk null_blk_inline"
FIO_DEPTHS="1 32"
FIO_JOBS="1 2"
FIO_VERIFY_SECONDS=10
for a in "$@"; do
	case "$a" in
	FIO_SECONDS=* | FIO_PATHS=* | FIO_DEPTHS=* | FIO_JOBS=* | \
		FIO_VERIFY_SECONDS=*) export "$a" ;;
	*) fail "unknown argument $a" ;;
	esac
done
case "$FIO_SECONDS$FIO_VERIFY_SECONDS" in
*[!0-9]* | "") fail "FIO_SECONDS and FIO_VERIFY_SECONDS must be numbers" ;;
esac
command -v fio >/dev/null || skip "no fio here (scripts/guest.sh --debian has it)"
kmsg_mark
bhq_unload_all

BLK_STATS=/sys/kernel/debug/bhq_blk/stats
T=/tmp/bhq-fio
mkdir -p $T
# The CPUs of the guest; the jobs of a run spread over them.
ncpus=$(grep -c ^processor /proc/cpuinfo)

# Debian's null_blk needs configfs; both come from the test kernel's own
# modules (scripts/fio.sh puts them in /).
null_blk_ok() {
	[ -f /null_blk.ko ] && [ -f /configfs.ko ]
}

# load PATH: load what PATH needs; DEV is its block device.
load() {
	case "$1" in
	bhq | softirq | wq | kworker | inline)
		bhq_insmod bhq || fail "insmod bhq.ko"
		bhq_insmod bhq_blk completion="$1" || fail "insmod bhq_blk.ko completion=$1"
		DEV=/dev/bhqblk0 ;;
	bhq_poll)
		bhq_insmod bhq poll_max_ns=32768 || fail "insmod bhq.ko poll_max_ns=32768"
		bhq_insmod bhq_blk completion=bhq || fail "insmod bhq_blk.ko completion=bhq"
		DEV=/dev/bhqblk0 ;;
	null_blk | null_blk_inline)
		irqmode=1
		[ "$1" = null_blk ] || irqmode=0
		grep -q '^configfs ' /proc/modules || insmod /configfs.ko ||
			fail "insmod configfs.ko"
		echo "+ insmod /null_blk.ko queue_mode=2 irqmode=$irqmode submit_queues=$ncpus hw_queue_depth=128 nr_devices=1"
		insmod /null_blk.ko queue_mode=2 irqmode=$irqmode \
			submit_queues="$ncpus" hw_queue_depth=128 nr_devices=1 ||
			fail "insmod null_blk.ko irqmode=$irqmode"
		DEV=/dev/nullb0 ;;
	*) fail "unknown path $1" ;;
	esac
}

unload() {
	case "$1" in
	null_blk*) rmmod null_blk || fail "rmmod null_blk" ;;
	*) bhq_unload_all ;;
	esac
}

# The device node may appear a moment after the module loaded.
wait_dev() {
	i=0
	while [ ! -b "$1" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -b "$1" ] || fail "no block device $1"
}

# balanced WHAT: bhq_blk's counters after its I/O ended.
balanced() {
	sub=$(counter $BLK_STATS submitted)
	com=$(counter $BLK_STATS completed)
	inf=$(counter $BLK_STATS inflight)
	dbl=$(counter $BLK_STATS double_completions)
	echo "check $1: submitted=$sub completed=$com inflight=$inf double_completions=$dbl"
	[ "$sub" -gt 0 ] || fail "$1: bhq_blk saw no request"
	[ "$sub" -eq "$com" ] || fail "$1: $sub requests submitted, $com completed"
	[ "$inf" -eq 0 ] || fail "$1: $inf requests still in flight"
	[ "$dbl" -eq 0 ] || fail "$1: $dbl double completions"
}

# field N of a terse line; the percentiles are "50.000000%=US".
terse_field() { echo "$1" | cut -d';' -f"$2"; }
pct() { terse_field "$1" "$2" | sed 's/^.*%=//'; }

# run PATH DEV DEPTH JOBS: one fio run, its FIO-RESULT line.
run() {
	out=$T/run.terse
	if ! fio --name=bhq-fio --filename="$2" --direct=1 --ioengine=libaio \
		--rw=randread --bs=4k --iodepth="$3" --numjobs="$4" \
		--group_reporting --time_based --runtime="$FIO_SECONDS" \
		--norandommap --randrepeat=0 --size=256m \
		--output-format=terse --terse-version=3 \
		--percentile_list=50:99:99.9 >$out 2>$T/run.err; then
		cat $T/run.err
		fail "fio on $1, iodepth $3, $4 jobs"
	fi
	line=$(tail -n 1 $out)
	[ "$(terse_field "$line" 5)" = 0 ] || fail "fio on $1 reports error $(terse_field "$line" 5)"
	iops=$(terse_field "$line" 8)
	[ "${iops:-0}" -gt 0 ] || fail "fio on $1 made no I/O: $line"
	echo "FIO-RESULT path=$1 depth=$3 jobs=$4 iops=$iops p50_us=$(pct "$line" 18) p99_us=$(pct "$line" 19) p999_us=$(pct "$line" 20)"
}

echo "+ fio 4 KiB random reads, ${FIO_SECONDS}s each: paths $FIO_PATHS; iodepths $FIO_DEPTHS; jobs $FIO_JOBS; $ncpus CPUs"
for p in $FIO_PATHS; do
	case "$p" in
	null_blk*) null_blk_ok || { echo "skip $p: no /null_blk.ko and /configfs.ko"; continue; } ;;
	esac
	load "$p"
	wait_dev "$DEV"
	for d in $FIO_DEPTHS; do
		for j in $FIO_JOBS; do
			run "$p" "$DEV" "$d" "$j"
		done
	done
	case "$p" in
	null_blk*) ;;
	*) balanced "$p" ;;
	esac
	unload "$p"
done

# Verify under CPU hotplug: CPU 1 offline and online every 200 ms until
# $T/stop exists.
hotplug_loop() {
	n=0
	cpu=/sys/devices/system/cpu/cpu1/online
	while [ ! -f $T/stop ]; do
		echo 0 >$cpu && echo 1 >$cpu && n=$((n + 1))
		sleep 0.2
	done
	echo "$n" >$T/hotplug
}

if [ "$FIO_VERIFY_SECONDS" -gt 0 ]; then
	echo "+ fio random writes with --verify=crc32c on memory-backed bhq_blk, ${FIO_VERIFY_SECONDS}s, CPU 1 offline and online meanwhile"
	bhq_insmod bhq || fail "insmod bhq.ko"
	bhq_insmod bhq_blk completion=bhq memory_backed=1 size_mb=64 ||
		fail "insmod bhq_blk.ko memory_backed=1"
	wait_dev /dev/bhqblk0
	rm -f $T/stop $T/hotplug
	hp=
	if [ -w /sys/devices/system/cpu/cpu1/online ]; then
		hotplug_loop &
		hp=$!
	fi
	start=$(cut -d. -f1 /proc/uptime)
	runs=0
	errors=0
	while :; do
		runs=$((runs + 1))
		if ! fio --name=bhq-verify --filename=/dev/bhqblk0 --direct=1 \
			--ioengine=libaio --rw=randwrite --bs=4k --iodepth=16 \
			--size=16m --randseed="$runs" --verify=crc32c \
			--do_verify=1 --verify_fatal=1 >$T/verify.out 2>&1; then
			errors=$((errors + 1))
			cat $T/verify.out
		fi
		grep -q "verify" $T/verify.out && grep -i "verify.*\(bad\|fail\|mismatch\)" $T/verify.out &&
			errors=$((errors + 1))
		[ $(($(cut -d. -f1 /proc/uptime) - start)) -lt "$FIO_VERIFY_SECONDS" ] || break
	done
	touch $T/stop
	[ -z "$hp" ] || wait "$hp"
	hotplug=$(cat $T/hotplug 2>/dev/null || echo 0)
	echo "FIO-VERIFY path=bhq runs=$runs hotplug=$hotplug errors=$errors"
	[ "$errors" -eq 0 ] || fail "$errors fio verify runs failed"
	# The loop ignores a refused offline or online: it must have made at
	# least one cycle, or nothing here ran under hotplug, and left CPU 1
	# online.
	if [ -n "$hp" ]; then
		[ "$hotplug" -gt 0 ] || fail "CPU 1 never went offline and online during the verify runs"
		[ "$(cat /sys/devices/system/cpu/cpu1/online)" = 1 ] ||
			fail "CPU 1 is left offline after the verify runs"
	fi
	balanced "verify"
	bhq_unload_all
fi
kernel_clean
echo "FIO SUMMARY: PASS"
