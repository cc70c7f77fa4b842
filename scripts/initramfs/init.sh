#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the test guest (scripts/lib-guest.sh makes the initramfs),
# busybox's or Debian's (scripts/guest.sh --debian):
# mount the usual file systems, run /run.sh (the command scripts/guest.sh
# was given, usually a selftest from /selftests with the modules in
# /modules), print its exit status and power off.
if [ -f /etc/debian_version ]; then
	# The Debian root of scripts/guest.sh --debian: its programs first,
	# busybox's applets for what it lacks (reboot, cttyhack).
	mkdir -p /busybox
	/bin/busybox --install -s /busybox
	export PATH=/usr/sbin:/usr/bin:/busybox
else
	/bin/busybox --install -s /bin
	export PATH=/bin
fi
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
echo "BHQ-GUEST: Linux $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs"
cd /
sh /run.sh
echo "BHQ-GUEST-EXIT: $?"
# QEMU runs with -no-reboot: a reboot ends it, with or without ACPI.
reboot -f
