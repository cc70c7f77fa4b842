# SPDX-License-Identifier: GPL-2.0
#
# bhq: the developer's entry points.  The kernel build itself is described
# by Kbuild (in and out of tree); this file only drives it.
#
#   make            build kmod/bhq.ko and demo/bhq_demo.ko against KDIR
#   make run        boot Debian's 6.12 cloud kernel under QEMU and show bhq
#   make check      everything CI runs; ends with "N passed, N failed"
#   make kunit      the KUnit suite under UML with kunit.py
#
# Variables: KDIR (headers to build against), KSRC (a kernel tree for
# kunit.py instead of Debian's linux-source), KVER (test kernel release or
# series for `make run`, e.g. 6.1), BHQ_CACHE (default ~/.cache/bhq).

KDIR ?= /lib/modules/$(shell uname -r)/build
export KSRC KVER BHQ_CACHE

.PHONY: all modules run check kunit clean help

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
	@scripts/kunit.sh

clean:
	rm -f kmod/*.ko demo/*.ko

help:
	@sed -n '3,15p' Makefile
