#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the SMP debug kernel (scripts/debug-kernel.sh: 4 vCPUs, lockdep,
# KASAN, kmemleak, debug objects; bhq and the modules that use it built as
# modules in the tree) with our initramfs and run a selftest there under
# kmemleak.sh:
#
#   scripts/debug-guest.sh TEST [ARG...]
#
# A kernel report anywhere on the console (the selftests' console filter)
# or a kmemleak report naming bhq after the test fails the run.
. "$(dirname "$0")/lib.sh"
. "$BHQ_TOP/scripts/lib-guest.sh"

[ $# -gt 0 ] || die "debug-guest.sh: which selftest?"
ensure_pkgs $BHQ_PKGS_GUEST
build=$(BHQ_JOB=debug-kernel "$BHQ_TOP/scripts/debug-kernel.sh") || die "no debug kernel"
kernel=$build/arch/x86/boot/bzImage

dir=$BHQ_CACHE/guest/$BHQ_JOB-debug
mkdir -p "$dir"
guest_initramfs "$dir" "$build/drivers/bhq" "sh /selftests/kmemleak.sh $(guest_test "$@")"
log=$dir/console.log
say "booting the debug kernel: 4 vCPUs (console log: $log)"
rc=0
BHQ_QEMU_MEM=2048 BHQ_GUEST_LOGLEVEL=7 guest_boot "$kernel" "$dir/initrd.gz" 4 "$log" || rc=$?
for e in 'BHQ-GUEST: .* 4 CPUs' 'Lock dependency validator' 'KernelAddressSanitizer initialized' \
	'kmemleak: Kernel memory leak detector'; do
	grep -qE "$e" "$log" || die "the debug kernel's log lacks '$e'; see $log"
done
exit "$rc"
