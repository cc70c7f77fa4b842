// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_torture CPU hotplug: a kthread that takes CPUs offline and brings
 * them back with remove_cpu() and add_cpu() every onoff_interval_ms, and
 * a dynamic hotplug state of our own, ordered around bhq's, that moves
 * the producers home and keeps the generations the cpu check reads.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/cpumask.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/smp.h>

#include <linux/bhq.h>
#include "bhq_torture.h"

/* ---- our hotplug state ---- */

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

/* Remove our hotplug state: no callback of ours runs once this returns. */
void bhqt_stop_cpus(void)
{
	if (bhqt.cpuhp_state > 0)
		cpuhp_remove_state_nocalls(bhqt.cpuhp_state);
	bhqt.cpuhp_state = 0;
}

/* ---- the hotplug kthread ---- */

/* Attempts to bring a CPU back before giving up for now. */
#define BHQT_ONLINE_TRIES	10

/**
 * struct bhqt_onoff - the CPU hotplug kthread
 * @task: the kthread; NULL if onoff_interval_ms is 0 or the kernel has no
 *	CPU hotplug
 * @offlined: the CPUs it took offline and has not brought back yet
 * @rnd: its random state
 */
struct bhqt_onoff {
	struct task_struct *task;
	struct cpumask offlined;
	struct rnd_state rnd;
};

static struct bhqt_onoff bhqt_onoff;

/* Sleep about @ms (half to one and a half times), or until told to stop. */
static void bhqt_onoff_sleep(unsigned int ms)
{
	ms = ms / 2 + prandom_u32_state(&bhqt_onoff.rnd) % (ms + 1);
	set_current_state(TASK_IDLE);
	if (!kthread_should_stop())
		schedule_timeout(msecs_to_jiffies(ms) + 1);
	__set_current_state(TASK_RUNNING);
}

/*
 * A CPU to take offline, chosen at random among the online ones but CPU 0
 * and those the kernel cannot unplug; nr_cpu_ids if none.  The last
 * online CPU is never taken.
 */
static unsigned int bhqt_onoff_pick(void)
{
	unsigned int cpu, n = 0, k;

	if (num_online_cpus() <= 1)
		return nr_cpu_ids;
	for_each_online_cpu(cpu)
		n += cpu && cpu_is_hotpluggable(cpu);
	if (!n)
		return nr_cpu_ids;
	k = prandom_u32_state(&bhqt_onoff.rnd) % n;
	for_each_online_cpu(cpu) {
		if (cpu && cpu_is_hotpluggable(cpu) && !k--)
			return cpu;
	}
	return nr_cpu_ids;
}

/* Take one more CPU offline; false if there was none to take. */
static bool bhqt_onoff_offline_one(void)
{
	unsigned int cpu = bhqt_onoff_pick();
	int err;

	if (cpu >= nr_cpu_ids)
		return false;
	err = remove_cpu(cpu);
	if (err) {
		/* The kernel may refuse for a while: not our failure. */
		bhqt_inc(BHQT_HP_FAILURES);
		pr_info("remove_cpu(%u): %d\n", cpu, err);
		return false;
	}
	cpumask_set_cpu(cpu, &bhqt_onoff.offlined);
	return true;
}

/* Bring back every CPU we took offline; false if one stays offline. */
static bool bhqt_onoff_online_all(void)
{
	unsigned int cpu, tries;
	bool ok = true;
	int err;

	for_each_cpu(cpu, &bhqt_onoff.offlined) {
		for (tries = 0; tries < BHQT_ONLINE_TRIES; tries++) {
			err = add_cpu(cpu);
			if (!err)
				break;
			bhqt_inc(BHQT_HP_FAILURES);
			schedule_timeout_idle(HZ / 10);
		}
		if (err) {
			pr_err("add_cpu(%u): %d, CPU %u stays offline for now\n",
			       cpu, err, cpu);
			ok = false;
			continue;
		}
		cpumask_clear_cpu(cpu, &bhqt_onoff.offlined);
		bhqt_inc(BHQT_HP_CYCLES);
	}
	return ok;
}

/*
 * Every cycle takes a CPU offline (every fourth cycle two, when there are
 * enough), holds them offline for about onoff_interval_ms while the load
 * runs, and brings them back; the next cycle follows after about as long.
 * Which CPUs rotates at random, so that each CPU's context goes away with
 * BHs pending.  Stopping, it brings every CPU it took back online.
 */
static int bhqt_onoff_fn(void *unused)
{
	unsigned int n;

	for (n = 0; !kthread_should_stop(); n++) {
		if (bhqt_onoff_offline_one() && n % 4 == 3)
			bhqt_onoff_offline_one();
		bhqt_onoff_sleep(bhqt_onoff_interval_ms);
		bhqt_onoff_online_all();
		bhqt_onoff_sleep(bhqt_onoff_interval_ms);
	}
	if (!bhqt_onoff_online_all())
		bhqt_violation(BHQT_V_STALL,
			       "CPUs %*pbl taken offline by the test did not come back",
			       cpumask_pr_args(&bhqt_onoff.offlined));
	return 0;
}

/**
 * bhqt_onoff_init() - create the hotplug kthread, if it is wanted
 *
 * Context: process context, at load.
 * Return: 0 or -ENOMEM.
 */
int bhqt_onoff_init(void)
{
	if (!bhqt_onoff_interval_ms)
		return 0;
	if (!IS_ENABLED(CONFIG_HOTPLUG_CPU)) {
		pr_info("no CPU hotplug in this kernel: onoff_interval_ms=%u ignored\n",
			bhqt_onoff_interval_ms);
		return 0;
	}
	cpumask_clear(&bhqt_onoff.offlined);
	prandom_seed_state(&bhqt_onoff.rnd, get_random_u64());
	bhqt_onoff.task = bhqt_kthread_create(bhqt_onoff_fn, NULL, "bhqt-onoff");
	return bhqt_onoff.task ? 0 : -ENOMEM;
}

void bhqt_onoff_start(void)
{
	if (bhqt_onoff.task)
		wake_up_process(bhqt_onoff.task);
}

/* Stop the kthread; it brings back the CPUs it took offline first. */
void bhqt_onoff_stop(void)
{
	if (bhqt_onoff.task)
		kthread_stop(bhqt_onoff.task);
	bhqt_onoff.task = NULL;
}
