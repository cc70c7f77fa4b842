#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot a Debian kernel under QEMU (TCG) with a busybox initramfs holding
# every module this project builds, and run a script (or a shell) in it.
#
#   scripts/guest.sh [--cpus N] [--add FILE]... [--script FILE | --shell [--cmd CMD]]
#
# KVER picks the kernel (a release or a series, default the newest 6.12).
# The guest's /init mounts proc, sys, dev, debugfs and tracefs, runs the
# script from / (with the modules in /), prints "BHQ-GUEST-EXIT: <status>"
# and powers off.  Our exit status is the script's.  The console log is
# kept in the cache; its path is printed.  --shell loads bhq and gives the
# guest's shell to this terminal; with --cmd it runs CMD in that shell
# instead, non-interactively (CMD in the environment does the same).
. "$(dirname "$0")/lib.sh"

cpus=$BHQ_QEMU_CPUS
script=$BHQ_TOP/scripts/guest-smoke.sh
mode=script
cmd=${CMD:-}
adds=()
while [ $# -gt 0 ]; do
	case "$1" in
	--cpus) cpus=$2; shift 2 ;;
	--add) adds+=("$2"); shift 2 ;;
	--script) script=$2; shift 2 ;;
	--shell) mode=shell; shift ;;
	--cmd) cmd=$2; shift 2 ;;
	*) die "guest.sh: unknown argument $1" ;;
	esac
done

ensure_pkgs $BHQ_PKGS_BUILD $BHQ_PKGS_GUEST
kver=$(test_kver)
say "test kernel: Debian $kver"
kdir=$(ensure_headers "$kver")
vmlinuz=$(ensure_image "$kver")

say "building the modules against $kdir"
blog=$BHQ_CACHE/build-$BHQ_JOB-$kver.log
run_logged "$blog" "$BHQ_TOP/scripts/build.sh" "$kdir" W=1
out=$(tail -n 1 "$blog")

say "making the initramfs"
dir=$BHQ_CACHE/guest/$BHQ_JOB-$kver
root=$dir/root
rm -rf "$root"
mkdir -p "$root"/{bin,proc,sys,dev,tmp}
cp /bin/busybox "$root/bin/busybox"
cp "$BHQ_TOP/scripts/guest-init.sh" "$root/init"
find "$out" -name '*.ko' -exec cp {} "$root/" \;
for f in "${adds[@]}"; do cp "$f" "$root/"; done
case "$mode" in
script) cp "$script" "$root/run.sh" ;;
shell) cp "$BHQ_TOP/scripts/guest-shell.sh" "$root/run.sh" ;;
esac
[ -z "$cmd" ] || printf '%s\n' "$cmd" >"$root/cmd.sh"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/initrd.gz"

log=$dir/console.log
say "booting Linux $kver: qemu-system-x86_64 -accel tcg -smp $cpus (console log: $log)"
qemu=(qemu-system-x86_64 -accel tcg -nographic -no-reboot
	-smp "$cpus" -m "$BHQ_QEMU_MEM"
	-kernel "$vmlinuz" -initrd "$dir/initrd.gz"
	-append "console=ttyS0 loglevel=4 panic=-1 no_timer_check quiet")
if [ "$mode" = shell ] && [ -z "$cmd" ]; then
	# Interactive: the guest's console is this terminal.
	"${qemu[@]}"
	exit 0
fi
rc=0
timeout "$BHQ_QEMU_TIMEOUT" "${qemu[@]}" </dev/null 2>&1 | tr -d '\r' |
	tee "$log" | sed -n '/BHQ-GUEST/,$p' || rc=$?
[ "$rc" -eq 0 ] || die "qemu failed or timed out after ${BHQ_QEMU_TIMEOUT}s (exit $rc)"
status=$(sed -n 's/.*BHQ-GUEST-EXIT: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
[ -n "$status" ] || die "the guest did not finish its script; see $log"
exit "$status"
