#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run a command (another selftest), then look for leaks with kmemleak:
#
#	kmemleak.sh COMMAND [ARG...]
#
# Any leak report that mentions bhq fails the run (leaks of the rest of
# the kernel are counted but are not ours to judge), and so does a
# kmemleak that is off and refuses to scan.  Without kmemleak in the
# kernel, the command's status is returned alone.  Exits with the
# command's status when that is not 0.
. "$(dirname "$0")/lib.sh"
[ $# -gt 0 ] || fail "usage: kmemleak.sh COMMAND [ARG...]"
"$@"
rc=$?
K=/sys/kernel/debug/kmemleak
[ -f $K ] || { echo "kmemleak: not in this kernel"; exit $rc; }
# Objects younger than 5 s are not reported; scan twice, as the docs advise.
# kmemleak that turned itself off (after an error of its own, or
# kmemleak=off) refuses the scan and the read: then it found nothing
# because it looked at nothing, which must not pass.
sleep 6
echo scan >$K || fail "kmemleak refused to scan: it is off (see the kernel log)"
sleep 1
echo scan >$K || fail "kmemleak refused to scan: it is off (see the kernel log)"
cat $K >/tmp/bhq-kmemleak.$$ || fail "cannot read $K"
ours=$(awk '/^unreferenced object/ { if (b ~ /bhq/) n++; b = "" } { b = b $0 "\n" }
	END { if (b ~ /bhq/) n++; print n + 0 }' /tmp/bhq-kmemleak.$$)
all=$(grep -c '^unreferenced object' /tmp/bhq-kmemleak.$$)
# Worded so that the console filter does not take this line for a report.
echo "kmemleak: $all objects reported, $ours of them bhq's"
if [ "$ours" -ne 0 ]; then
	cat /tmp/bhq-kmemleak.$$
	fail "bhq leaked memory"
fi
rm -f /tmp/bhq-kmemleak.$$
exit $rc
