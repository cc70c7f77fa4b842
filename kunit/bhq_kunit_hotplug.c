// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for bhq's per-CPU threads under CPU hotplug: every thread is
 * bound (userspace cannot move it) to its CPU while that is online; while
 * its CPU is offline it serves its context from the housekeeping CPUs
 * only, never from isolated ones, whether its own CPU is isolated or not;
 * when the CPU comes back its BHs run on it again.  A BH scheduled while
 * the CPU goes down, before bhq has moved the thread (the window described
 * at the top of kmod/bhq_ctx.c), runs too.
 *
 * The hotplug cases drive remove_cpu() and add_cpu() themselves, so they
 * need an SMP kernel with CONFIG_HOTPLUG_CPU (make kunit-qemu boots 4
 * vCPUs with isolcpus=3); on one CPU they are skipped, and the cases of an
 * isolated CPU are skipped without one.
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
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
 * The first online CPU but CPU 0 (which x86 cannot take offline) that is a
 * housekeeping CPU, or an isolated one; nr_cpu_ids if there is none.
 */
static unsigned int hp_pick_cpu(const struct cpumask *hk, bool isolated)
{
	unsigned int cpu;

	for_each_online_cpu(cpu) {
		if (cpu && cpumask_test_cpu(cpu, hk) != isolated)
			return cpu;
	}
	return nr_cpu_ids;
}

/*
 * Take @cpu offline: its thread, still bound, may then run on exactly the
 * housekeeping CPUs @hk, and a BH of its context runs on one of them;
 * bring it back: the thread is bound to it again and a BH runs there.
 */
static void hp_offline_and_online(struct kunit *test, unsigned int cpu,
				  const struct cpumask *hk)
{
	struct task_struct *t = bhq_cpu_ctx(cpu)->thread;
	unsigned int ran;
	int err;

	err = remove_cpu(cpu);
	if (err)
		kunit_skip(test, "remove_cpu(%u) failed: %d", cpu, err);
	KUNIT_EXPECT_TRUE_MSG(test, cpumask_equal(t->cpus_ptr, hk),
			      "offline: bhq/%u may run on %*pbl, housekeeping is %*pbl",
			      cpu, cpumask_pr_args(t->cpus_ptr),
			      cpumask_pr_args(hk));
	KUNIT_EXPECT_TRUE(test, t->flags & PF_NO_SETAFFINITY);
	ran = hp_run_on_ctx_of(test, cpu);
	KUNIT_EXPECT_NE(test, ran, cpu);
	KUNIT_EXPECT_TRUE_MSG(test, ran < nr_cpu_ids && cpumask_test_cpu(ran, hk),
			      "offline: a BH of bhq/%u ran on CPU %u", cpu, ran);

	KUNIT_ASSERT_EQ(test, add_cpu(cpu), 0);
	KUNIT_EXPECT_TRUE_MSG(test, cpumask_equal(t->cpus_ptr, cpumask_of(cpu)),
			      "online again: bhq/%u may run on %*pbl", cpu,
			      cpumask_pr_args(t->cpus_ptr));
	KUNIT_EXPECT_EQ(test, hp_run_on_ctx_of(test, cpu), cpu);
}

static void hp_need_hotplug(struct kunit *test)
{
	if (!IS_ENABLED(CONFIG_HOTPLUG_CPU) || num_online_cpus() < 2)
		kunit_skip(test, "needs CPU hotplug and 2 online CPUs");
}

/* A housekeeping CPU offline and online again. */
static void bhq_hotplug_offline_and_online(struct kunit *test)
{
	struct cpumask *hk = hp_housekeeping(test);
	unsigned int cpu;

	hp_need_hotplug(test);
	if (cpumask_equal(hk, cpu_possible_mask))
		kunit_info(test, "no isolated CPU: boot with isolcpus= for the full check");
	cpu = hp_pick_cpu(hk, false);
	if (cpu >= nr_cpu_ids)
		kunit_skip(test, "no housekeeping CPU but CPU 0 is online");
	hp_offline_and_online(test, cpu, hk);
}

/*
 * An isolated CPU offline and online again: its thread leaves it for the
 * housekeeping CPUs, which do not include the CPU itself.  6.12 refuses to
 * take an isolated CPU offline: sched_cpu_deactivate() fails with -EBUSY,
 * as the CPU is alone in its root domain and the deadline bandwidth that
 * its fair server reserves there would have no capacity left.  There the
 * case is skipped; the other cases check that the housekeeping CPUs leave
 * isolated ones out.
 */
static void bhq_hotplug_isolated_offline_and_online(struct kunit *test)
{
	struct cpumask *hk = hp_housekeeping(test);
	unsigned int cpu;

	hp_need_hotplug(test);
	cpu = hp_pick_cpu(hk, true);
	if (cpu >= nr_cpu_ids)
		kunit_skip(test, "no isolated CPU online: boot with isolcpus=");
	hp_offline_and_online(test, cpu, hk);
}

/*
 * What our hotplug callback saw of the CPU going down.  Static: a BH that
 * runs after a timed-out wait finds it still there.
 */
static struct hp_window {
	unsigned int cpu;
	struct task_struct *thread;
	bool called;
	bool active;		/* cpu_active() when we were called */
	int oneshot_err;
	long left;		/* wait_for_completion_timeout() */
	struct hp_probe probe;
	struct cpumask before, after;	/* the thread's mask around the BH */
} hp_window;

static int hp_window_offline(unsigned int cpu)
{
	struct hp_window *w = &hp_window;

	if (cpu != w->cpu)
		return 0;
	w->called = true;
	w->active = cpu_active(cpu);
	cpumask_copy(&w->before, w->thread->cpus_ptr);
	w->probe.ran_on = UINT_MAX;
	init_completion(&w->probe.done);
	w->oneshot_err = bhq_schedule_oneshot(bhq_cpu_ctx(cpu), hp_probe_fn,
					      &w->probe, GFP_KERNEL);
	if (!w->oneshot_err)
		w->left = wait_for_completion_timeout(&w->probe.done, HP_WAIT);
	cpumask_copy(&w->after, w->thread->cpus_ptr);
	return 0;
}

/*
 * The window: a hotplug state of our own, set up after bhq's, tears down
 * before it (dynamic states tear down from the highest), so its callback
 * runs after the scheduler's deactivate step and before bhq_cpu_offline(),
 * with the CPU dying and the thread still bound to it.  A BH scheduled
 * there runs all the same, and once the CPU is offline the thread's mask
 * is the housekeeping CPUs again, however the scheduler widened it.  The
 * log shows where the BH ran and the mask the scheduler gave the thread.
 */
static void bhq_hotplug_bh_while_going_down(struct kunit *test)
{
	struct hp_window *w = &hp_window;
	struct cpumask *hk = hp_housekeeping(test);
	unsigned int cpu;
	int state, err;

	hp_need_hotplug(test);
	cpu = hp_pick_cpu(hk, false);
	if (cpu >= nr_cpu_ids)
		kunit_skip(test, "no housekeeping CPU but CPU 0 is online");
	memset(w, 0, sizeof(*w));
	w->cpu = cpu;
	w->thread = bhq_cpu_ctx(cpu)->thread;
	state = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "bhq/kunit:window",
					  NULL, hp_window_offline);
	KUNIT_ASSERT_GT(test, state, 0);
	err = remove_cpu(cpu);
	cpuhp_remove_state_nocalls(state);
	if (err)
		kunit_skip(test, "remove_cpu(%u) failed: %d", cpu, err);
	KUNIT_EXPECT_TRUE(test, w->called);
	KUNIT_EXPECT_FALSE(test, w->active);
	KUNIT_EXPECT_EQ(test, w->oneshot_err, 0);
	KUNIT_EXPECT_GT_MSG(test, w->left, 0,
			    "a BH scheduled while CPU %u went down did not run", cpu);
	kunit_info(test, "CPU %u going down: bhq/%u could run on %*pbl, its BH ran on CPU %u, then it could run on %*pbl",
		   cpu, cpu, cpumask_pr_args(&w->before), w->probe.ran_on,
		   cpumask_pr_args(&w->after));
	if (cpumask_equal(&w->before, hk))
		kunit_info(test, "bhq_cpu_offline() had run before our callback: not in the window");
	KUNIT_EXPECT_TRUE_MSG(test, cpumask_equal(w->thread->cpus_ptr, hk),
			      "offline: bhq/%u may run on %*pbl, housekeeping is %*pbl",
			      cpu, cpumask_pr_args(w->thread->cpus_ptr),
			      cpumask_pr_args(hk));
	KUNIT_ASSERT_EQ(test, add_cpu(cpu), 0);
	KUNIT_EXPECT_TRUE(test, cpumask_equal(w->thread->cpus_ptr, cpumask_of(cpu)));
}

static struct kunit_case bhq_hotplug_cases[] = {
	KUNIT_CASE(bhq_hotplug_threads_are_bound),
	KUNIT_CASE(bhq_hotplug_offline_and_online),
	KUNIT_CASE(bhq_hotplug_isolated_offline_and_online),
	KUNIT_CASE(bhq_hotplug_bh_while_going_down),
	{}
};

static struct kunit_suite bhq_hotplug_suite = {
	.name = "bhq_hotplug",
	.test_cases = bhq_hotplug_cases,
};

kunit_test_suite(bhq_hotplug_suite);

MODULE_DESCRIPTION("KUnit tests for bhq: per-CPU threads and CPU hotplug");
MODULE_LICENSE("GPL");
