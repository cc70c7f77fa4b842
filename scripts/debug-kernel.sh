#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build (incrementally) the SMP debug kernel that the torture and smoke
# runs boot: x86_64 with lockdep, KASAN, kmemleak and debug objects, the
# kconfig of `make kunit-qemu` (kunit/.kunitconfig, smp.config,
# kasan.config) but with bhq and the modules that use it built as modules
# in the kernel tree (kunit/modules.config), so that bhq.ko itself can be
# loaded and unloaded under the detectors.  Prints the build directory.
. "$(dirname "$0")/lib.sh"

ensure_pkgs $BHQ_PKGS_BUILD
ksrc=$(ensure_ksrc)
"$BHQ_TOP/scripts/kunit.sh" link >&2
out=$BHQ_CACHE/debug-kernel
mkdir -p "$out"
frag=$out/bhq.fragment
k=$BHQ_TOP/kunit
# kunit.py's x86_64 settings first (the serial console), ours after them.
{
	printf 'CONFIG_SERIAL_8250=y\nCONFIG_SERIAL_8250_CONSOLE=y\n'
	cat "$k/.kunitconfig" "$k/smp.config" "$k/kasan.config" "$k/modules.config"
} | grep '^CONFIG_' |
	# The last setting of a symbol wins, as in a .config.
	awk -F= '!($1 in at) { order[n++] = $1 } { at[$1] = $0 }
		END { for (i = 0; i < n; i++) print at[order[i]] }' >"$frag"
if ! cmp -s "$frag" "$out/.bhq-fragment-used"; then
	say "configuring the debug kernel in $out" >&2
	cp "$frag" "$out/.config"
	make -s -C "$ksrc" O="$out" ARCH=x86_64 olddefconfig >&2
	cp "$frag" "$out/.bhq-fragment-used"
fi
# Every line asked for must have survived olddefconfig, as kunit.py checks.
while read -r line; do
	case "$line" in
	*=n) grep -qx "# ${line%=n} is not set" "$out/.config" ;;
	*) grep -qx "$line" "$out/.config" ;;
	esac || die "the debug kernel's .config lacks $line (unmet dependency)"
done <"$frag"
say "building the debug kernel and its modules (log $out/build.log)" >&2
run_logged "$out/build.log" make -C "$ksrc" O="$out" ARCH=x86_64 -j"$(nproc)" bzImage modules >&2
printf '%s\n' "$out"
