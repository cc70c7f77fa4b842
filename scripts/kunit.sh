#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make kunit`: link the project into a Linux tree as drivers/bhq and run
# the bhq KUnit suite with tools/testing/kunit/kunit.py (UML by default).
# The build directory lives in the cache, so reruns are incremental.
# Extra arguments go to kunit.py.
. "$(dirname "$0")/lib.sh"

ensure_pkgs $BHQ_PKGS_BUILD
ksrc=$(ensure_ksrc)

# Link the project in (again: the clone may have moved) and hook it into
# drivers/Kconfig and drivers/Makefile once.
ln -sfn "$BHQ_TOP" "$ksrc/drivers/bhq"
grep -q 'drivers/bhq/Kconfig' "$ksrc/drivers/Kconfig" ||
	sed -i '$ s|^endmenu$|source "drivers/bhq/Kconfig"\n\nendmenu|' "$ksrc/drivers/Kconfig"
grep -q 'drivers/bhq/Kconfig' "$ksrc/drivers/Kconfig" || die "could not hook drivers/Kconfig"
grep -q 'CONFIG_BHQ' "$ksrc/drivers/Makefile" ||
	printf 'obj-$(CONFIG_BHQ)\t\t+= bhq/\n' >>"$ksrc/drivers/Makefile"

arch=${KUNIT_ARCH:-um}
build=$BHQ_CACHE/kunit-$arch
log=$BHQ_CACHE/kunit-$arch.log
say "kunit.py run --arch=$arch in $ksrc (build dir $build, log $log)"
cd "$ksrc"
rc=0
python3 tools/testing/kunit/kunit.py run --arch="$arch" \
	--kunitconfig="$BHQ_TOP/kunit/.kunitconfig" --build_dir="$build" \
	--jobs="$(nproc)" --timeout=600 "$@" 2>&1 | tee "$log" || rc=$?
[ "$rc" -eq 0 ] || die "kunit.py failed (exit $rc); log: $log"

# kunit.py counts test cases; a splat during the suite fails us too.
raw=$build/test.log
if sed -n '/Subtest: bhq/,$p' "$raw" |
	grep -nE 'WARNING:|BUG:|Oops|possible circular|inconsistent lock|leaked|Call Trace'; then
	die "the kernel log of the bhq suite shows a warning; see $raw"
fi
grep -q 'Subtest: bhq' "$raw" || die "the bhq suite did not run; see $raw"
say "kunit: the bhq suite passed and its kernel log is clean"
