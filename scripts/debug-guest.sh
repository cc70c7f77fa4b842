#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the SMP debug kernel that `make kunit-qemu` built (4 vCPUs, lockdep,
# KASAN, kmemleak, debug objects; bhq built in) with our initramfs, its
# KUnit suites switched off, and run a guest script there:
#
#   scripts/debug-guest.sh SCRIPT [FILE...]
#
# The modules that use bhq (demo, torture) are built against that kernel's
# build directory.  A kernel report anywhere in the log, or a kmemleak
# report naming bhq after the script, fails the run.
. "$(dirname "$0")/lib.sh"
. "$BHQ_TOP/scripts/lib-guest.sh"

script=$1; shift
build=$BHQ_CACHE/kunit-qemu
kernel=$build/arch/x86/boot/bzImage
[ -f "$kernel" ] || "$BHQ_TOP/scripts/kunit.sh" qemu || die "no debug kernel"

say "building the modules against the debug kernel ($build)"
blog=$BHQ_CACHE/build-$BHQ_JOB-debug.log
run_logged "$blog" env BHQ_BUILTIN=1 "$BHQ_TOP/scripts/build.sh" "$build"
out=$(tail -n 1 "$blog")

dir=$BHQ_CACHE/guest/$BHQ_JOB-debug
mkdir -p "$dir"
# The payload runs first, then a kmemleak scan (scripts/guest-kmemleak.sh).
cp "$script" "$dir/payload.sh"
guest_initramfs "$dir" "$out" "$BHQ_TOP/scripts/guest-kmemleak.sh" "$dir/payload.sh" "$@"
log=$dir/console.log
say "booting the debug kernel: 4 vCPUs (console log: $log)"
rc=0
BHQ_QEMU_MEM=2048 BHQ_GUEST_LOGLEVEL=7 guest_boot "$kernel" "$dir/initrd.gz" 4 "$log" \
	kunit.enable=0 no_timer_check || rc=$?
for e in 'BHQ-GUEST: .* 4 CPUs' 'Lock dependency validator' 'KernelAddressSanitizer initialized'; do
	grep -qE "$e" "$log" || die "the debug kernel's log lacks '$e'; see $log"
done
if grep -nE 'WARNING:|BUG:|Oops|possible circular|inconsistent lock|Call Trace' "$log"; then
	die "the debug kernel reported a problem; see $log"
fi
exit "$rc"
