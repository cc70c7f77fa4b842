#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build (incrementally) the SMP debug kernel that the torture and smoke
# runs boot: x86_64 with lockdep, KASAN, kmemleak and debug objects, the
# kconfig of `make kunit-qemu` (configs/debug.config, smp.config,
# kasan.config) but with bhq and the modules that use it built as modules
# in the kernel tree (configs/modules.config instead of
# kunit/.kunitconfig), so that bhq.ko itself can be loaded and unloaded
# under the detectors.  kunit.py merges the fragments, checks that every
# setting survived olddefconfig and builds the image and the modules.
# Prints the build directory.
. "$(dirname "$0")/lib.sh"

ensure_pkgs $BHQ_PKGS_BUILD
ksrc=$(ensure_ksrc)
"$BHQ_TOP/scripts/kunit.sh" link >&2
out=$BHQ_CACHE/debug-kernel
say "building the debug kernel and its modules with kunit.py (log $out.log)" >&2
cd "$ksrc"
run_logged "$out.log" python3 tools/testing/kunit/kunit.py build --arch=x86_64 \
	--kunitconfig="$BHQ_TOP/configs/debug.config" \
	--kunitconfig="$BHQ_TOP/configs/smp.config" \
	--kunitconfig="$BHQ_TOP/configs/kasan.config" \
	--kunitconfig="$BHQ_TOP/configs/modules.config" \
	--build_dir="$out" --jobs="$(nproc)" >&2
printf '%s\n' "$out"
