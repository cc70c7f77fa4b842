// SPDX-License-Identifier: GPL-2.0
/*
 * bhq module glue: bring the pieces up in order and take them down in
 * reverse.
 */

#include <linux/init.h>
#include <linux/module.h>
#include <linux/rcupdate.h>

#include "bhq_internal.h"

#define CREATE_TRACE_POINTS
#include <trace/events/bhq.h>

/* For probes in other modules: the torture test checks every event. */
EXPORT_TRACEPOINT_SYMBOL_GPL(bhq_schedule);
EXPORT_TRACEPOINT_SYMBOL_GPL(bhq_execute_start);
EXPORT_TRACEPOINT_SYMBOL_GPL(bhq_execute_end);
EXPORT_TRACEPOINT_SYMBOL_GPL(bhq_poll_start);
EXPORT_TRACEPOINT_SYMBOL_GPL(bhq_poll_end);
EXPORT_TRACEPOINT_SYMBOL_GPL(bhq_sleep);
EXPORT_TRACEPOINT_SYMBOL_GPL(bhq_poll_window);

static int __init bhq_init(void)
{
	int err;

	err = bhq_queue_init();
	if (err)
		return err;
	bhq_debugfs_init();
	err = bhq_cpu_ctxs_init();
	if (err)
		goto err_debugfs_exit;
	bhq_debugfs_add_summary();
	pr_info("bhq: version %s, %u per-CPU contexts ready\n", BHQ_VERSION,
		num_possible_cpus());
	return 0;

err_debugfs_exit:
	bhq_debugfs_exit();
	rcu_barrier();
	bhq_queue_exit();
	return err;
}

static void __exit bhq_exit(void)
{
	bhq_debugfs_del_summary();
	bhq_cpu_ctxs_exit();
	bhq_debugfs_exit();
	/* The contexts are freed by RCU callbacks in this module's text. */
	rcu_barrier();
	bhq_queue_exit();
}

module_init(bhq_init);
module_exit(bhq_exit);

MODULE_DESCRIPTION("bhq: slice-chained bottom-half queues (QEMU's BHs for the kernel)");
MODULE_VERSION(BHQ_VERSION);
MODULE_LICENSE("GPL");
