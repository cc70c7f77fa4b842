#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: every check CI runs, each one counted.  Installs what it
# needs.  Ends with "N passed, N failed" and exits non-zero on a failure.
. "$(dirname "$0")/lib.sh"
set +e

passed=0
failed=0
failures=()
logs=$BHQ_CACHE/check
mkdir -p "$logs"

# step NAME COMMAND...: run one counted check, its output in a log.
step() {
	local name=$1; shift
	local log=$logs/$name.log start=$SECONDS
	printf -- '--- %s\n' "$name"
	if "$@" >"$log" 2>&1; then
		passed=$((passed + 1))
		printf 'PASS %s (%ss)\n' "$name" $((SECONDS - start))
	else
		failed=$((failed + 1))
		failures+=("$name")
		tail -n 30 "$log"
		printf 'FAIL %s (%ss), log: %s\n' "$name" $((SECONDS - start)) "$log"
	fi
}

# Succeeds when the log of "$@" has no compiler or sparse warning.
no_warnings() {
	local out
	out=$("$@" 2>&1)
	local rc=$?
	printf '%s\n' "$out"
	[ "$rc" -eq 0 ] || return "$rc"
	! printf '%s\n' "$out" | grep -E '(warning|error):'
}

say "installing what the checks need"
ensure_pkgs $BHQ_PKGS_BUILD $BHQ_PKGS_CHECK $BHQ_PKGS_GUEST || exit 1
kver=$(test_kver) || exit 1
kdir=$(ensure_headers "$kver") || exit 1
ksrc=$(ensure_ksrc) || exit 1
say "test kernel headers: $kdir; kernel tree: $ksrc"

c_files=$(cd "$BHQ_TOP" && git ls-files '*.c' '*.h' 2>/dev/null ||
	find kmod demo kunit -name '*.[ch]')

build_w1() {
	rm -rf "$BHQ_CACHE/build/$BHQ_JOB-$kver"
	no_warnings "$BHQ_TOP/scripts/build.sh" "$kdir" W=1
}

build_sparse() {
	rm -rf "$BHQ_CACHE/build/$BHQ_JOB-$kver"
	no_warnings "$BHQ_TOP/scripts/build.sh" "$kdir" C=2
}

checkpatch() {
	local rc=0 direct
	cd "$BHQ_TOP" || return 1
	# shellcheck disable=SC2086
	"$ksrc/scripts/checkpatch.pl" --strict --no-tree --terse \
		--ignore FILE_PATH_CHANGES -f $c_files Kconfig Kbuild */Kbuild |
		tee /dev/stderr | grep -E ': (ERROR|WARNING|CHECK):' && rc=1
	# 6.13 made MODULE_IMPORT_NS() take a string literal, so the bare
	# namespace of 6.12 and older no longer builds there: only the shim
	# of kmod/bhq_compat.h (BHQ_IMPORT_KUNIT_NS()) may name it.
	# shellcheck disable=SC2086
	direct=$(grep -nHF 'MODULE_IMPORT_NS(' $c_files | grep -v '^kmod/bhq_compat\.h:')
	if [ -n "$direct" ]; then
		printf '%s\n' "$direct"
		echo "MODULE_IMPORT_NS() used directly: use BHQ_IMPORT_KUNIT_NS() of kmod/bhq_compat.h"
		rc=1
	fi
	return "$rc"
}

kerneldoc() {
	cd "$BHQ_TOP" || return 1
	# shellcheck disable=SC2086
	no_warnings perl "$ksrc/scripts/kernel-doc" -none -Wall $c_files
}

# The older LTS kernel: build with W=1, then the same smoke in its guest.
build_old() {
	local k d
	k=$(KVER=$BHQ_KSERIES_OLD test_kver) && d=$(ensure_headers "$k") &&
		no_warnings "$BHQ_TOP/scripts/build.sh" "$d" W=1
}

# The build every kernel developer types, make -C $KDIR M=$PWD with nothing
# else, on a copy of the tracked files: bhq.ko and the demo, no warning.
build_plain() {
	local dir=$BHQ_CACHE/build/plain-$kver
	rm -rf "$dir" && mkdir -p "$dir" || return 1
	(cd "$BHQ_TOP" && git ls-files 2>/dev/null || find . -type f -not -path './.git/*') |
		(cd "$BHQ_TOP" && tar -cf - -T -) | tar -xf - -C "$dir" || return 1
	echo "+ make -C $kdir M=$dir"
	no_warnings make -C "$kdir" M="$dir" || return 1
	for ko in kmod/bhq.ko demo/bhq_demo.ko; do
		[ -f "$dir/$ko" ] || { echo "no $ko"; return 1; }
		echo "built $ko for $(modinfo -F vermagic "$dir/$ko")"
	done
}

# make shell, scripted: the banner and the command's output come back.
shell_scripted() {
	local out
	out=$("$BHQ_TOP/scripts/guest.sh" --shell --cmd 'cat /sys/kernel/debug/bhq/summary') || return 1
	printf '%s\n' "$out"
	printf '%s\n' "$out" | grep -q 'bhq guest shell' &&
		printf '%s\n' "$out" | grep -q '^timeouts_infinite [1-9]'
}

step build-W1 build_w1
step build-plain build_plain
step sparse build_sparse
step checkpatch checkpatch
step kernel-doc kerneldoc
step htmldocs "$BHQ_TOP/scripts/htmldocs.sh"
step spin-model "$BHQ_TOP/tools/model/spin-check.sh"
step kunit-uml "$BHQ_TOP/scripts/kunit.sh" um
step run "$BHQ_TOP/scripts/run.sh"
step bench-quick "$BHQ_TOP/scripts/bench.sh" --quick
step tracepoints "$BHQ_TOP/scripts/guest.sh" --test trace
step shell shell_scripted
step blk "$BHQ_TOP/scripts/guest.sh" --test blk
step tools-debian env BHQ_QEMU_TIMEOUT=600 "$BHQ_TOP/scripts/guest.sh" --debian --test tools
step fio-quick "$BHQ_TOP/scripts/fio.sh" --quick
step kunit-qemu "$BHQ_TOP/scripts/kunit.sh" qemu
step kunit-kcsan "$BHQ_TOP/scripts/kunit.sh" kcsan
step debug-smoke "$BHQ_TOP/scripts/debug-guest.sh" smoke
step debug-kunit-modules "$BHQ_TOP/scripts/debug-guest.sh" kunit-modules
step torture "$BHQ_TOP/scripts/torture.sh"
step torture-debug "$BHQ_TOP/scripts/torture.sh" --debug
step faults-debug "$BHQ_TOP/scripts/debug-guest.sh" faults
step "build-W1-$BHQ_KSERIES_OLD" build_old
step "run-$BHQ_KSERIES_OLD" env KVER="$BHQ_KSERIES_OLD" "$BHQ_TOP/scripts/run.sh"
step dkms "$BHQ_TOP/scripts/dkms.sh" check

[ "${#failures[@]}" -eq 0 ] || printf 'failed: %s\n' "${failures[*]}"
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
