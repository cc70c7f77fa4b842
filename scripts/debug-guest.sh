#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the SMP debug kernel (scripts/debug-kernel.sh: 4 vCPUs, lockdep,
# KASAN, kmemleak, debug objects; bhq and the modules that use it built as
# modules in the tree) with our initramfs and run a guest script there:
#
#   scripts/debug-guest.sh SCRIPT [FILE...]
#
# A kernel report anywhere in the log (outside the warnings the misuse
# tests announce), or a kmemleak report naming bhq after the script, fails
# the run.
. "$(dirname "$0")/lib.sh"
. "$BHQ_TOP/scripts/lib-guest.sh"

script=$1; shift
ensure_pkgs $BHQ_PKGS_GUEST
build=$(BHQ_JOB=debug-kernel "$BHQ_TOP/scripts/debug-kernel.sh") || die "no debug kernel"
kernel=$build/arch/x86/boot/bzImage

dir=$BHQ_CACHE/guest/$BHQ_JOB-debug
mkdir -p "$dir"
# The payload runs first, then a kmemleak scan (scripts/guest-kmemleak.sh).
cp "$script" "$dir/payload.sh"
guest_initramfs "$dir" "$build/drivers/bhq" "$BHQ_TOP/scripts/guest-kmemleak.sh" \
	"$dir/payload.sh" "$@"
log=$dir/console.log
say "booting the debug kernel: 4 vCPUs (console log: $log)"
rc=0
BHQ_QEMU_MEM=2048 BHQ_GUEST_LOGLEVEL=7 guest_boot "$kernel" "$dir/initrd.gz" 4 "$log" || rc=$?
for e in 'BHQ-GUEST: .* 4 CPUs' 'Lock dependency validator' 'KernelAddressSanitizer initialized' \
	'kmemleak: Kernel memory leak detector'; do
	grep -qE "$e" "$log" || die "the debug kernel's log lacks '$e'; see $log"
done
if sed '/BHQ-EXPECTED-WARNING-BEGIN/,/BHQ-EXPECTED-WARNING-END/d' "$log" |
	grep -nE 'WARNING:|BUG:|Oops|possible circular|inconsistent lock|Call Trace'; then
	die "the debug kernel reported a problem; see $log"
fi
exit "$rc"
