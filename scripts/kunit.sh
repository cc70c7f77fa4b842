#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run the bhq KUnit suites with tools/testing/kunit/kunit.py, after linking
# the project into a Linux tree as drivers/bhq.  Build directories live in
# the cache, so reruns are incremental.
#
#   scripts/kunit.sh [um|qemu|kcsan] [kunit.py arguments...]
#
#   um     UML, one CPU (make kunit), with the type-stable BH cache of
#          normal builds (bhq.debug_bh_cache=typesafe: UML has no KASAN,
#          and the reuse case of bhq_lifetime needs it)
#   qemu   x86_64 under QEMU, 4 vCPUs (CPU 3 isolated, for the hotplug
#          suite), lockdep, KASAN, kmemleak, debug objects (make kunit-qemu),
#          with debug builds' default BH cache (rcu: KASAN sees a use after
#          delete)
#   kcsan  the same with KCSAN instead of KASAN (make kunit-kcsan)
#   link   only link the project into the tree (scripts/debug-kernel.sh)
#
# Besides kunit.py's verdict, the raw kernel log of the bhq suites must be
# free of splats (warnings outside the misuse tests' expected ones,
# lockdep, KASAN, KCSAN, kmemleak reports), and the SMP runs must show the
# CPUs and the detectors they were configured with.
. "$(dirname "$0")/lib.sh"

profile=${1:-um}
[ $# -eq 0 ] || shift
ensure_pkgs $BHQ_PKGS_BUILD
ksrc=$(ensure_ksrc)

# Link the project in (again: the clone may have moved) and hook it into
# drivers/Kconfig and drivers/Makefile once.  When the link moves to
# another checkout, the objects built from the old one go: make compares
# timestamps, and the new checkout's files may be older than them.
if [ "$(readlink "$ksrc/drivers/bhq" 2>/dev/null)" != "$BHQ_TOP" ]; then
	for b in kunit-um kunit-qemu kunit-kcsan debug-kernel; do
		rm -rf "$BHQ_CACHE/$b/drivers/bhq"
	done
fi
ln -sfn "$BHQ_TOP" "$ksrc/drivers/bhq"
grep -q 'drivers/bhq/Kconfig' "$ksrc/drivers/Kconfig" ||
	sed -i '$ s|^endmenu$|source "drivers/bhq/Kconfig"\n\nendmenu|' "$ksrc/drivers/Kconfig"
grep -q 'drivers/bhq/Kconfig' "$ksrc/drivers/Kconfig" || die "could not hook drivers/Kconfig"
grep -q 'CONFIG_BHQ' "$ksrc/drivers/Makefile" ||
	printf 'obj-$(CONFIG_BHQ)\t\t+= bhq/\n' >>"$ksrc/drivers/Makefile"
# `scripts/kunit.sh link`: only that, for other in-tree builds.
[ "$profile" != link ] || exit 0

k=$BHQ_TOP/kunit
args=(--kunitconfig="$k/.kunitconfig" --kunitconfig="$BHQ_TOP/configs/debug.config")
expect=()
case "$profile" in
um)
	args+=(--arch=um --kernel_args=bhq.debug_bh_cache=typesafe)
	;;
qemu | kcsan)
	ensure_pkgs $BHQ_PKGS_GUEST
	detector=$BHQ_TOP/configs/kasan.config
	[ "$profile" = kcsan ] && detector=$BHQ_TOP/configs/kcsan.config
	args+=(--arch=x86_64 --kunitconfig="$BHQ_TOP/configs/smp.config"
		--kunitconfig="$detector"
		--qemu_args="-smp 4 -m 2048 -accel tcg"
		--kernel_args="bhq_kunit.min_cpus=4" --kernel_args=no_timer_check
		--kernel_args=isolcpus=3)
	expect=('smp: Brought up .* 4 CPUs' 'Lock dependency validator')
	if [ "$profile" = qemu ]; then
		expect+=('KernelAddressSanitizer initialized' 'kmemleak: Kernel memory leak detector')
	else
		expect+=('kcsan: enabled early')
	fi
	;;
*) die "unknown profile $profile (um, qemu or kcsan)" ;;
esac

build=$BHQ_CACHE/kunit-$profile
log=$BHQ_CACHE/kunit-$profile.log
say "kunit.py run (profile $profile) in $ksrc, build dir $build; full output in $log"
cd "$ksrc"
rc=0
python3 tools/testing/kunit/kunit.py run "${args[@]}" --build_dir="$build" \
	--jobs="$(nproc)" --timeout=1200 "$@" 2>&1 | tee "$log" || rc=$?
[ "$rc" -eq 0 ] || die "kunit.py failed (exit $rc); log: $log"

raw=$build/test.log
grep -q 'Subtest: bhq' "$raw" || die "the bhq suites did not run; see $raw"
for e in "${expect[@]}"; do
	grep -qE "$e" "$raw" || die "the kernel log lacks '$e': not the configured kernel; see $raw"
	say "kernel log has: $(grep -m1 -oE "$e.*" "$raw")"
done
# make kunit passes bhq.debug_bh_cache=typesafe for the reuse case: it must
# run, not skip.
if [ "$profile" = um ] &&
	! grep -qE '^ *ok [0-9]+ bhq_lifetime_idle_schedule_reads_reused_bh$' "$raw"; then
	die "bhq_lifetime_idle_schedule_reads_reused_bh did not run and pass; see $raw"
fi
# Expected warnings of the misuse tests are bracketed; anything else fails.
if sed -n '/Subtest: bhq/,$p' "$raw" |
	sh "$BHQ_TOP/tools/testing/selftests/bhq/console-badness.sh"; then
	die "the kernel log of the bhq suites shows a report; see $raw"
fi
say "kunit ($profile): the bhq suites passed and their kernel log is clean"
