#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make shell`: load bhq, say where things are, and hand the console over;
# or, when scripts/guest.sh put a command in /cmd.sh, run it instead.
insmod /modules/bhq.ko
cat <<'BANNER'

bhq guest shell -- bhq.ko is loaded.
  counters:     /sys/kernel/debug/bhq/summary, /sys/kernel/debug/bhq/cpuN/stats
  tracepoints:  /sys/kernel/tracing/events/bhq/ (echo 1 > .../enable; cat /sys/kernel/tracing/trace)
  modules:      /modules/*.ko (insmod /modules/bhq_demo.ko runs the demo load)
  selftests:    /selftests/*.sh -m /modules (smoke.sh, trace.sh, ...)
Exit the shell to power the guest off.

BANNER
if [ -f /cmd.sh ]; then
	echo "+ $(cat /cmd.sh)"
	sh /cmd.sh
	exit
fi
setsid cttyhack sh -l
