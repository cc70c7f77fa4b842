#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make htmldocs`: render Documentation/ to HTML with Sphinx and the
# kernel's kernel-doc extension (from the 6.12 tree), warnings as errors.
. "$(dirname "$0")/lib.sh"

ensure_pkgs python3-sphinx
BHQ_KSRC=$(ensure_ksrc)
BHQ_VERSION=$(bhq_version)
export BHQ_KSRC BHQ_VERSION
out=$BHQ_TOP/Documentation/output
say "sphinx-build -W: Documentation/ -> $out"
# Debian's sphinx-build, not one a python environment may put first.
/usr/bin/python3 -m sphinx -W --keep-going -q -b html \
	-d "$BHQ_CACHE/doctrees" "$BHQ_TOP/Documentation" "$out"
say "htmldocs: open $out/index.html"
