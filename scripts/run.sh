#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make run`: boot Debian's cloud kernel under QEMU (TCG) with a busybox
# initramfs, load bhq and the demo load, print the debugfs counters and
# check that they reconcile, unload, and fail on any kernel warning.
. "$(dirname "$0")/lib.sh"

ensure_pkgs $BHQ_PKGS_BUILD $BHQ_PKGS_GUEST
kver=$(test_kver)
say "test kernel: Debian $kver"
kdir=$(ensure_headers "$kver")
vmlinuz=$(ensure_image "$kver")

say "building bhq.ko and bhq_demo.ko against $kdir"
out=$(run_logged "$BHQ_CACHE/build-$kver.log" "$BHQ_TOP/scripts/build.sh" "$kdir" W=1 &&
	tail -n 1 "$BHQ_CACHE/build-$kver.log")

say "making the initramfs (busybox, bhq.ko, bhq_demo.ko)"
root=$BHQ_CACHE/guest/$kver/root
rm -rf "$root"
mkdir -p "$root"/{bin,proc,sys,dev,tmp}
cp /bin/busybox "$root/bin/busybox"
cp "$BHQ_TOP/scripts/guest-init.sh" "$root/init"
cp "$BHQ_TOP/scripts/guest-smoke.sh" "$root/smoke.sh"
cp "$out/kmod/bhq.ko" "$out/demo/bhq_demo.ko" "$root/"
chmod +x "$root/init"
initrd=$BHQ_CACHE/guest/$kver/initrd.gz
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd"

log=$BHQ_CACHE/guest/$kver/console.log
say "booting $kver under qemu-system-x86_64 -accel tcg -smp $BHQ_QEMU_CPUS (console log: $log)"
rc=0
timeout "$BHQ_QEMU_TIMEOUT" qemu-system-x86_64 -accel tcg -nographic -no-reboot \
	-smp "$BHQ_QEMU_CPUS" -m "$BHQ_QEMU_MEM" \
	-kernel "$vmlinuz" -initrd "$initrd" \
	-append "console=ttyS0 loglevel=4 panic=-1 ${BHQ_GUEST_CMD:+bhq.cmd=$BHQ_GUEST_CMD}" \
	</dev/null 2>&1 | tr -d '\r' | tee "$log" | sed -n '/BHQ-GUEST/,$p' || rc=$?
[ "$rc" -eq 0 ] || die "qemu failed or timed out after ${BHQ_QEMU_TIMEOUT}s (exit $rc)"
grep -q '^BHQ-GUEST-EXIT: 0' "$log" || die "the guest smoke failed; see $log"
say "make run: PASS (Linux $kver, $BHQ_QEMU_CPUS vCPUs)"
