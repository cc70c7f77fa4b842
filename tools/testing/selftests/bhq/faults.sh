#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# bhq under the kernel's own fault injection (CONFIG_FAILSLAB,
# CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_STACKTRACE_FILTER; x86_64):
#
#	faults.sh [-m DIR]
#
# failslab and fail_page_alloc are aimed at module code by their
# stack-trace filter (only allocations with a module's code on the stack
# may fail, so the kernel around bhq keeps working):
#
#  1. LOAD_TRIES loads of bhq.ko while its init's allocations fail at
#     random: each load succeeds completely or fails with an error and
#     leaves nothing behind (no debugfs directory, no module);
#  2. with bhq loaded cleanly, DEMO_TRIES loads of the demo (contexts,
#     BHs, GFP_KERNEL and GFP_ATOMIC oneshots) under lighter faults;
#     afterwards, without faults, bhq's counters reconcile, no BH is left,
#     and a demo load without faults passes;
#  3. rmmod bhq.
# The harness runs it under kmemleak.sh: no leak may name bhq.
. "$(dirname "$0")/lib.sh"
bhq_args "$@"
kmsg_mark
[ -d /sys/kernel/debug/failslab ] && [ -d /sys/kernel/debug/fail_page_alloc ] ||
	skip "no failslab or fail_page_alloc in debugfs"
[ -f /sys/kernel/debug/failslab/require-start ] ||
	skip "no stack-trace filter (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER)"
[ "$(uname -m)" = x86_64 ] || skip "the module area below is x86_64's"
bhq_unload_all
bhq=$(bhq_module bhq) || exit 1
demo=$(bhq_module bhq_demo) || exit 1
LOAD_TRIES=${LOAD_TRIES:-30}
DEMO_TRIES=${DEMO_TRIES:-12}

# x86_64's module area (MODULES_VADDR to MODULES_END with KASLR).
MOD_START=0xffffffffc0000000
MOD_END=0xffffffffff000000

# Allocations made under kmem_cache_create() are left alone: when the
# kobject of a new cache cannot be added, 6.12's sysfs_slab_add() leaks
# its name (a kernel bug, not bhq's, that kmemleak would blame on bhq's
# init).  The reject range is that function's text.
KCC=$(awk '$3 == "__kmem_cache_create_args" { print $1 }' /proc/kallsyms)
KCC_END=$(sort /proc/kallsyms | awk -v a="$KCC" 'f { print $1; exit } $1 == a { f = 1 }')

# faults PERCENT: every allocation with module code on the stack fails
# with that probability (0: off).
faults() {
	for a in failslab fail_page_alloc; do
		f=/sys/kernel/debug/$a
		echo N >$f/task-filter
		echo N >$f/ignore-gfp-wait
		echo 0 >$f/verbose
		echo -1 >$f/times
		echo 1 >$f/interval
		echo $MOD_START >$f/require-start
		echo $MOD_END >$f/require-end
		echo "0x$KCC" >$f/reject-start
		echo "0x$KCC_END" >$f/reject-end
		echo "$1" >$f/probability
	done
	echo 0 >/sys/kernel/debug/fail_page_alloc/min-order
	echo N >/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem
}

# The address of a loaded module, to check the filter's range.
in_module_area() {
	addr=$(awk -v m="$1" '$1 == m { print $6 }' /proc/modules)
	[ -n "$addr" ] || return 1
	# Compare as fixed-width hex strings.
	a=$(printf '%s' "${addr#0x}" | tr 'A-F' 'a-f')
	[ "${#a}" -eq 16 ] && [ "$a" \> "${MOD_START#0x}" ] && [ "$a" \< "${MOD_END#0x}" ]
}

# A failed kmem_cache_create() dumps its stack: the console filter skips
# what is bracketed.  Inside the bracket no warning, BUG (KASAN's
# included) or lockdep report may show either: checked at the end.
echo "BHQ-EXPECTED-WARNING-BEGIN fault injection" >/dev/kmsg

faults 0
echo "+ phase 1: $LOAD_TRIES loads of bhq.ko, its allocations failing at 5%"
ok=0 bad=0 i=0
while [ $i -lt $LOAD_TRIES ]; do
	i=$((i + 1))
	faults 5
	if insmod "$bhq" 2>/dev/null; then
		faults 0
		ok=$((ok + 1))
		# debugfs failures are ignored, as the kernel wants: bhq works on.
		[ -d $D ] || echo "(bhq loaded; its debugfs directory failed to allocate)"
		in_module_area bhq || fail "bhq.ko is outside $MOD_START-$MOD_END: fix the filter range"
		rmmod bhq || fail "rmmod bhq after a load under faults"
	else
		faults 0
		bad=$((bad + 1))
		grep -q '^bhq ' /proc/modules && fail "a failed load left bhq loaded"
		[ -d $D ] && fail "a failed load left $D behind"
	fi
done
echo "loads: $ok succeeded, $bad failed cleanly"
[ $ok -gt 0 ] || fail "no load succeeded: the faults are too dense to test success"
[ $bad -gt 0 ] || fail "no load failed: the faults did not reach bhq's init"

echo "+ phase 2: $DEMO_TRIES demo loads, allocations of module code failing at 3%"
insmod "$bhq" || fail "insmod bhq.ko without faults"
live0=$(counter $D/summary live)
ok=0 bad=0 i=0
while [ $i -lt $DEMO_TRIES ]; do
	i=$((i + 1))
	faults 3
	if insmod "$demo" nr_bhs=4 rounds=2 2>/dev/null; then
		faults 0
		ok=$((ok + 1))
		rmmod bhq_demo || fail "rmmod bhq_demo"
	else
		faults 0
		bad=$((bad + 1))
		grep -q '^bhq_demo ' /proc/modules && fail "a failed demo load left it loaded"
	fi
done
echo "demo loads: $ok succeeded, $bad failed cleanly"
[ $bad -gt 0 ] || fail "no demo load failed: the faults did not reach bhq"
reconcile $D/summary
[ "$(counter $D/summary live)" -eq "$live0" ] || fail "BHs left behind: live $(counter $D/summary live), was $live0"
insmod "$demo" || fail "the demo fails without faults after the faults"
rmmod bhq_demo || fail "rmmod bhq_demo"
echo "+ rmmod bhq"
rmmod bhq || fail "rmmod bhq"
echo "BHQ-EXPECTED-WARNING-END" >/dev/kmsg
if kmsg |
	grep -E 'WARNING:|BUG:|Oops|possible circular|possible recursive|inconsistent lock'; then
	fail "the kernel reported a problem under fault injection"
fi
kernel_clean
pass
