#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# bhq_blk's test: the block device whose completions run in bhq.
#
#	blk.sh [-m DIR] [PATH[,PARAM=VALUE...]...]
#
# First every bad parameter (each out-of-range value, a bad completion
# string) must refuse the load with a message that names the parameter.
# Then for each completion path (bhq, softirq with a queue per CPU and
# with one queue, wq, kworker, inline; or the PATHs given, each with more
# parameters after commas): load bhq_blk memory-backed, write a pattern
# at several offsets with dd (O_DIRECT when it works), read it back and
# compare, check that unwritten sectors read as zeros, run readers and
# writers at once, check the counters (submitted == completed, inflight
# 0, no double completion), inject a double completion and check that it
# is caught and does not end the request twice, check that rmmod is
# refused while a dd holds the device open, run I/O while CPU 1 goes
# offline and online, check the data and the counters again, and unload
# right after buffered I/O.  Fails on any kernel report.
. "$(dirname "$0")/lib.sh"
bhq_args "$@"
shift "$bhq_shift"
kmsg_mark
bhq_unload_all

# softirq with one hardware queue: blk-mq completes in BLOCK_SOFTIRQ
# (or by IPI on the submitting CPU); with a queue per CPU it calls our
# .complete at once, in queue_rq.
paths=${*:-"bhq softirq softirq,hw_queues=1 wq kworker inline"}
DEV=/dev/bhqblk0
STATS=/sys/kernel/debug/bhq_blk/stats
T=/tmp/bhq_blk
CPU1=/sys/devices/system/cpu/cpu1/online
mkdir -p $T

# nr_cpu_ids: one more than the highest possible CPU.
nr_cpu_ids=$(awk -F'[-,]' '{ print $NF + 1 }' /sys/devices/system/cpu/possible)

bhq_insmod bhq || fail "insmod bhq.ko"

# bad_param NAME PARAM...: loading with PARAMs must fail and the kernel
# log must name NAME.
bad_param() {
	name=$1
	shift
	mark="bhq-selftest: blk: bad $* $$"
	echo "$mark" >/dev/kmsg
	if bhq_insmod bhq_blk "$@" 2>/dev/null; then
		rmmod bhq_blk
		fail "bhq_blk loaded with $*"
	fi
	bhq_loaded bhq_blk && fail "bhq_blk loaded with $*"
	msg=$(dmesg | sed -n "/$mark/,\$p" | grep "bhq_blk" | grep "$name" | tail -n 1)
	[ -n "$msg" ] || fail "no message naming $name after a load with $*"
	echo "refused: $msg"
}

bad_param size_mb memory_backed=1 size_mb=0
bad_param size_mb memory_backed=1 size_mb=4097
bad_param size_mb memory_backed=0 size_mb=1048577
bad_param hw_queues hw_queues=$((nr_cpu_ids + 1))
bad_param queue_depth queue_depth=0
bad_param queue_depth queue_depth=4097
bad_param block_size block_size=0
bad_param block_size block_size=1024
bad_param block_size block_size=8192
bad_param memory_backed memory_backed=2
bad_param completion completion=bogus
bad_param completion completion=

# pattern BS SEEK: the file of the 256 KiB written at block SEEK of BS
# bytes: 32768 lines of 7 digits, counting up from 1000000 plus the
# sector, so that data found at the wrong place, or from another write,
# differs.  Not from /dev/urandom: under TCG, reading it while the
# kernel patches its crng_ready() static branch (about 5 s after boot)
# has hit a stale int3 in urandom_read_iter(), an oops unrelated to us.
pattern() {
	f=$T/pattern.$1.$2
	if [ ! -e "$f" ]; then
		first=$((1000000 + $1 * $2 / 512))
		seq $first $((first + 32767)) >"$f"
	fi
	echo "$f"
}
# Zeros, to compare holes with.
dd if=/dev/zero of=$T/zeros bs=4096 count=64 2>/dev/null

# O_DIRECT, unless this dd or kernel refuses it (then plain I/O, with
# the caches dropped before reading back).
direct_w=oflag=direct
direct_r=iflag=direct

# put BS SEEK: write the pattern at block SEEK of BS bytes.  The device
# is 64 MiB; the writes here and the loops below do not overlap.
put() {
	dd if="$(pattern "$1" "$2")" of=$DEV bs="$1" seek="$2" \
		count=$((262144 / $1)) $direct_w conv=fsync 2>$T/dd.err ||
		{ cat $T/dd.err; fail "dd write bs=$1 seek=$2"; }
}

# check BS SKIP [FILE]: read 256 KiB at block SKIP and compare with FILE
# (by default the pattern that put wrote there).
check() {
	[ -n "$direct_r" ] || echo 3 >/proc/sys/vm/drop_caches
	dd if=$DEV of=$T/back bs="$1" skip="$2" count=$((262144 / $1)) \
		$direct_r 2>$T/dd.err ||
		{ cat $T/dd.err; fail "dd read bs=$1 skip=$2"; }
	cmp "${3:-$(pattern "$1" "$2")}" $T/back ||
		fail "data read at bs=$1 skip=$2 differs from what was written"
}

# stats_ok WHEN: once quiet, every request submitted was completed once
# (and $doubles double completions were caught: the injected ones).
stats_ok() {
	i=0
	while [ "$(counter $STATS inflight)" != 0 ] && [ $i -lt 50 ]; do
		sleep 0.1 2>/dev/null || sleep 1
		i=$((i + 1))
	done
	echo "+ cat $STATS  ($1)"
	cat $STATS
	s=$(counter $STATS submitted)
	c=$(counter $STATS completed)
	[ "$s" -gt 0 ] || fail "$1: no request submitted"
	[ "$s" -eq "$c" ] || fail "$1: submitted $s != completed $c"
	[ "$(counter $STATS inflight)" -eq 0 ] || fail "$1: inflight not 0"
	[ "$(counter $STATS double_completions)" -eq "$doubles" ] ||
		fail "$1: double completions, $doubles expected"
}

# io_loop ID BS SEEK: until $T/stop exists, write the pattern at block
# SEEK and read it back; a mismatch leaves $T/bad.ID.
io_loop() {
	pat=$(pattern "$2" "$3")
	while [ ! -e $T/stop ]; do
		dd if="$pat" of=$DEV bs="$2" seek="$3" \
			count=$((262144 / $2)) $direct_w 2>/dev/null ||
			{ echo "write failed" >$T/bad."$1"; return; }
		dd if=$DEV of=$T/back."$1" bs="$2" skip="$3" \
			count=$((262144 / $2)) $direct_r 2>/dev/null ||
			{ echo "read failed" >$T/bad."$1"; return; }
		cmp -s "$pat" $T/back."$1" ||
			{ echo "data differs" >$T/bad."$1"; return; }
	done
}

# io_start / io_stop: three loops at once (so that drains batch), one of
# them with 512-byte blocks not aligned to pages.
io_start() {
	rm -f $T/stop $T/bad.*
	io_loop 1 4096 2048 &
	p1=$!
	io_loop 2 4096 3072 &
	p2=$!
	io_loop 3 512 40961 &
	p3=$!
}

io_stop() {
	touch $T/stop
	wait $p1 $p2 $p3
	for f in "$T"/bad.*; do
		[ -e "$f" ] && fail "$1: I/O loop ${f#"$T"/bad.}: $(cat "$f")"
	done
	rm -f $T/stop
}

# hotplug_ok: whether CPU 1 can go offline here.
hotplug_ok() {
	[ -w $CPU1 ] && [ "$(cat $CPU1)" = 1 ]
}

# kworker_bound: the kthread_worker of CPU 1 is bound to CPU 1 again.
kworker_bound() {
	for f in /proc/[0-9]*/comm; do
		[ "$(cat "$f" 2>/dev/null)" = bhq_blk/1 ] || continue
		st=${f%/comm}/status
		cpus=$(awk '$1 == "Cpus_allowed_list:" { print $2 }' "$st")
		echo "bhq_blk/1 may run on CPUs $cpus"
		[ "$cpus" = 1 ] || fail "the worker of CPU 1 is not bound to it after hotplug"
		return 0
	done
	fail "no kthread_worker bhq_blk/1"
}

test_path() {
	path=${1%%,*}
	params=
	[ "$path" = "$1" ] || params=$(echo "${1#*,}" | tr , ' ')
	echo "=== completion=$path $params"
	# shellcheck disable=SC2086
	bhq_insmod bhq_blk memory_backed=1 size_mb=64 completion="$path" $params ||
		fail "insmod bhq_blk completion=$path $params"
	[ -b $DEV ] || fail "no $DEV"
	[ "$(counter $STATS completion)" = "$path" ] ||
		fail "stats show completion $(counter $STATS completion)"
	doubles=0

	# Does O_DIRECT work with this dd?  Decided once, on the first path.
	if [ -z "${direct_decided:-}" ]; then
		direct_decided=1
		if ! dd if=$T/zeros of=$DEV bs=4096 count=1 oflag=direct 2>/dev/null ||
		   ! dd if=$DEV of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null; then
			echo "dd cannot do O_DIRECT here: plain I/O, caches dropped"
			direct_w=
			direct_r=
		fi
	fi

	# Holes read as zeros, before and after writes around them.
	check 4096 4096 $T/zeros
	put 4096 0
	put 4096 100
	put 512 8193
	put 4096 16320
	check 4096 0
	check 4096 100
	check 512 8193
	check 4096 16320
	check 4096 4096 $T/zeros
	stats_ok "completion=$path, after writes and reads"
	[ "$(counter $STATS bytes_written)" -ge $((4 * 262144)) ] ||
		fail "bytes_written below what was written"

	io_start
	sleep 2
	io_stop "completion=$path"
	stats_ok "completion=$path, after concurrent loops"

	# A double completion, injected, is caught: counted, warned about,
	# and the request is ended once (blk-mq would complain otherwise).
	echo "<3>BHQ-EXPECTED-WARNING-BEGIN bhq_blk: an injected double completion" >/dev/kmsg
	echo 1 >/sys/kernel/debug/bhq_blk/inject_double_completions
	dd if=$DEV of=/dev/null bs=4096 count=1 $direct_r 2>/dev/null ||
		fail "dd read with a double completion injected"
	echo "<3>BHQ-EXPECTED-WARNING-END" >/dev/kmsg
	kmsg | sed -n '/BEGIN bhq_blk: an injected/,/WARNING-END/p' |
		grep -q "completed twice" || fail "no warning of the double completion"
	doubles=1
	[ "$(cat /sys/kernel/debug/bhq_blk/inject_double_completions)" -eq 0 ] ||
		fail "the injected double completion did not happen"
	stats_ok "completion=$path, after an injected double completion"

	# An open device holds the module: rmmod must be refused while a
	# reader keeps it open (and busy), and work once it is gone.
	sh -c "exec 3<$DEV; while [ ! -e $T/stop ]; do
		dd if=$DEV of=/dev/null bs=4096 count=64 $direct_r 2>/dev/null
	done" &
	holder=$!
	sleep 1
	echo "+ rmmod bhq_blk  (with a dd holding $DEV open: must fail)"
	if rmmod bhq_blk; then
		fail "rmmod bhq_blk succeeded while $DEV was open"
	fi
	bhq_loaded bhq_blk || fail "bhq_blk went away while $DEV was open"
	touch $T/stop
	wait $holder
	rm -f $T/stop

	if hotplug_ok; then
		io_start
		for i in 1 2 3; do
			echo "+ echo 0 > $CPU1  (I/O running)"
			echo 0 >$CPU1 || fail "cannot offline CPU 1"
			sleep 1
			echo "+ echo 1 > $CPU1"
			echo 1 >$CPU1 || fail "cannot online CPU 1"
			sleep 1
		done
		io_stop "completion=$path, CPU 1 offline and online"
		check 4096 2048
		check 512 40961
		stats_ok "completion=$path, after CPU hotplug"
		[ "$path" != kworker ] || kworker_bound
	else
		echo "CPU 1 cannot go offline: no hotplug part"
	fi

	# Unload right after buffered I/O: the last close writes the dirty
	# pages back, and a read leaves readahead that may still be in
	# flight; del_gendisk() must wait for both, through our completions.
	dd if="$(pattern 4096 8192)" of=$DEV bs=4096 seek=8192 2>/dev/null ||
		fail "buffered dd write"
	dd if=$DEV of=/dev/null bs=4096 skip=9000 count=1 2>/dev/null ||
		fail "buffered dd read"
	echo "+ rmmod bhq_blk  (right after buffered I/O)"
	rmmod bhq_blk || fail "rmmod bhq_blk (completion=$path)"
	[ -e $DEV ] && fail "$DEV still there after rmmod"
	kernel_clean
}

for p in $paths; do
	test_path "$p"
done
echo "+ rmmod bhq"
rmmod bhq || fail "rmmod bhq"
rm -rf $T
kernel_clean
pass
