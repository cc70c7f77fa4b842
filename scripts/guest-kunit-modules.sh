#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the debug guest: the KUnit suites as modules (they run when
# loaded), then unloaded with bhq.  Every suite must report fail:0.  The
# misuse suite goes last: its lockdep case leaves lockdep off.
fail() { echo "KUNIT-MODULES FAIL: $*"; exit 1; }
mods="bhq_kunit bhq_kunit_lifetime bhq_kunit_hotplug bhq_kunit_misuse"
suites='bhq|bhq_lifetime|bhq_hotplug|bhq_misuse'
insmod /bhq.ko || fail "insmod bhq.ko"
for m in $mods; do
	insmod /$m.ko || fail "insmod $m.ko"
done
dmesg | grep -E "# ($suites): pass:" || fail "no suite results"
if dmesg | grep -E "# ($suites): .*fail:[1-9]|not ok [0-9]+ bhq"; then
	fail "a test failed"
fi
[ "$(dmesg | grep -cE "# ($suites): pass:[1-9][0-9]* fail:0")" -eq 4 ] ||
	fail "expected four suites with fail:0"
# shellcheck disable=SC2086
rmmod $(echo $mods | tr ' ' '\n' | sort -r) bhq || fail "rmmod"
echo "KUNIT-MODULES PASS"
