# SPDX-License-Identifier: GPL-2.0
# bhq: making a test guest: a busybox initramfs with our modules and the
# selftests, booted with qemu-system-x86_64 under TCG.  Sourced after
# lib.sh.
# shellcheck shell=bash

# Where the selftests are, here and in the guest.
BHQ_SELFTESTS=$BHQ_TOP/tools/testing/selftests/bhq

# The user-space tools (bhqstat, the bpftrace script), in the guest's
# /tools/bhq.
BHQ_TOOLS=$BHQ_TOP/tools/bhq

# guest_initramfs [--base CPIO] DIR MODULE_DIR COMMAND [FILE...]: an
# initramfs in DIR/initrd.gz holding busybox, /init
# (scripts/initramfs/init.sh), every .ko under MODULE_DIR in /modules, the
# selftests in /selftests, the tools in /tools/bhq, the FILEs in /, and
# COMMAND as /run.sh, which /init runs.  Its path is left in
# $guest_initrd.
#
# With --base, the archive CPIO (debian_rootfs's Debian tree) comes first
# and ours, without busybox and the skeleton directories that the tree
# has, is concatenated after it into DIR/initrd-base.img: the kernel
# unpacks one archive after the other into the same root.  Re-packing
# the tree with our files would cost more at every boot than a copy.
# Our archive must not hold /bin: a directory there would replace the
# tree's /bin -> usr/bin link.
# shellcheck disable=SC2034 # guest_initrd is the callers' to read
guest_initramfs() {
	local base=
	if [ "$1" = --base ]; then
		base=$2
		shift 2
	fi
	local dir=$1 mods=$2 cmd=$3 root=$1/root f
	shift 3
	rm -rf "$root"
	if [ -z "$base" ]; then
		mkdir -p "$root"/{bin,proc,sys,dev,tmp,modules}
		# For kernels without devtmpfs the console must be in the archive.
		mknod -m 600 "$root/dev/console" c 5 1
		cp /bin/busybox "$root/bin/busybox"
	fi
	mkdir -p "$root/modules" "$root/tools"
	cp "$BHQ_TOP/scripts/initramfs/init.sh" "$root/init"
	chmod +x "$root/init"
	find "$mods" -name '*.ko' -exec cp {} "$root/modules/" \;
	cp -r "$BHQ_SELFTESTS" "$root/selftests"
	cp -r "$BHQ_TOOLS" "$root/tools/bhq"
	printf '%s\n' "$cmd" >"$root/run.sh"
	for f in "$@"; do cp "$f" "$root/"; done
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/initrd.gz"
	guest_initrd=$dir/initrd.gz
	if [ -n "$base" ]; then
		cat "$base" "$dir/initrd.gz" >"$dir/initrd-base.img"
		guest_initrd=$dir/initrd-base.img
	fi
}

# debian_rootfs: a Debian $BHQ_DEBIAN_SUITE root with $BHQ_DEBIAN_PKGS
# (mmdebstrap, apt variant, no documentation), as an uncompressed cpio
# archive for guest_initramfs --base: unpacking it needs no decompressor,
# which is slow under TCG, and its size in the guest's memory is freed
# once unpacked.  Built once into the cache, under a key made from
# everything that decides its contents; concurrent jobs wait for one
# another.  Prints the archive's path.
debian_rootfs() {
	local opts key dir t0
	opts=(--variant=apt "--include=$(echo "$BHQ_DEBIAN_PKGS" | tr ' ' ',')"
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
		--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*'
		--dpkgopt='path-include=/usr/share/doc/*/copyright')
	key=$(printf '%s\n' "$BHQ_DEBIAN_SUITE" "${opts[@]}" | sha256sum | cut -c1-12)
	dir=$BHQ_CACHE/rootfs/debian-$BHQ_DEBIAN_SUITE-$key
	mkdir -p "$dir"
	(
		flock 9
		[ -f "$dir/root.cpio" ] && exit 0
		# shellcheck disable=SC2086 # a list of names
		ensure_pkgs $BHQ_PKGS_ROOTFS
		say "building the Debian $BHQ_DEBIAN_SUITE root with mmdebstrap (minutes): $BHQ_DEBIAN_PKGS"
		t0=$SECONDS
		rm -rf "$dir/tree"
		# Its stages ("I: ...") show the progress; all of it is in the log.
		if ! mmdebstrap "${opts[@]}" "$BHQ_DEBIAN_SUITE" "$dir/tree" 2>&1 |
			tee "$dir/mmdebstrap.log" | grep --line-buffered '^I: '; then
			tail -n 30 "$dir/mmdebstrap.log"
			die "mmdebstrap failed; log: $dir/mmdebstrap.log"
		fi
		(cd "$dir/tree" && find . | cpio -o -H newc --quiet) >"$dir/root.cpio.tmp"
		mv "$dir/root.cpio.tmp" "$dir/root.cpio"
		say "Debian root: $(du -sh "$dir/tree" | cut -f1) in $((SECONDS - t0))s: $dir/root.cpio"
		rm -rf "$dir/tree"
	) 9>"$dir/lock" >&2 || exit 1
	printf '%s\n' "$dir/root.cpio"
}

# guest_qemu KERNEL INITRD CPUS [KERNEL ARGS...]: set guest_qemu_cmd to the
# one QEMU command line of every guest (console on standard input/output).
# The kernel log is 4 MiB, so that the selftests find their whole run in
# dmesg even on the debug kernel, whose boot alone fills most of the
# default 128 KiB.
guest_qemu() {
	local kernel=$1 initrd=$2 cpus=$3
	shift 3
	guest_qemu_cmd=(qemu-system-x86_64 -accel tcg -nographic -no-reboot
		-smp "$cpus" -m "$BHQ_QEMU_MEM" -kernel "$kernel" -initrd "$initrd"
		-append "console=ttyS0 loglevel=${BHQ_GUEST_LOGLEVEL:-4} panic=-1 no_timer_check log_buf_len=4M $*")
}

# guest_test NAME [ARG...]: the guest command that runs selftest NAME
# with the modules of the initramfs.
guest_test() {
	local name=$1
	shift
	[ -f "$BHQ_SELFTESTS/$name.sh" ] || die "no selftest $BHQ_SELFTESTS/$name.sh"
	printf 'sh /selftests/%s.sh -m /modules' "$name"
	[ $# -eq 0 ] || printf ' %q' "$@"
	printf '\n'
}

# guest_boot KERNEL INITRD CPUS LOG [KERNEL ARGS...]: boot, show the
# console from the guest's first line on, keep it all in LOG, and return
# the status the guest's /run.sh exited with.  A kernel report anywhere
# on the console (the selftests' console filter) fails the boot too.
guest_boot() {
	local kernel=$1 initrd=$2 cpus=$3 log=$4 rc=0 status
	shift 4
	guest_qemu "$kernel" "$initrd" "$cpus" "$@"
	timeout "$BHQ_QEMU_TIMEOUT" "${guest_qemu_cmd[@]}" </dev/null 2>&1 |
		tr -d '\r' | tee "$log" | sed -n '/BHQ-GUEST/,$p' || rc=$?
	[ "$rc" -eq 0 ] || { say "qemu failed or timed out after ${BHQ_QEMU_TIMEOUT}s (exit $rc); log: $log"; return 1; }
	status=$(sed -n 's/.*BHQ-GUEST-EXIT: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
	[ -n "$status" ] || { say "the guest did not finish its script; log: $log"; return 1; }
	if sh "$BHQ_SELFTESTS/console-badness.sh" "$log"; then
		say "the guest's console shows a kernel report; log: $log"
		return 1
	fi
	return "$status"
}
