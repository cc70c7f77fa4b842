# SPDX-License-Identifier: GPL-2.0
# Shared by the bhq selftests.  POSIX sh: they run under busybox in the
# test guest as well as on any machine with bhq built.  Each test takes
#
#	-m DIR	where the modules are (searched below DIR, so the top of a
#		built bhq tree will do); without it, modinfo -n finds the
#		installed ones (DKMS or a kernel tree)
#
# and exits 0 on success, 1 on failure and 4 (kselftest's skip) when the
# kernel lacks what the test needs.  They need root, debugfs and module
# loading; tests that load bhq themselves unload a bhq already loaded.
# shellcheck shell=sh

KSFT_SKIP=4
D=/sys/kernel/debug/bhq
BHQ_SELFTESTS=$(cd "$(dirname "$0")" && pwd)
bhq_test=$(basename "$0" .sh)
bhq_moddir=

fail() {
	echo "$bhq_test: FAIL: $*"
	exit 1
}

skip() {
	echo "$bhq_test: SKIP: $*"
	exit $KSFT_SKIP
}

pass() {
	echo "$bhq_test: PASS"
	exit 0
}

# bhq_args "$@": take -m DIR; the number of arguments taken is in
# $bhq_shift for the caller to shift them off.
bhq_args() {
	bhq_shift=0
	while [ $# -gt 0 ]; do
		case "$1" in
		-m) [ $# -ge 2 ] || fail "-m needs a directory"
			bhq_moddir=$2; shift 2; bhq_shift=$((bhq_shift + 2)) ;;
		-h | --help) sed -n '3,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
		--) bhq_shift=$((bhq_shift + 1)); break ;;
		*) break ;;
		esac
	done
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	awk '$2 == "/sys/kernel/debug" { f = 1 } END { exit !f }' /proc/mounts ||
		mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null ||
		skip "debugfs is not mounted and cannot be"
}

# bhq_module NAME: the path of NAME.ko.
bhq_module() {
	if [ -n "$bhq_moddir" ]; then
		m=$(find "$bhq_moddir" -name "$1.ko" | head -n 1)
	else
		m=$(modinfo -n "$1" 2>/dev/null)
	fi
	[ -n "$m" ] && [ -f "$m" ] ||
		fail "no $1.ko (give its directory with -m DIR)"
	echo "$m"
}

# bhq_insmod NAME [PARAM...]: load NAME.ko with its parameters.  Beware:
# busybox's insmod runs a module's init a second time, with init_module(),
# when finit_module() failed, so a module whose init works only the second
# time loads with status 0.  A test whose module can fail in its init
# (bhq_bench's benchmarks) checks the kernel log for the first failure.
bhq_insmod() {
	m=$(bhq_module "$1") || exit 1
	shift
	echo "+ insmod $m $*"
	insmod "$m" "$@"
}

bhq_loaded() {
	grep -q "^$1 " /proc/modules
}

# bhq_unload_all: unload bhq and every module of this project that uses
# it, for a test that must load bhq itself.
bhq_unload_all() {
	for m in bhq_blk bhq_demo bhq_bench bhq_torture bhq_kunit bhq_kunit_lifetime \
		bhq_kunit_polling \
		bhq_kunit_hotplug bhq_kunit_misuse bhq; do
		if bhq_loaded $m; then
			echo "+ rmmod $m  (loaded before the test)"
			rmmod $m || fail "cannot unload $m: is it in use?"
		fi
	done
}

# counter FILE NAME: a counter's value in a stats file.
counter() {
	awk -v k="$2" '$1 == k { print $2 }' "$1"
}

# counter_sum NAME: counter NAME summed over the stats of every context.
counter_sum() {
	cat $D/*/stats | awk -v k="$1" '$1 == k { s += $2 } END { print s + 0 }'
}

# reconcile FILE: once nothing is pending, every schedule that enqueued a
# BH was dequeued once: scheduled - coalesced == executed + cancelled.
reconcile() {
	s=$(counter "$1" scheduled); c=$(counter "$1" coalesced)
	e=$(counter "$1" executed); x=$(counter "$1" cancelled)
	echo "check $1: scheduled $s - coalesced $c = $((s - c)), executed $e + cancelled $x = $((e + x))"
	[ $((s - c)) -eq $((e + x)) ] || fail "the counters of $1 do not reconcile"
}

# kmsg_mark: note the test's start in the kernel log; kernel_clean looks
# at what came after it only, so that older reports on a long-running
# machine are not blamed on this test.
kmsg_mark() {
	bhq_mark="bhq-selftest: $bhq_test: start $$"
	echo "$bhq_mark" >/dev/kmsg
}

# kmsg: the kernel log since kmsg_mark (all of it once the mark has left
# the ring buffer: then all of it came later).
kmsg() {
	bhq_log=$(dmesg)
	case "$bhq_log" in
	*"$bhq_mark"*) printf '%s\n' "$bhq_log" | sed -n "/$bhq_mark/,\$p" ;;
	*) printf '%s\n' "$bhq_log" ;;
	esac
}

# kernel_clean: fail when the kernel log since kmsg_mark shows a report.
kernel_clean() {
	if kmsg | sh "$BHQ_SELFTESTS/console-badness.sh"; then
		fail "the kernel log shows a report"
	fi
}
