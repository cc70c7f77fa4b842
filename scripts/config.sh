# SPDX-License-Identifier: GPL-2.0
# bhq: the one place that names packages, kernel series and cache paths.
# Sourced by every script under scripts/; the Makefile passes its
# variables (KDIR, KSRC, KVER, BHQ_CACHE) through the environment.

# Kernel series: kunit.py runs from the linux-source package of this series,
# and `make run` boots Debian's prebuilt cloud kernel of the same series.
BHQ_KSERIES=${BHQ_KSERIES:-6.12}
# The older LTS series bhq must also build and run on.
BHQ_KSERIES_OLD=6.1
BHQ_FLAVOUR=cloud-amd64

# Debian packages the scripts need on the host, by purpose.
BHQ_PKGS_BUILD="build-essential bc bison flex libelf-dev libssl-dev kmod cpio xz-utils python3"
BHQ_PKGS_CHECK="sparse python3-sphinx dkms spin"
BHQ_PKGS_GUEST="qemu-system-x86 busybox-static"
BHQ_PKGS_ROOTFS="mmdebstrap"

# The Debian root of `scripts/guest.sh --debian` (scripts/lib-guest.sh
# debian_rootfs): the suite and what it holds besides the apt variant.
# The cache key is made from these, so changing them builds it anew
# (BHQ_DEBIAN_PKGS="$BHQ_DEBIAN_PKGS linux-perf" in the environment adds
# a package for a session).
BHQ_DEBIAN_SUITE=bookworm
BHQ_DEBIAN_PKGS=${BHQ_DEBIAN_PKGS:-"busybox kmod procps fio bpftrace trace-cmd"}
BHQ_PKG_SOURCE="linux-source-$BHQ_KSERIES"

# The modules an out-of-tree build makes: directory and Kbuild symbol.  The
# KUnit suite (kunit/) needs CONFIG_KUNIT, which Debian's kernels lack.
BHQ_MODULE_DIRS="kmod:CONFIG_BHQ demo:CONFIG_BHQ_DEMO bench:CONFIG_BHQ_BENCH torture:CONFIG_BHQ_TORTURE blk:CONFIG_BHQ_BLK"

# Everything downloaded or built lives here (kernel trees, build dirs,
# guest images), so that a second run is incremental.
BHQ_CACHE=${BHQ_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/bhq}

# Concurrent jobs (say, a benchmark while the tests run) keep their build
# and guest directories apart by setting BHQ_JOB.
BHQ_JOB=${BHQ_JOB:-main}

# Guest settings for `make run`: TCG only (KVM guests crash on these hosts).
BHQ_QEMU_CPUS=${BHQ_QEMU_CPUS:-2}
BHQ_QEMU_MEM=${BHQ_QEMU_MEM:-1024}
# The Debian root unpacks into the guest's RAM: 1 GiB is not enough.
BHQ_QEMU_MEM_DEBIAN=${BHQ_QEMU_MEM_DEBIAN:-2048}
BHQ_QEMU_TIMEOUT=${BHQ_QEMU_TIMEOUT:-300}
