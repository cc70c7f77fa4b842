// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for bhq's per-CPU threads under CPU hotplug: every thread is
 * bound (userspace cannot move it); while its CPU is offline it serves its
 * context from the housekeeping CPUs only, never from isolated ones; when
 * the CPU comes back its BHs run on it again.
 *
 * The hotplug case drives remove_cpu() and add_cpu() itself, so it needs
 * an SMP kernel with CONFIG_HOTPLUG_CPU (make kunit-qemu boots 4 vCPUs
 * with isolcpus=3); on one CPU it is skipped.
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/isolation.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "../kmod/bhq_internal.h"

#define HP_WAIT	(10 * HZ)

struct hp_probe {
	unsigned int ran_on;
	struct completion done;
};

static void hp_probe_fn(void *opaque)
{
	struct hp_probe *p = opaque;

	p->ran_on = raw_smp_processor_id();
	complete(&p->done);
}

/* Run a oneshot on @cpu's context; return the CPU it ran on. */
static unsigned int hp_run_on_ctx_of(struct kunit *test, unsigned int cpu)
{
	struct hp_probe p = { .ran_on = UINT_MAX };

	init_completion(&p.done);
	KUNIT_EXPECT_EQ(test, bhq_schedule_oneshot(bhq_cpu_ctx(cpu), hp_probe_fn,
						   &p, GFP_KERNEL), 0);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&p.done, HP_WAIT), 0);
	return p.ran_on;
}

/*
 * Where a per-CPU thread may run while its CPU is offline, as bhq_ctx.c
 * has it: the CPUs neither isolated from the scheduler domains nor kept
 * free of kernel threads, or every possible CPU if that leaves none.
 */
static struct cpumask *hp_housekeeping(struct kunit *test)
{
	struct cpumask *hk = kunit_kzalloc(test, cpumask_size(), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, hk);
	if (!cpumask_and(hk, housekeeping_cpumask(HK_TYPE_DOMAIN),
			 housekeeping_cpumask(HK_TYPE_KTHREAD)))
		cpumask_copy(hk, cpu_possible_mask);
	return hk;
}

/*
 * Every per-CPU thread, of an online CPU or not, is its context's kthread
 * "bhq/<cpu>", refuses setaffinity from userspace, and may run on exactly
 * its CPU while that is online and on exactly the housekeeping CPUs while
 * it is offline.  cpus_read_lock() keeps every CPU where it is while the
 * masks are read; no KUNIT_ASSERT under it.  The scheduler's own mark of
 * a per-CPU kthread, kthread_is_per_cpu(), is not exported to modules on
 * 6.1 or 6.12, and bhq cannot set it (kthread_set_per_cpu() is not
 * exported either): the mask and the flag are what binds the thread.
 */
static void bhq_hotplug_threads_are_bound(struct kunit *test)
{
	char comm[TASK_COMM_LEN], want_comm[TASK_COMM_LEN];
	struct cpumask *hk = hp_housekeeping(test);
	unsigned int cpu;

	cpus_read_lock();
	for_each_possible_cpu(cpu) {
		const struct cpumask *want = cpu_online(cpu) ? cpumask_of(cpu) : hk;
		struct bhq_ctx *ctx = bhq_cpu_ctx(cpu);
		struct task_struct *t = ctx ? ctx->thread : NULL;

		KUNIT_EXPECT_NOT_NULL_MSG(test, t, "CPU %u has no bhq thread", cpu);
		if (!t)
			continue;
		KUNIT_EXPECT_EQ(test, ctx->cpu, (int)cpu);
		snprintf(want_comm, sizeof(want_comm), "bhq/%u", cpu);
		get_task_comm(comm, t);
		KUNIT_EXPECT_STREQ(test, comm, want_comm);
		KUNIT_EXPECT_TRUE_MSG(test, t->flags & PF_KTHREAD,
				      "bhq/%u is not a kthread", cpu);
		KUNIT_EXPECT_TRUE_MSG(test, t->flags & PF_NO_SETAFFINITY,
				      "bhq/%u can be moved by userspace", cpu);
		KUNIT_EXPECT_TRUE_MSG(test, cpumask_equal(t->cpus_ptr, want),
				      "bhq/%u (CPU %s) may run on %*pbl, not only on %*pbl",
				      cpu, cpu_online(cpu) ? "online" : "offline",
				      cpumask_pr_args(t->cpus_ptr),
				      cpumask_pr_args(want));
		KUNIT_EXPECT_EQ_MSG(test, (unsigned int)t->nr_cpus_allowed,
				    cpumask_weight(want),
				    "bhq/%u", cpu);
	}
	cpus_read_unlock();
}

/*
 * Offline a CPU: its thread may then run on exactly the housekeeping
 * CPUs, and a BH of its context runs on one of them; online it again:
 * the thread is bound to it and a BH runs there.
 */
static void bhq_hotplug_offline_and_online(struct kunit *test)
{
	struct task_struct *t;
	cpumask_var_t hk;
	unsigned int cpu, ran;
	int err;

	if (!IS_ENABLED(CONFIG_HOTPLUG_CPU) || num_online_cpus() < 2)
		kunit_skip(test, "needs CPU hotplug and 2 online CPUs");
	KUNIT_ASSERT_TRUE(test, alloc_cpumask_var(&hk, GFP_KERNEL));
	cpumask_and(hk, housekeeping_cpumask(HK_TYPE_DOMAIN),
		    housekeeping_cpumask(HK_TYPE_KTHREAD));
	if (cpumask_equal(hk, cpu_possible_mask))
		kunit_info(test, "no isolated CPU: boot with isolcpus= for the full check");

	cpu = cpumask_next(0, cpu_online_mask);
	t = bhq_cpu_ctx(cpu)->thread;
	err = remove_cpu(cpu);
	if (err) {
		free_cpumask_var(hk);
		kunit_skip(test, "remove_cpu(%u) failed: %d", cpu, err);
	}
	KUNIT_EXPECT_TRUE_MSG(test, cpumask_equal(t->cpus_ptr, hk),
			      "offline: bhq/%u may run on %*pbl, housekeeping is %*pbl",
			      cpu, cpumask_pr_args(t->cpus_ptr),
			      cpumask_pr_args(hk));
	KUNIT_EXPECT_TRUE(test, t->flags & PF_NO_SETAFFINITY);
	ran = hp_run_on_ctx_of(test, cpu);
	KUNIT_EXPECT_NE(test, ran, cpu);
	KUNIT_EXPECT_TRUE(test, ran < nr_cpu_ids && cpumask_test_cpu(ran, hk));

	KUNIT_ASSERT_EQ(test, add_cpu(cpu), 0);
	KUNIT_EXPECT_TRUE(test, cpumask_equal(t->cpus_ptr, cpumask_of(cpu)));
	KUNIT_EXPECT_EQ(test, hp_run_on_ctx_of(test, cpu), cpu);
	free_cpumask_var(hk);
}

static struct kunit_case bhq_hotplug_cases[] = {
	KUNIT_CASE(bhq_hotplug_threads_are_bound),
	KUNIT_CASE(bhq_hotplug_offline_and_online),
	{}
};

static struct kunit_suite bhq_hotplug_suite = {
	.name = "bhq_hotplug",
	.test_cases = bhq_hotplug_cases,
};

kunit_test_suite(bhq_hotplug_suite);

MODULE_DESCRIPTION("KUnit tests for bhq: per-CPU threads and CPU hotplug");
MODULE_LICENSE("GPL");
