// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_torture CPU hotplug: a dynamic hotplug state of our own, ordered
 * around bhq's, that moves the producers home and keeps the generations
 * the cpu check reads.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/cpumask.h>
#include <linux/sched.h>
#include <linux/smp.h>

#include <linux/bhq.h>
#include "bhq_torture.h"

/* ---- CPU hotplug ---- */

/* Is bhq's thread of @cpu (learned from its callbacks) bound to @cpu? */
static void bhqt_hp_check_binding(unsigned int cpu)
{
	struct task_struct *t = READ_ONCE(bhqt.cpu_bc[cpu]->poller);

	if (t && (READ_ONCE(t->nr_cpus_allowed) != 1 ||
		  !cpumask_test_cpu(cpu, t->cpus_ptr)))
		bhqt_inc(BHQT_HP_UNBOUND);
}

static void bhqt_bind_producer(unsigned int cpu, const struct cpumask *mask)
{
	struct task_struct *t = bhqt_cpu_prod(cpu, BHQT_KTHREAD)->task;

	if (t)
		set_cpus_allowed_ptr(t, mask);
}

/* Runs on @cpu, after bhq's own online callback. */
static int bhqt_cpu_online(unsigned int cpu)
{
	bhqt_hp_check_binding(cpu);
	bhqt_bind_producer(cpu, cpumask_of(cpu));
	bhqt_timers_home(cpu, true);
	/* Even once bhq's thread is bound to @cpu; pairs with bhqt_check_cpu(). */
	smp_mb__before_atomic();
	atomic_inc(&bhqt.hp_gen[cpu]);
	bhqt_inc(BHQT_HP_ONLINE);
	return 0;
}

/* Runs on @cpu, before bhq's own offline callback unbinds its thread. */
static int bhqt_cpu_offline(unsigned int cpu)
{
	atomic_inc(&bhqt.hp_gen[cpu]);
	/* Odd before our producer (and then bhq's thread) is unbound. */
	smp_mb__after_atomic();
	bhqt_bind_producer(cpu, cpu_possible_mask);
	bhqt_inc(BHQT_HP_OFFLINE);
	return 0;
}

/*
 * Under the hotplug lock: bind the producers, set the generations, set up
 * our hotplug state, start each online CPU's timers on that CPU (those of
 * offline CPUs here; they move home when their CPU comes online).
 */
int bhqt_start_cpus(void)
{
	unsigned int cpu;
	int ret;

	cpus_read_lock();
	ret = bhqt_create_producers();
	if (ret)
		goto out;
	ret = cpuhp_setup_state_nocalls_cpuslocked(CPUHP_AP_ONLINE_DYN,
						   "bhq_torture:online",
						   bhqt_cpu_online, bhqt_cpu_offline);
	if (ret < 0)
		goto out;
	bhqt.cpuhp_state = ret;
	ret = 0;
	for_each_possible_cpu(cpu) {
		if (cpu_online(cpu))
			smp_call_function_single(cpu, bhqt_timers_home_ipi, NULL, 1);
		else
			bhqt_timers_home(cpu, false);
	}
out:
	cpus_read_unlock();
	return ret;
}
