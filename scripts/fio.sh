#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make fio`: block I/O completions through bhq under fio.  Boots the test
# kernel once on the Debian root (scripts/guest.sh --debian, which has
# fio) with Debian's own null_blk and configfs modules added, and runs
# tools/testing/selftests/bhq/fio.sh there: 4 KiB random reads at iodepth
# 1 and 32, one and two jobs, on each of bhq_blk's completion paths (bhq
# with polling off and on, softirq, wq, kworker, inline) and on null_blk
# (softirq and inline), then fio --verify=crc32c writes on memory-backed
# bhq_blk under CPU hotplug, which must find no error.  Then
# scripts/fio_report.py writes fio.csv, fio.txt, fio.rst (included by
# Documentation/performance.rst) and fio.png into the results directory,
# prints the table and says, per target, met or missed.
#
#   scripts/fio.sh [--quick] [--out DIR] [FIO_SECONDS=N ...]
#
# The full run takes minutes and writes bench/results.  --quick is the
# form `make check` runs: a second per run, one job, 5 s of verify, the
# results in $BHQ_CACHE/fio-quick; it fails only when a run failed or
# verify found an error, never because of a figure.  FIO_*=VALUE pairs go
# to the selftest (FIO_SECONDS, FIO_PATHS, FIO_DEPTHS, FIO_JOBS,
# FIO_VERIFY_SECONDS).
. "$(dirname "$0")/lib.sh"

quick=0
out=""
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1; shift ;;
	--out) out=$2; shift 2 ;;
	FIO_*=*) args+=("$1"); shift ;;
	*) die "fio.sh: unknown argument $1 (see the top of $0)" ;;
	esac
done
if [ "$quick" = 1 ]; then
	out=${out:-$BHQ_CACHE/fio-quick}
	args=(FIO_SECONDS=1 FIO_JOBS=1 FIO_VERIFY_SECONDS=5 "${args[@]}")
else
	out=${out:-$BHQ_TOP/bench/results}
fi
mkdir -p "$out"

# The reference: Debian's null_blk of the test kernel (and configfs, which
# it needs), from the kernel package the guest boots, decompressed for the
# guest's insmod.
kver=$(test_kver) || exit 1
vmlinuz=$(ensure_image "$kver") || exit 1
mods=$(dirname "$vmlinuz")/../lib/modules/$kver/kernel
work=$BHQ_CACHE/fio-modules/$kver
mkdir -p "$work"
adds=()
for m in drivers/block/null_blk/null_blk fs/configfs/configfs; do
	f=$mods/$m.ko.xz
	if [ -f "$f" ]; then
		xz -dc "$f" >"$work/$(basename "$m").ko"
		adds+=(--add "$work/$(basename "$m").ko")
	else
		say "no $f: null_blk will be skipped"
	fi
done

# Per run: fio's few seconds, plus loading; on top of the boot.
export BHQ_QEMU_TIMEOUT=${BHQ_QEMU_TIMEOUT:-1200}
cpus=$(nproc)
[ "$cpus" -le 2 ] || cpus=2
say "fio on $kver with $cpus vCPUs: ${args[*]:-the defaults of tools/testing/selftests/bhq/fio.sh}"
# The guest's log (and the plot's data) stay in the cache.
log=$BHQ_CACHE/fio-$(basename "$out")/guest.log
mkdir -p "$(dirname "$log")"
start=$SECONDS
rc=0
"$BHQ_TOP/scripts/guest.sh" --debian --cpus "$cpus" "${adds[@]}" --test fio -- "${args[@]}" |
	tee "$log" || rc=$?
grep -q 'FIO SUMMARY: PASS' "$log" || rc=1
[ "$rc" -eq 0 ] || die "fio: FAIL after $((SECONDS - start))s (log: $log)"
say "fio: the guest's runs passed in $((SECONDS - start))s; the report:"
python3 "$BHQ_TOP/scripts/fio_report.py" "$log" "$out" $([ "$quick" = 1 ] && echo --quick)
