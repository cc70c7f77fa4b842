#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The bhq KUnit suites as modules (a kernel with CONFIG_KUNIT and bhq
# built with CONFIG_BHQ_KUNIT_TEST=m):
#
#	kunit-modules.sh [-m DIR]
#
# The suites run when loaded; every one must report fail:0.  Then they
# are unloaded with bhq.  The misuse suite goes last: its lockdep case
# leaves lockdep off.
. "$(dirname "$0")/lib.sh"
bhq_args "$@"
kmsg_mark
[ -d /sys/module/kunit ] || skip "the kernel has no KUnit"
bhq_unload_all
mods="bhq_kunit bhq_kunit_lifetime bhq_kunit_hotplug bhq_kunit_polling bhq_kunit_misuse"
suites='bhq|bhq_lifetime|bhq_hotplug|bhq_polling|bhq_misuse'
bhq_insmod bhq || fail "insmod bhq.ko"
for m in $mods; do
	bhq_insmod $m || fail "insmod $m.ko"
done
log=$(kmsg)
echo "$log" | grep -E "# ($suites): pass:" || fail "no suite results"
if echo "$log" | grep -E "# ($suites): .*fail:[1-9]|not ok [0-9]+ bhq"; then
	fail "a test failed"
fi
[ "$(echo "$log" | grep -cE "# ($suites): pass:[1-9][0-9]* fail:0")" -eq 5 ] ||
	fail "expected five suites with fail:0"
# shellcheck disable=SC2086
rmmod $(echo $mods | tr ' ' '\n' | sort -r) bhq || fail "rmmod"
kernel_clean
pass
