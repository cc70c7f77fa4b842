// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_blk accounting: /sys/kernel/debug/bhq_blk/stats, one "name value"
 * line per counter, read by tools/testing/selftests/bhq/blk.sh.  The
 * per-CPU counters are summed without stopping the device, so under load
 * the sums are not one snapshot (inflight may be off by the requests in
 * passage); once the device is quiet they are exact.
 *
 * The test hook inject_double_completions: writing N makes the next N
 * completions complete their request a second time, which must be caught
 * (counted in double_completions, warned once, not ended again).
 */

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/percpu.h>
#include <linux/seq_file.h>

#include "bhq_blk.h"

static int bhq_blk_stats_show(struct seq_file *m, void *unused)
{
	struct bhq_blk_dev *dev = m->private;
	struct bhq_blk_counters sum = {};
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		const struct bhq_blk_counters *c = per_cpu_ptr(dev->counters, cpu);

		sum.submitted += READ_ONCE(c->submitted);
		sum.completed += READ_ONCE(c->completed);
		sum.batches += READ_ONCE(c->batches);
		sum.empty_drains += READ_ONCE(c->empty_drains);
		sum.bytes_read += READ_ONCE(c->bytes_read);
		sum.bytes_written += READ_ONCE(c->bytes_written);
	}
	seq_printf(m, "completion %s\n",
		   bhq_blk_completion_names[dev->completion]);
	seq_printf(m, "submitted %llu\n", sum.submitted);
	seq_printf(m, "completed %llu\n", sum.completed);
	seq_printf(m, "inflight %lld\n", (s64)(sum.submitted - sum.completed));
	seq_printf(m, "batches %llu\n", sum.batches);
	seq_printf(m, "empty_drains %llu\n", sum.empty_drains);
	seq_printf(m, "max_batch %d\n", atomic_read(&dev->max_batch));
	seq_printf(m, "double_completions %d\n",
		   atomic_read(&dev->double_completions));
	seq_printf(m, "store_failures %d\n", atomic_read(&dev->store_failures));
	seq_printf(m, "bytes_read %llu\n", sum.bytes_read);
	seq_printf(m, "bytes_written %llu\n", sum.bytes_written);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bhq_blk_stats);

/**
 * bhq_blk_debugfs_init() - create /sys/kernel/debug/bhq_blk/stats
 * @dev: the device
 *
 * Failures are not fatal (debugfs may be off); the device works without.
 */
void bhq_blk_debugfs_init(struct bhq_blk_dev *dev)
{
	dev->debugfs = debugfs_create_dir("bhq_blk", NULL);
	debugfs_create_file("stats", 0444, dev->debugfs, dev,
			    &bhq_blk_stats_fops);
	debugfs_create_atomic_t("inject_double_completions", 0600,
				dev->debugfs, &dev->inject_double);
}

/**
 * bhq_blk_debugfs_exit() - remove our debugfs directory
 * @dev: the device
 *
 * Waits for readers of the files, so @dev may be freed afterwards.
 */
void bhq_blk_debugfs_exit(struct bhq_blk_dev *dev)
{
	debugfs_remove_recursive(dev->debugfs);
	dev->debugfs = NULL;
}
