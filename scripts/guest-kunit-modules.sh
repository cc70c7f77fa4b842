#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the debug guest: the KUnit suites as modules (they run when
# loaded), then unloaded with bhq.  Every suite must report fail:0.
fail() { echo "KUNIT-MODULES FAIL: $*"; exit 1; }
insmod /bhq.ko || fail "insmod bhq.ko"
for m in bhq_kunit bhq_kunit_misuse; do
	insmod /$m.ko || fail "insmod $m.ko"
done
dmesg | grep -E '# (bhq|bhq_misuse): pass:' || fail "no suite results"
if dmesg | grep -E '# (bhq|bhq_misuse): .*fail:[1-9]|not ok [0-9]+ bhq'; then
	fail "a test failed"
fi
[ "$(dmesg | grep -cE '# (bhq|bhq_misuse): pass:[1-9][0-9]* fail:0')" -eq 2 ] ||
	fail "expected two suites with fail:0"
rmmod bhq_kunit_misuse bhq_kunit bhq || fail "rmmod"
echo "KUNIT-MODULES PASS"
