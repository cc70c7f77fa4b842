#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The one filter for kernel trouble in a console log or dmesg, used by
# the selftests here and by the host harness (scripts/) alike:
#
#	console-badness.sh [FILE]	(standard input without FILE)
#
# Prints the lines that show a kernel report (warning, oops, lockdep,
# KASAN, KCSAN, UBSAN, kmemleak, hung task, soft lockup, RCU stall) and
# exits 0 when there is one, 1 when the log is clean, like grep.  Lines
# between BHQ-EXPECTED-WARNING-BEGIN and BHQ-EXPECTED-WARNING-END (the
# warnings a misuse test or the fault injection provokes on purpose) are
# skipped.
sed '/BHQ-EXPECTED-WARNING-BEGIN/,/BHQ-EXPECTED-WARNING-END/d' "$@" |
	grep -E 'WARNING:|BUG:|Oops|general protection|Call Trace|possible circular|possible recursive|inconsistent lock|UBSAN:|data-race|memory leaks? suspected|unreferenced object|hung_task|blocked for more than|soft lockup|rcu_.*stall|self-detected stall'
