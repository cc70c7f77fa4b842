#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make dkms-install` / `make dkms-remove` / `scripts/dkms.sh check`:
# register bhq with DKMS and build and install it for a kernel (KVER, a
# release or a series; default the test kernel), or remove it again.
# check = install, show modinfo, verify the version, remove.
. "$(dirname "$0")/lib.sh"

ensure_pkgs dkms
ver=$(cat "$BHQ_TOP/VERSION")
src=/usr/src/bhq-$ver
kver=$(test_kver)
kdir=$(ensure_headers "$kver")

dkms_add() {
	say "copying the sources to $src"
	rm -rf "$src"
	mkdir -p "$src"
	cp -r "$BHQ_TOP/Kbuild" "$BHQ_TOP/VERSION" "$BHQ_TOP/include" "$BHQ_TOP/kmod" "$src/"
	sed "s/@VERSION@/$ver/" "$BHQ_TOP/dkms.conf" >"$src/dkms.conf"
	dkms status -m bhq -v "$ver" | grep -q . || dkms add -m bhq -v "$ver"
}

# DKMS installs into /lib/modules/<release>, which only exists for an
# installed kernel; for the cached test kernel make it the way the headers
# package would (a build link to the headers), and note that we did.
ensure_modules_dir() {
	local dir=/lib/modules/$kver
	[ -d "$dir" ] && return 0
	mkdir -p "$dir"
	ln -s "$kdir" "$dir/build"
	touch "$dir/.bhq-made"
}

dkms_install() {
	ensure_modules_dir
	dkms_add
	say "dkms build and install bhq/$ver for $kver (headers $kdir)"
	dkms build -m bhq -v "$ver" -k "$kver" --kernelsourcedir "$kdir" --force
	dkms install -m bhq -v "$ver" -k "$kver" --kernelsourcedir "$kdir" --force
	dkms status -m bhq -v "$ver"
}

dkms_remove() {
	say "dkms remove bhq/$ver"
	if dkms status -m bhq -v "$ver" | grep -q .; then
		dkms remove -m bhq -v "$ver" --all
	fi
	rm -rf "$src"
	if [ -f "/lib/modules/$kver/.bhq-made" ]; then
		rm -rf "/lib/modules/$kver"
	fi
}

case "${1:-install}" in
install) dkms_install ;;
remove) dkms_remove ;;
check)
	dkms_install
	ko=$(find "/lib/modules/$kver/updates/dkms" -name 'bhq.ko*' | head -n 1)
	[ -n "$ko" ] || die "dkms installed no bhq.ko under /lib/modules/$kver/updates/dkms"
	modinfo "$ko"
	got=$(modinfo -F version "$ko")
	[ "$got" = "$ver" ] || die "modinfo says version '$got', expected '$ver'"
	dkms_remove
	[ ! -e "$ko" ] || die "dkms remove left $ko behind"
	say "dkms: build, install, modinfo ($got) and remove work for $kver"
	;;
*) die "usage: $0 install|remove|check" ;;
esac
