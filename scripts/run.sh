#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make run`: boot Debian's cloud kernel under QEMU (TCG) with a busybox
# initramfs, load bhq and the demo load, print the debugfs counters and
# check that they reconcile, unload, and fail on any kernel warning
# (tools/testing/selftests/bhq/smoke.sh runs in the guest).
. "$(dirname "$0")/lib.sh"

"$BHQ_TOP/scripts/guest.sh" --test smoke || die "make run: the guest smoke failed"
say "make run: PASS"
