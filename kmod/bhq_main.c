// SPDX-License-Identifier: GPL-2.0
/*
 * bhq module glue: bring the pieces up in order and take them down in
 * reverse.
 */

#include <linux/init.h>
#include <linux/module.h>

#include "bhq_internal.h"

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
	pr_info("bhq: %u per-CPU contexts ready\n", num_possible_cpus());
	return 0;

err_debugfs_exit:
	bhq_debugfs_exit();
	bhq_queue_exit();
	return err;
}

static void __exit bhq_exit(void)
{
	bhq_debugfs_del_summary();
	bhq_cpu_ctxs_exit();
	bhq_debugfs_exit();
	bhq_queue_exit();
}

module_init(bhq_init);
module_exit(bhq_exit);

MODULE_DESCRIPTION("bhq: slice-chained bottom-half queues (QEMU's BHs for the kernel)");
MODULE_LICENSE("GPL");
