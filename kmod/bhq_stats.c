// SPDX-License-Identifier: GPL-2.0
/*
 * bhq counters and their debugfs files:
 *
 *	/sys/kernel/debug/bhq/version		the module's version
 *	/sys/kernel/debug/bhq/misuse		API misuses caught (see bhq_misuse())
 *	/sys/kernel/debug/bhq/summary		all per-CPU contexts together
 *	/sys/kernel/debug/bhq/<ctx>/stats	one context ("cpuN" per CPU)
 *	/sys/kernel/debug/bhq/<ctx>/polling	a threaded context's polling
 *						(bhq_ctx_set_polling())
 *
 * Each file has one "name value" line per counter, in the order of
 * struct bhq_stats.
 */

#include <linux/build_bug.h>
#include <linux/debugfs.h>
#include <linux/export.h>
#include <linux/seq_file.h>
#include <linux/stddef.h>
#include <linux/uaccess.h>

#include "bhq_internal.h"

/* A counter's index when struct bhq_stats is read as an array of u64. */
#define BHQ_STAT_SLOT(member)	(offsetof(struct bhq_stats, member) / sizeof(u64))

/* The names in debugfs, each at its member's index. */
static const char *const bhq_stat_names[] = {
	[BHQ_STAT_SLOT(scheduled)]		= "scheduled",
	[BHQ_STAT_SLOT(coalesced)]		= "coalesced",
	[BHQ_STAT_SLOT(executed)]		= "executed",
	[BHQ_STAT_SLOT(executed_idle)]		= "executed_idle",
	[BHQ_STAT_SLOT(cancelled)]		= "cancelled",
	[BHQ_STAT_SLOT(deleted)]		= "deleted",
	[BHQ_STAT_SLOT(polls)]			= "polls",
	[BHQ_STAT_SLOT(progress_polls)]		= "progress_polls",
	[BHQ_STAT_SLOT(nested_polls)]		= "nested_polls",
	[BHQ_STAT_SLOT(max_depth)]		= "max_depth",
	[BHQ_STAT_SLOT(timeouts_zero)]		= "timeouts_zero",
	[BHQ_STAT_SLOT(timeouts_idle)]		= "timeouts_idle",
	[BHQ_STAT_SLOT(timeouts_infinite)]	= "timeouts_infinite",
	[BHQ_STAT_SLOT(wakeups)]		= "wakeups",
	[BHQ_STAT_SLOT(live)]			= "live",
	[BHQ_STAT_SLOT(spin_hits)]		= "spin_hits",
	[BHQ_STAT_SLOT(spin_misses)]		= "spin_misses",
	[BHQ_STAT_SLOT(spin_ns)]		= "spin_ns",
	[BHQ_STAT_SLOT(refused)]		= "refused",
};

#define BHQ_NR_STATS	ARRAY_SIZE(bhq_stat_names)

/* Counters are summed and printed as an array of u64, one name each. */
static_assert(sizeof(struct bhq_stats) == BHQ_NR_STATS * sizeof(u64));

atomic_long_t bhq_misuse_detected = ATOMIC_LONG_INIT(0);

#if IS_ENABLED(CONFIG_KUNIT)
/**
 * bhq_misuse_count() - how many API misuses bhq has caught
 *
 * For bhq's KUnit suites only (CONFIG_KUNIT): a test reads it before and
 * after a call to check that the call was, or was not, reported as misuse.
 * The same count is in /sys/kernel/debug/bhq/misuse.
 *
 * Context: any.
 * Return: the number of misuses caught since the module was loaded.
 */
long bhq_misuse_count(void)
{
	return atomic_long_read(&bhq_misuse_detected);
}
EXPORT_SYMBOL_IF_KUNIT(bhq_misuse_count);
#endif

static struct dentry *bhq_debugfs_root;
static struct dentry *bhq_debugfs_summary;

/* Add the counters of @ctx to @stats; max_depth takes the maximum. */
static void bhq_ctx_add_stats(struct bhq_ctx *ctx, struct bhq_stats *stats)
{
	u64 *sum = (u64 *)stats;
	unsigned int cpu, i;

	for_each_possible_cpu(cpu) {
		const u64 *c = (const u64 *)per_cpu_ptr(ctx->counters, cpu);

		for (i = 0; i < BHQ_NR_STATS; i++)
			sum[i] += READ_ONCE(c[i]);
	}
	stats->max_depth = max(stats->max_depth, READ_ONCE(ctx->max_depth));
}

/**
 * bhq_ctx_get_stats() - read the counters of a context
 * @ctx: the context
 * @stats: filled with the sums of the per-CPU counters
 *
 * The counters are not read atomically as a group: under load the result
 * is a snapshot that may be a few events apart from one field to another.
 *
 * Context: any; the fields are plain loads.
 * Return: nothing.
 */
void bhq_ctx_get_stats(struct bhq_ctx *ctx, struct bhq_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	bhq_ctx_add_stats(ctx, stats);
}
EXPORT_SYMBOL_GPL(bhq_ctx_get_stats);

static void bhq_stats_print(struct seq_file *m, const struct bhq_stats *stats)
{
	const u64 *v = (const u64 *)stats;
	unsigned int i;

	for (i = 0; i < BHQ_NR_STATS; i++)
		seq_printf(m, "%s %llu\n", bhq_stat_names[i], v[i]);
}

static int bhq_stats_show(struct seq_file *m, void *unused)
{
	struct bhq_stats stats;

	bhq_ctx_get_stats(m->private, &stats);
	bhq_stats_print(m, &stats);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bhq_stats);

static int bhq_summary_show(struct seq_file *m, void *unused)
{
	struct bhq_stats stats = {};
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		bhq_ctx_add_stats(bhq_cpu_ctx(cpu), &stats);
	bhq_stats_print(m, &stats);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bhq_summary);

static int bhq_version_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "%s\n", BHQ_VERSION);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bhq_version);

static int bhq_misuse_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "%ld\n", atomic_long_read(&bhq_misuse_detected));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bhq_misuse);

/*
 * debugfs failures are not errors (a kernel without debugfs loads bhq
 * all the same): the debugfs calls accept the error pointers they return.
 */
void bhq_debugfs_init(void)
{
	bhq_debugfs_root = debugfs_create_dir("bhq", NULL);
	debugfs_create_file("version", 0444, bhq_debugfs_root, NULL,
			    &bhq_version_fops);
	debugfs_create_file("misuse", 0444, bhq_debugfs_root, NULL,
			    &bhq_misuse_fops);
}

/* Only while the per-CPU contexts exist: the summary reads them all. */
void bhq_debugfs_add_summary(void)
{
	bhq_debugfs_summary = debugfs_create_file("summary", 0444,
						  bhq_debugfs_root, NULL,
						  &bhq_summary_fops);
}

void bhq_debugfs_del_summary(void)
{
	debugfs_remove(bhq_debugfs_summary);
	bhq_debugfs_summary = NULL;
}

/* Last: every context has removed its own directory by now. */
void bhq_debugfs_exit(void)
{
	debugfs_remove_recursive(bhq_debugfs_root);
	bhq_debugfs_root = NULL;
}

/*
 * <ctx>/polling of a threaded context: the settings of
 * bhq_ctx_set_polling() and the window in use; writing "MAX_NS [GROW
 * [SHRINK]]" changes them.
 */
static int bhq_polling_show(struct seq_file *m, void *unused)
{
	struct bhq_ctx *ctx = m->private;

	seq_printf(m, "max_ns %llu\ngrow %u\nshrink %u\nwindow_ns %llu\n",
		   READ_ONCE(ctx->poll_max_ns), READ_ONCE(ctx->poll_grow),
		   READ_ONCE(ctx->poll_shrink), READ_ONCE(ctx->poll_ns));
	return 0;
}

static int bhq_polling_open(struct inode *inode, struct file *file)
{
	return single_open(file, bhq_polling_show, inode->i_private);
}

static ssize_t bhq_polling_write(struct file *file, const char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	struct bhq_ctx *ctx = file_inode(file)->i_private;
	unsigned int grow = 0, shrink = 0;
	char buf[64];
	u64 max_ns;
	int n, err;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	n = sscanf(buf, "%llu %u %u", &max_ns, &grow, &shrink);
	if (n < 1)
		return -EINVAL;
	err = bhq_ctx_set_polling(ctx, max_ns, grow, shrink);
	return err ? err : len;
}

static const struct file_operations bhq_polling_fops = {
	.owner = THIS_MODULE,
	.open = bhq_polling_open,
	.read = seq_read,
	.write = bhq_polling_write,
	.llseek = seq_lseek,
	.release = single_release,
};

void bhq_debugfs_add_ctx(struct bhq_ctx *ctx)
{
	ctx->debugfs = debugfs_create_dir(ctx->name, bhq_debugfs_root);
	debugfs_create_file("stats", 0444, ctx->debugfs, ctx, &bhq_stats_fops);
	if (ctx->thread)
		debugfs_create_file("polling", 0644, ctx->debugfs, ctx,
				    &bhq_polling_fops);
}

/* Waits for readers of the context's files to finish. */
void bhq_debugfs_del_ctx(struct bhq_ctx *ctx)
{
	debugfs_remove_recursive(ctx->debugfs);
	ctx->debugfs = NULL;
}
