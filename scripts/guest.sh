#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot a Debian kernel under QEMU (TCG) with a busybox initramfs holding
# every module this project builds and the selftests, and run a selftest
# (or a shell) in it.
#
#   scripts/guest.sh [--debian] [--cpus N] [--add FILE]... [--test NAME [-- ARG...] | --shell [--cmd CMD]]
#
# KVER picks the kernel (a release or a series, default the newest 6.12).
# The guest's /init mounts proc, sys, dev, debugfs and tracefs, runs
# tools/testing/selftests/bhq/NAME.sh (default smoke) with the modules in
# /modules and the ARGs, prints "BHQ-GUEST-EXIT: <status>" and powers
# off.  Our exit status is the test's, or 1 when the console shows a
# kernel report.  The console log is kept in the cache; its path is
# printed.  --add puts a file in the guest's /.  --shell loads bhq and
# gives the guest's shell to this terminal; with --cmd it runs CMD in
# that shell instead, non-interactively (CMD in the environment does the
# same).  --debian boots the same kernel the same way on a Debian root
# with a real userland (fio, bpftrace, trace-cmd, kmod, procps: see
# BHQ_DEBIAN_PKGS in config.sh) instead of busybox alone: the root is
# built with mmdebstrap once into the cache, and the guest gets
# BHQ_QEMU_MEM_DEBIAN MiB.  BHQ_GUEST_APPEND adds kernel arguments (make
# bench sets tsc=reliable).
. "$(dirname "$0")/lib.sh"
. "$BHQ_TOP/scripts/lib-guest.sh"

cpus=$BHQ_QEMU_CPUS
test=smoke
shell=
cmd=${CMD:-}
adds=()
debian=
while [ $# -gt 0 ]; do
	case "$1" in
	--debian) debian=1; shift ;;
	--cpus) cpus=$2; shift 2 ;;
	--add) adds+=("$2"); shift 2 ;;
	--test) test=$2; shift 2 ;;
	--shell) shell=1; shift ;;
	--cmd) cmd=$2; shift 2 ;;
	--) shift; break ;;
	*) die "guest.sh: unknown argument $1" ;;
	esac
done
if [ -n "$shell" ]; then
	run='sh /shell.sh'
	adds+=("$BHQ_TOP/scripts/initramfs/shell.sh")
else
	run=$(guest_test "$test" "$@")
fi

ensure_pkgs $BHQ_PKGS_BUILD $BHQ_PKGS_GUEST
kver=$(test_kver)
say "test kernel: Debian $kver"
kdir=$(ensure_headers "$kver")
vmlinuz=$(ensure_image "$kver")

say "building the modules against $kdir"
blog=$BHQ_CACHE/build-$BHQ_JOB-$kver.log
run_logged "$blog" "$BHQ_TOP/scripts/build.sh" "$kdir" W=1
out=$(tail -n 1 "$blog")

base=()
dir=$BHQ_CACHE/guest/$BHQ_JOB-$kver
if [ -n "$debian" ]; then
	rootfs=$(debian_rootfs)
	base=(--base "$rootfs")
	dir=$dir-debian
	BHQ_QEMU_MEM=$BHQ_QEMU_MEM_DEBIAN
	say "Debian root: $rootfs ($(du -h "$rootfs" | cut -f1)); guest memory $BHQ_QEMU_MEM MiB"
fi
mkdir -p "$dir"
rm -f "$dir/cmd.sh"
[ -z "$cmd" ] || printf '%s\n' "$cmd" >"$dir/cmd.sh"
say "making the initramfs"
guest_initramfs "${base[@]}" "$dir" "$out" "$run" "${adds[@]}" ${cmd:+"$dir/cmd.sh"}

if [ -n "$shell" ] && [ -z "$cmd" ]; then
	# Interactive: the guest's console is this terminal.
	say "booting Linux $kver with a shell on this terminal (exit it to power off)"
	# shellcheck disable=SC2086
	guest_qemu "$vmlinuz" "$guest_initrd" "$cpus" quiet ${BHQ_GUEST_APPEND:-}
	"${guest_qemu_cmd[@]}"
	exit 0
fi
log=$dir/console.log
say "booting Linux $kver: qemu-system-x86_64 -accel tcg -smp $cpus (console log: $log)"
# shellcheck disable=SC2086
guest_boot "$vmlinuz" "$guest_initrd" "$cpus" "$log" quiet ${BHQ_GUEST_APPEND:-}
