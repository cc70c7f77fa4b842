/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bhq compatibility with the kernels it builds on: 6.1 LTS to 6.12, and
 * by reading (nothing newer can be built here) the interfaces that 6.13+
 * changed.  Every shim names the release that made it necessary.
 */
#ifndef _BHQ_COMPAT_H
#define _BHQ_COMPAT_H

#include <linux/version.h>

/*
 * 6.2 added EXPORT_SYMBOL_IF_KUNIT() (kunit/visibility.h); 6.13 turned
 * symbol namespaces into strings, so the test modules' import is spelled
 * differently there.  BHQ_KUNIT_NS is what they pass to MODULE_IMPORT_NS().
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#include <kunit/visibility.h>
#else
#define EXPORT_SYMBOL_IF_KUNIT(symbol) \
	EXPORT_SYMBOL_NS(symbol, EXPORTED_FOR_KUNIT_TESTING)
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
#define BHQ_KUNIT_NS EXPORTED_FOR_KUNIT_TESTING
#else
#define BHQ_KUNIT_NS "EXPORTED_FOR_KUNIT_TESTING"
#endif

#endif /* _BHQ_COMPAT_H */
