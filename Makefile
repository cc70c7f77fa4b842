# SPDX-License-Identifier: GPL-2.0
#
# bhq: the developer's entry points.  The kernel build itself is described
# by Kbuild (in and out of tree); this file only drives it.
#
#   make            build kmod/bhq.ko and demo/bhq_demo.ko against KDIR
#   make run        boot Debian's 6.12 cloud kernel under QEMU and show bhq
#   make check      everything CI runs; ends with "N passed, N failed"
#   make kunit      the KUnit suites under UML with kunit.py
#   make kunit-qemu / kunit-kcsan   the same on x86_64 with 4 vCPUs and
#                   lockdep, KASAN, kmemleak / KCSAN
#   make shell      boot the test kernel with bhq loaded and get its shell;
#                   CMD='...' runs a command there instead
#   make tools-check   tools/bhq (bhqstat, bhq_latency.bt) and trace-cmd
#                   checked in the test kernel booted on a Debian root
#   make torture    the torture test under QEMU: CPU hotplug, 50 load/unload
#                   cycles; TORTURE_SECONDS=N runs longer
#   make torture-debug   the same on the SMP debug kernel
#   make faults-debug    bhq.ko and the demo under failslab and
#                   fail_page_alloc on the SMP debug kernel
#   make bench      every benchmark in one boot of the test kernel:
#                   bench/results, table printed (minutes)
#   make fio        fio on bhq_blk's completion paths and null_blk in the
#                   test kernel booted on a Debian root: bench/results
#   make htmldocs   render Documentation/ with Sphinx and kernel-doc
#   make dkms-install / dkms-remove   register bhq with DKMS for KVER
#
# Variables: KDIR (headers to build against), KSRC (a kernel tree for
# kunit.py instead of Debian's linux-source), KVER (test kernel release or
# series for `make run`, e.g. 6.1), BHQ_CACHE (default ~/.cache/bhq).

KDIR ?= /lib/modules/$(shell uname -r)/build
export KSRC KVER BHQ_CACHE CMD

.PHONY: all modules run check kunit kunit-qemu kunit-kcsan torture torture-debug faults-debug bench fio shell tools-check htmldocs dkms-install dkms-remove clean help

all: modules

modules:
	@test -f "$(KDIR)/Makefile" || { echo "bhq: no kernel build tree at KDIR=$(KDIR); pass KDIR=..., or use 'make run'" >&2; exit 1; }
	@out=$$(scripts/build.sh "$(KDIR)" W=1 | tail -n 1) && \
		cp "$$out/kmod/bhq.ko" kmod/ && cp "$$out/demo/bhq_demo.ko" demo/ && \
		echo "built kmod/bhq.ko demo/bhq_demo.ko (objects in $$out)"

run:
	@scripts/run.sh

check:
	@scripts/check.sh

kunit:
	@scripts/kunit.sh um

kunit-qemu:
	@scripts/kunit.sh qemu

kunit-kcsan:
	@scripts/kunit.sh kcsan

torture:
	@scripts/torture.sh

torture-debug:
	@scripts/torture.sh --debug

faults-debug:
	@scripts/debug-guest.sh faults

bench:
	@scripts/bench.sh

fio:
	@scripts/fio.sh

shell:
	@scripts/guest.sh --shell

tools-check:
	@scripts/guest.sh --debian --test tools

htmldocs:
	@scripts/htmldocs.sh

dkms-install:
	@scripts/dkms.sh install

dkms-remove:
	@scripts/dkms.sh remove

clean:
	rm -rf kmod/*.ko demo/*.ko Documentation/output

help:
	@sed -n '3,30p' Makefile
