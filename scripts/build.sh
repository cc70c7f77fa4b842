#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build bhq.ko and the modules that use it (demo, bench, torture, blk) out of tree against $1 (a KDIR), in a copy
# of the sources under the cache so that the work tree stays clean and
# builds for several kernels do not mix.  Extra make arguments follow
# (W=1, C=2).  Prints the build directory on the last line.
. "$(dirname "$0")/lib.sh"

kdir=$1; shift
[ -f "$kdir/Makefile" ] || die "$kdir is not a kernel build directory"
kver=$(basename "$kdir"); kver=${kver#linux-headers-}
out=$BHQ_CACHE/build/$BHQ_JOB-$kver
mkdir -p "$out"
# cp -p keeps timestamps, so make rebuilds only what changed.
cp -p "$BHQ_TOP/Kbuild" "$BHQ_TOP/VERSION" "$out/"
cp -rp "$BHQ_TOP/include" "$out/"
for d in "$BHQ_TOP"/*/Kbuild; do
	cp -rp "$(dirname "$d")" "$out/"
done
syms=()
for m in $BHQ_MODULE_DIRS; do
	[ -f "$BHQ_TOP/${m%%:*}/Kbuild" ] && syms+=("${m#*:}=m")
done
make -C "$kdir" M="$out" "${syms[@]}" BHQ_VERSION="$(bhq_version)" "$@" modules >&2
printf '%s\n' "$out"
