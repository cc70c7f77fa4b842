#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the debug guest after the payload script (/payload.sh): a
# kmemleak scan; any leak whose report mentions bhq fails the run (leaks
# of the rest of the kernel are shown but are not ours to judge).
K=/sys/kernel/debug/kmemleak
sh /payload.sh
rc=$?
[ -f $K ] || { echo "kmemleak: not in this kernel"; exit $rc; }
# Objects younger than 5 s are not reported; scan twice, as the docs advise.
sleep 6
echo scan > $K
sleep 1
echo scan > $K
cat $K > /tmp/kmemleak
ours=$(awk '/^unreferenced object/ { if (b ~ /bhq/) n++; b = "" } { b = b $0 "\n" }
	END { if (b ~ /bhq/) n++; print n + 0 }' /tmp/kmemleak)
echo "kmemleak: $(grep -c '^unreferenced object' /tmp/kmemleak) unreferenced objects, $ours from bhq"
if [ "$ours" -ne 0 ]; then
	cat /tmp/kmemleak
	echo "KMEMLEAK FAIL: bhq leaked memory"
	exit 1
fi
exit $rc
