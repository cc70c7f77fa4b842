#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build bhq.ko and bhq_demo.ko out of tree against $1 (a KDIR), in a copy
# of the sources under the cache so that the work tree stays clean and
# builds for several kernels do not mix.  Extra make arguments follow
# (W=1, C=2).  Prints the build directory on the last line.
. "$(dirname "$0")/lib.sh"

kdir=$1; shift
[ -f "$kdir/Makefile" ] || die "$kdir is not a kernel build directory"
kver=$(make -s -C "$kdir" kernelrelease 2>/dev/null || basename "$kdir")
out=$BHQ_CACHE/build/$kver
mkdir -p "$out"
# cp -p keeps timestamps, so make rebuilds only what changed.
for f in Kbuild kmod demo kunit; do
	cp -rp "$BHQ_TOP/$f" "$out/"
done
make -C "$kdir" M="$out" CONFIG_BHQ=m CONFIG_BHQ_DEMO=m "$@" modules >&2
printf '%s\n' "$out"
