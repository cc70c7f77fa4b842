# SPDX-License-Identifier: GPL-2.0
# bhq: shell helpers shared by the scripts: logging, package installs, and
# locating the kernel material (source tree, test kernel, its headers).
# shellcheck shell=bash

set -euo pipefail

BHQ_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/config.sh
. "$BHQ_TOP/scripts/config.sh"

say() { printf '==> %s\n' "$*"; }
die() { printf 'bhq: error: %s\n' "$*" >&2; exit 1; }

# Run "$@" with its output in $log; on failure show the tail of the log.
# Prints a dot every 10 s so that long steps show progress.
run_logged() {
	local log=$1; shift
	"$@" >"$log" 2>&1 &
	local pid=$! rc=0 t=0
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		t=$((t + 1))
		if [ $((t % 10)) -eq 0 ]; then printf '.'; fi
	done
	wait "$pid" || rc=$?
	[ "$t" -lt 10 ] || printf ' %ss\n' "$t"
	if [ "$rc" -ne 0 ]; then
		tail -n 40 "$log" >&2
		printf 'bhq: failed (exit %s), full log: %s\n' "$rc" "$log" >&2
	fi
	return "$rc"
}

# VERSION, plus "+g<commit>[-dirty]" when this is a git checkout.
bhq_version() {
	local v g
	v=$(cat "$BHQ_TOP/VERSION")
	g=$(git -C "$BHQ_TOP" describe --always --dirty 2>/dev/null) && v="$v+g$g"
	printf '%s\n' "$v"
}

APT_UPDATED=0
apt_update_once() {
	[ "$APT_UPDATED" -eq 1 ] && return 0
	say "apt-get update"
	run_logged "$BHQ_CACHE/apt-update.log" apt-get update
	APT_UPDATED=1
}

# Install the Debian packages named in "$@" that are not installed yet.
ensure_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing packages (need root to install): ${missing[*]}"
	apt_update_once
	say "apt-get install ${missing[*]}"
	run_logged "$BHQ_CACHE/apt-install.log" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends "${missing[@]}"
}

# The newest Debian kernel release of series $1 (e.g. 6.12) for which both
# the unsigned cloud image and its headers exist, like
# "6.12.117+deb12-cloud-amd64".  Never hard-coded: the ABI number changes
# with every security update.
newest_kver() {
	local series=$1 names kver
	names=$(apt-cache pkgnames "linux-image-$series" 2>/dev/null || true)
	if [ -z "$names" ]; then
		apt_update_once
		names=$(apt-cache pkgnames "linux-image-$series")
	fi
	for kver in $(printf '%s\n' "$names" |
		sed -n "s/^linux-image-\($series[.-][0-9].*-$BHQ_FLAVOUR\)-unsigned\$/\1/p" |
		sort -rV); do
		if apt-cache show "linux-headers-$kver" >/dev/null 2>&1; then
			printf '%s\n' "$kver"
			return 0
		fi
	done
	die "no linux-image-$series*-$BHQ_FLAVOUR-unsigned with headers in apt"
}

# The test kernel's release: $KVER if given, else the newest of the series
# (KVER=6.1 picks the newest 6.1).
test_kver() {
	case "${KVER:-}" in
	"") newest_kver "$BHQ_KSERIES" ;;
	*[a-z]*) printf '%s\n' "$KVER" ;;
	*) newest_kver "$KVER" ;;
	esac
}

# Headers of release $1, downloaded with their -common and kbuild
# packages and unpacked into the cache (installing them with apt would
# pull in the image package and touch /boot).  Prints the KDIR.
ensure_headers() {
	local kver=$1 root=$BHQ_CACHE/kernels/$1/root
	local kdir=$root/usr/src/linux-headers-$1 pkgs p
	if [ ! -f "$kdir/.bhq-ready" ]; then
		ensure_pkgs pahole >&2
		apt_update_once >&2
		pkgs=$(apt-cache depends "linux-headers-$kver" |
			sed -n 's/^ *Depends: \(linux-\(headers\|kbuild\)-[^ ]*\).*/\1/p' | sort -u)
		say "downloading linux-headers-$kver $(echo $pkgs)" >&2
		rm -rf "$root" && mkdir -p "$root"
		for p in "linux-headers-$kver" $pkgs; do
			(cd "$root" && run_logged "$root/../download-$p.log" apt-get download "$p") >&2
		done
		for p in "$root"/*.deb; do
			dpkg-deb -x "$p" "$root"
		done
		rm -f "$root"/*.deb
		# The flavour's Makefile includes the -common tree by absolute path.
		sed -i "s|include /usr/src/|include $root/usr/src/|" "$kdir/Makefile"
		touch "$kdir/.bhq-ready"
	fi
	printf '%s\n' "$kdir"
}

# The kernel image of release $1, downloaded and unpacked into the cache
# without installing it.  Prints the path of the vmlinuz.
ensure_image() {
	local kver=$1 dir=$BHQ_CACHE/kernels/$1 deb
	if [ ! -f "$dir/boot/vmlinuz-$kver" ]; then
		mkdir -p "$dir"
		apt_update_once >&2
		say "downloading linux-image-$kver-unsigned" >&2
		(cd "$dir" && run_logged "$dir/download.log" apt-get download "linux-image-$kver-unsigned") >&2
		deb=$(ls "$dir"/linux-image-*.deb)
		dpkg-deb -x "$deb" "$dir"
		rm -f "$deb"
	fi
	printf '%s\n' "$dir/boot/vmlinuz-$kver"
}

# The kernel source tree kunit.py runs from: $KSRC if given, else Debian's
# linux-source package unpacked into the cache.  Prints its path.
ensure_ksrc() {
	if [ -n "${KSRC:-}" ]; then
		[ -f "$KSRC/tools/testing/kunit/kunit.py" ] || die "KSRC=$KSRC is not a kernel tree"
		printf '%s\n' "$KSRC"
		return 0
	fi
	local tree=$BHQ_CACHE/src/linux-source-$BHQ_KSERIES tarball
	if [ ! -f "$tree/.bhq-unpacked" ]; then
		ensure_pkgs "$BHQ_PKG_SOURCE" >&2
		tarball=$(ls /usr/src/linux-source-"$BHQ_KSERIES".tar.* | head -n 1)
		say "unpacking $tarball into $BHQ_CACHE/src" >&2
		rm -rf "$tree"
		mkdir -p "$BHQ_CACHE/src"
		run_logged "$BHQ_CACHE/unpack.log" tar -C "$BHQ_CACHE/src" -xf "$tarball" >&2
		touch "$tree/.bhq-unpacked"
	fi
	printf '%s\n' "$tree"
}

mkdir -p "$BHQ_CACHE"
