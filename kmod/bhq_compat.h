/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bhq compatibility with the kernels it builds on: 6.1 LTS to 6.12, and
 * by reading (nothing newer can be built here) the interfaces that 6.13+
 * changed.  Every shim names the release that made it necessary, and
 * tests for the interface itself (here or in Kbuild), not for a version
 * number.
 */
#ifndef _BHQ_COMPAT_H
#define _BHQ_COMPAT_H

#include <linux/module.h>

/*
 * 6.2 added EXPORT_SYMBOL_IF_KUNIT() in <kunit/visibility.h>; the top
 * Kbuild looks for the header (Debian's 6.1 has it too).
 */
#ifdef BHQ_HAVE_KUNIT_VISIBILITY
#include <kunit/visibility.h>
#else
#define EXPORT_SYMBOL_IF_KUNIT(symbol) \
	EXPORT_SYMBOL_NS(symbol, EXPORTED_FOR_KUNIT_TESTING)
#endif

/*
 * The KUnit modules' import of those symbols.  6.13 made symbol
 * namespaces strings, so MODULE_IMPORT_NS() takes "NS" there and NS
 * before; both write the same modinfo line, which this writes directly.
 */
#define BHQ_IMPORT_KUNIT_NS()	MODULE_INFO(import_ns, "EXPORTED_FOR_KUNIT_TESTING")

#endif /* _BHQ_COMPAT_H */
