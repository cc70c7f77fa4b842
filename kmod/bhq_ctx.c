// SPDX-License-Identifier: GPL-2.0
/*
 * bhq contexts: creation and destruction, the kthread that polls a
 * threaded context, and the per-CPU contexts with CPU hotplug.
 *
 * CPU hotplug: every per-CPU context's thread is bound with kthread_bind()
 * when it is created, online CPU or not, so userspace can never move it
 * (PF_NO_SETAFFINITY).  While its CPU is offline the thread serves the
 * context from the housekeeping CPUs (never from isolated ones), as
 * workqueue does for the pools of an offline CPU, so nothing scheduled on
 * it is stuck; when the CPU comes back the thread is moved back to it.
 *
 * Except in a window that a module cannot close.  Taking a CPU down, the
 * scheduler's step comes first (CPUHP_AP_ACTIVE, sched_cpu_deactivate()):
 * from then on the dying CPU runs only kthreads marked per-CPU
 * (KTHREAD_IS_PER_CPU) and tasks with migration disabled.
 * bhq_cpu_offline() runs later, at our CPUHP_AP_ONLINE_DYN step, as every
 * dynamic state does.  In between, the thread is still bound to the dying
 * CPU, and its next wakeup (select_task_rq()), or balance_push() when it
 * is next switched in there, moves it with select_fallback_rq(): finding
 * no CPU of its mask allowed, that widens the mask for good to its
 * cpuset's CPUs (all of them for a kthread) or to cpu_possible_mask,
 * isolated CPUs included, and runs it on the first allowed CPU, those of
 * the dying CPU's node first, which may be an isolated one.
 * bhq_cpu_offline() then narrows the mask to the housekeeping CPUs again.
 * The window spans sched_cpu_deactivate()'s synchronize_rcu() and the
 * teardown of the dynamic states set up after ours; a BH scheduled in it
 * runs.  Workqueue has no such window: its workers carry the per-CPU mark
 * until unbind_workers() moves them, and rebind_workers() marks them again
 * once bound, but the mark is set by kthread_set_per_cpu(), which is not
 * exported.  The alternatives do not serve: smpboot threads have the mark
 * but are parked while their CPU is offline, so they cannot serve it from
 * elsewhere; a thread that kept migration disabled would pin the CPU
 * (sched_cpu_wait_empty() waits for it), and moving it would wait until
 * it enables migration again, which a callback blocked in
 * cpus_read_lock() never lets it do while the CPU goes down.  Coming up
 * there is no window: the thread waits on the housekeeping CPUs until
 * bhq_cpu_online() binds it, and the scheduler lets a kthread run on an
 * online CPU that is not active yet (is_cpu_allowed() refuses only a
 * dying one); a bring-up rolled back after our step is a teardown as
 * above.
 *
 * Lifetimes: destroy drains the context, stops its thread and then frees
 * the context only after an RCU grace period, because a schedule that
 * published its BH before the destroy may still be returning and reading
 * the context (see "Lifetimes" in bhq_queue.c).  The context holds a
 * reference on its thread until then, for the same schedule's
 * wake_up_process().
 */

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/ctype.h>
#include <linux/err.h>
#include <linux/export.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/sched/isolation.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "bhq_internal.h"
#include <trace/events/bhq.h>

/* Sleeping for idle BHs may end this much late, to batch timer wakeups. */
#define BHQ_IDLE_SLACK_NS	(NSEC_PER_MSEC / 2)

static DEFINE_PER_CPU(struct bhq_ctx *, bhq_cpu_ctxs);
static enum cpuhp_state bhq_cpuhp_state;

/*
 * The per-CPU contexts' polling window at load (bhq_ctx_set_polling()):
 * 0, polling off, by default, as the kernel's other busy polling is
 * (net.core.busy_poll); 32768 is QEMU's IOThread default.
 */
static u64 bhq_cpu_poll_max_ns;

static int bhq_poll_max_ns_set(const char *val, const struct kernel_param *kp)
{
	u64 ns;
	int err;

	err = kstrtou64(val, 0, &ns);
	if (err)
		return err;
	if (ns > BHQ_POLL_MAX_NS_LIMIT) {
		pr_err("bhq: poll_max_ns=%llu: at most %ld\n", ns,
		       BHQ_POLL_MAX_NS_LIMIT);
		return -EINVAL;
	}
	*(u64 *)kp->arg = ns;
	return 0;
}

static const struct kernel_param_ops bhq_poll_max_ns_ops = {
	.set = bhq_poll_max_ns_set,
	.get = param_get_ullong,
};

module_param_cb(poll_max_ns, &bhq_poll_max_ns_ops, &bhq_cpu_poll_max_ns, 0444);
MODULE_PARM_DESC(poll_max_ns,
		 "polling window of the per-CPU threads at load, ns (0 = off, at most 1000000)");

/* All contexts, for unique names.  Protected by bhq_ctx_mutex. */
static LIST_HEAD(bhq_ctx_list);
static DEFINE_MUTEX(bhq_ctx_mutex);

/*
 * Sleep as bhq_compute_timeout() said.  Returns true when woken before
 * the timeout, so that the caller computes the timeout again instead of
 * running idle BHs early.  Called in TASK_IDLE.
 */
static bool bhq_thread_sleep(struct bhq_ctx *ctx, s64 timeout)
{
	ktime_t expires;

	trace_bhq_sleep(ctx, timeout);
	if (timeout == BHQ_TIMEOUT_INFINITE) {
		schedule();
		return true;
	}
	expires = ns_to_ktime(timeout);
	return schedule_hrtimeout_range(&expires, BHQ_IDLE_SLACK_NS,
					HRTIMER_MODE_REL) != 0;
}

/*
 * An idle period of a threaded context's thread: from when it runs out of
 * work to when it finds a non-idle BH.  @start is 0 while the thread is
 * busy, or when the context does not poll (then the clock is never read);
 * @polled: it polled in this period already (it polls once per period).
 */
struct bhq_idle {
	u64 start;
	bool polled;
};

/*
 * Out of work: poll for the window once per idle period
 * (bhq_poll_spin()), then sleep.  Returns true when the caller should
 * poll now.  set_current_state() comes before the timeout is computed, so
 * a scheduler that publishes a BH after we read the list finds us in
 * TASK_IDLE and its wake_up_process() makes schedule() return at once
 * (the usual lost-wakeup rule; the barrier pairing is described in
 * bhq_queue.c).
 */
static bool bhq_thread_idle(struct bhq_ctx *ctx, struct bhq_idle *idle)
{
	s64 timeout;

	if (!idle->start && READ_ONCE(ctx->poll_max_ns))
		idle->start = ktime_get_ns();
	if (idle->start && !idle->polled) {
		idle->polled = true;
		if (bhq_poll_spin(ctx))
			return true;
	}
	set_current_state(TASK_IDLE);
	if (kthread_should_stop()) {
		__set_current_state(TASK_RUNNING);
		return false;
	}
	timeout = bhq_compute_timeout(ctx);
	if (timeout && bhq_thread_sleep(ctx, timeout))
		return false;
	__set_current_state(TASK_RUNNING);
	return true;
}

/*
 * Poll.  A non-idle BH found ends the idle period, and its length adapts
 * the polling window.
 */
static void bhq_thread_poll(struct bhq_ctx *ctx, struct bhq_idle *idle)
{
	if (idle->start && bhq_work_pending(ctx)) {
		bhq_poll_adapt(ctx, ktime_get_ns() - idle->start);
		idle->start = 0;
		idle->polled = false;
	}
	__bhq_poll(ctx);
	cond_resched();
}

/* The loop of a threaded context. */
static int bhq_thread_fn(void *arg)
{
	struct bhq_ctx *ctx = arg;
	struct bhq_idle idle = {};

	while (!kthread_should_stop()) {
		/*
		 * Busy: poll again without the barrier of set_current_state().
		 * Only a decision to sleep needs it; it is taken below.  A BH
		 * that keeps re-scheduling itself must not keep destroy out.
		 */
		if (bhq_work_pending(ctx)) {
			bhq_thread_poll(ctx, &idle);
			continue;
		}
		if (bhq_thread_idle(ctx, &idle))
			bhq_thread_poll(ctx, &idle);
	}
	/* destroy: everything scheduled before it runs in this thread. */
	bhq_ctx_claim(ctx);
	bhq_ctx_drain(ctx);
	return 0;
}

/* Printable ASCII only: the name is a thread's and a directory's. */
static bool bhq_ctx_name_printable(const char *name)
{
	for (; *name; name++) {
		if (!isascii(*name) || !isprint(*name))
			return false;
	}
	return true;
}

static bool bhq_ctx_name_valid(const char *name)
{
	size_t len = name ? strnlen(name, BHQ_CTX_NAME_MAX + 1) : 0;

	return len && len <= BHQ_CTX_NAME_MAX &&
	       bhq_ctx_name_printable(name) && !strchr(name, '/') &&
	       strcmp(name, ".") && strcmp(name, "..") &&
	       strcmp(name, "summary") && strcmp(name, "version") &&
	       strcmp(name, "misuse");
}

static struct bhq_ctx *bhq_ctx_find(const char *name)
{
	struct bhq_ctx *ctx;

	lockdep_assert_held(&bhq_ctx_mutex);
	list_for_each_entry(ctx, &bhq_ctx_list, link) {
		if (!strcmp(ctx->name, name))
			return ctx;
	}
	return NULL;
}

static struct bhq_ctx *bhq_ctx_alloc(const char *name, int cpu)
{
	int node = cpu >= 0 ? cpu_to_node(cpu) : NUMA_NO_NODE;
	struct bhq_ctx *ctx;

	ctx = kzalloc_node(sizeof(*ctx), GFP_KERNEL, node);
	if (!ctx)
		return NULL;
	ctx->counters = alloc_percpu(struct bhq_stats);
	if (!ctx->counters) {
		kfree(ctx);
		return NULL;
	}
	bhq_ctx_init_queue(ctx);
	ctx->cpu = cpu;
	strscpy(ctx->name, name, sizeof(ctx->name));
	lockdep_register_key(&ctx->lockdep_key);
	lockdep_init_map(&ctx->lockdep_map, ctx->name, &ctx->lockdep_key, 0);
	return ctx;
}

static void bhq_ctx_free_rcu(struct rcu_head *rcu)
{
	struct bhq_ctx *ctx = container_of(rcu, struct bhq_ctx, rcu);

	if (ctx->thread)
		put_task_struct(ctx->thread);
	free_percpu(ctx->counters);
	kfree(ctx);
}

/*
 * Free a context nobody polls any more, after a grace period: schedules
 * that published a BH on it may still be returning (their read-side
 * sections end before the callback runs).  bhq_exit() waits for the
 * callbacks with rcu_barrier().
 */
static void bhq_ctx_free(struct bhq_ctx *ctx)
{
	lockdep_unregister_key(&ctx->lockdep_key);
	call_rcu(&ctx->rcu, bhq_ctx_free_rcu);
}

/* Make @thread the context's, with a reference for bhq_ctx_free_rcu(). */
static void bhq_ctx_set_thread(struct bhq_ctx *ctx, struct task_struct *thread)
{
	get_task_struct(thread);
	ctx->thread = thread;
}

/* Make @ctx visible: in the list of contexts and in debugfs. */
static int bhq_ctx_register(struct bhq_ctx *ctx)
{
	mutex_lock(&bhq_ctx_mutex);
	if (bhq_ctx_find(ctx->name)) {
		mutex_unlock(&bhq_ctx_mutex);
		return -EEXIST;
	}
	list_add_tail(&ctx->link, &bhq_ctx_list);
	mutex_unlock(&bhq_ctx_mutex);
	bhq_debugfs_add_ctx(ctx);
	return 0;
}

static void bhq_ctx_unregister(struct bhq_ctx *ctx)
{
	bhq_debugfs_del_ctx(ctx);
	mutex_lock(&bhq_ctx_mutex);
	list_del(&ctx->link);
	mutex_unlock(&bhq_ctx_mutex);
}

/*
 * Drain a threaded context in its thread and stop the thread, or claim a
 * manual context's poll role for good and drain it here.  The flush comes
 * first because kthread_stop() on a thread that has not run yet never
 * calls bhq_thread_fn(), which would skip the thread's own drain.
 */
static void bhq_ctx_teardown(struct bhq_ctx *ctx)
{
	bhq_debug_destroy_begin(ctx);
	bhq_ctx_unregister(ctx);
	bhq_lockdep_wait_callbacks(ctx);
	if (ctx->thread) {
		bhq_flush_barrier(ctx);
		kthread_stop(ctx->thread);
	} else {
		bhq_ctx_claim(ctx);
		bhq_ctx_drain(ctx);
	}
	bhq_ctx_orphan_live(ctx);
	bhq_debug_destroy_end(ctx);
	bhq_ctx_free(ctx);
}

/**
 * bhq_ctx_create() - create a bottom-half context
 * @name: 1 to BHQ_CTX_NAME_MAX printable ASCII characters, no '/', unique
 *	among contexts; names the kthread and the debugfs directory
 * @flags: 0 for a context served by its own kthread, or BHQ_CTX_MANUAL for
 *	one that its owner drives with bhq_poll()
 *
 * Context: process context, may sleep.
 * Return: the new context, or ERR_PTR(-EINVAL) for a bad name or flag,
 * ERR_PTR(-EEXIST) if the name is taken, ERR_PTR(-ENOMEM), or
 * ERR_PTR(-EINTR) if the caller is killed while its kthread is created.
 */
struct bhq_ctx *bhq_ctx_create(const char *name, unsigned int flags)
{
	unsigned int unknown = flags & ~(unsigned int)BHQ_CTX_MANUAL;
	struct task_struct *thread;
	struct bhq_ctx *ctx;
	int err;

	might_sleep();
	if (unknown) {
		pr_err("bhq: %s(%s): unknown flags %#x\n", __func__, name, unknown);
		return ERR_PTR(-EINVAL);
	}
	if (!bhq_ctx_name_valid(name)) {
		pr_err("bhq: %s(): invalid name \"%s\": 1 to %d characters, no '/'\n",
		       __func__, name, BHQ_CTX_NAME_MAX);
		return ERR_PTR(-EINVAL);
	}

	ctx = bhq_ctx_alloc(name, -1);
	if (!ctx)
		return ERR_PTR(-ENOMEM);

	if (!(flags & BHQ_CTX_MANUAL)) {
		thread = kthread_create(bhq_thread_fn, ctx, "%s", name);
		if (IS_ERR(thread)) {
			err = PTR_ERR(thread);
			goto err_free_ctx;
		}
		bhq_ctx_set_thread(ctx, thread);
	}

	err = bhq_ctx_register(ctx);
	if (err)
		goto err_stop_thread;
	if (ctx->thread)
		wake_up_process(ctx->thread);
	return ctx;

err_stop_thread:
	if (ctx->thread)
		kthread_stop(ctx->thread);
err_free_ctx:
	bhq_ctx_free(ctx);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_GPL(bhq_ctx_create);

/**
 * bhq_ctx_destroy() - drain and free a context made by bhq_ctx_create()
 * @ctx: the context; NULL and error pointers are ignored
 *
 * Like destroy_workqueue(): every BH scheduled before the call runs (in
 * the context's own thread for a threaded context), and deleted BHs are
 * freed.  Callbacks may schedule more while the context drains, but the
 * drain is bounded: after 1000 polls a warning names a callback that
 * keeps scheduling, and what is still pending is dequeued without running
 * (it counts as cancelled), so destroy always returns.  BHs still alive
 * afterwards are a caller bug, reported once with a warning naming a
 * callback; they are leaked, never freed behind the caller's back
 * (bhq_bh_delete() still frees them).  The memory is freed after an RCU
 * grace period.
 *
 * It is the last call on @ctx (note (4) in include/linux/bhq.h): when it
 * is called, no flush or sync cancel of @ctx is under way, nothing but
 * @ctx's own callbacks will schedule on it (a schedule that is still
 * returning is fine), and a manual context's owner will not call
 * bhq_poll() again; its last poll may still be returning (its callback
 * told the caller to go ahead), and destroy waits for it.  Under
 * CONFIG_BHQ_DEBUG a call that breaks the rule is reported.
 *
 * Context: process context, may sleep; not from a callback of @ctx, and
 * not for a per-CPU context (both warn and do nothing).  Lockdep sees it
 * as a flush: under a lock that a callback of @ctx takes, it reports.
 * Return: nothing.
 */
void bhq_ctx_destroy(struct bhq_ctx *ctx)
{
	if (IS_ERR_OR_NULL(ctx))
		return;
	might_sleep();
	if (bhq_misuse(ctx->cpu >= 0, "bhq: per-CPU context %s cannot be destroyed\n",
		       ctx->name))
		return;
	if (bhq_misuse(bhq_in_own_callback(ctx),
		       "bhq: context %s destroyed from its own callback\n", ctx->name))
		return;
	bhq_ctx_teardown(ctx);
}
EXPORT_SYMBOL_GPL(bhq_ctx_destroy);

/**
 * bhq_ctx_flush() - wait until every BH scheduled before the call has run
 * @ctx: the context
 *
 * Queues a barrier BH behind everything pending (order is FIFO) and waits
 * until it ran in a top-level poll, so callbacks that were running when
 * it was called have returned too, nested polls or not.  BHs scheduled
 * while flushing are not waited for.  A threaded context's thread runs
 * the barrier.  Any task may flush a manual context: while nobody polls
 * it the caller polls it (running its BHs in the caller's task); while
 * its owner polls, the owner's next poll runs the barrier, and if the
 * owner stops polling first the caller takes over within a jiffy.
 *
 * Context: process context, may sleep; calling it from a callback of @ctx
 * would deadlock, so it warns and returns at once.  Under a lock that a
 * callback of @ctx takes, it may deadlock: lockdep reports it.
 * Return: nothing.
 */
void bhq_ctx_flush(struct bhq_ctx *ctx)
{
	might_sleep();
	if (bhq_misuse(bhq_in_own_callback(ctx),
		       "bhq: %s(%s) from a callback of the same context would deadlock\n",
		       __func__, ctx->name))
		return;
	if (bhq_debug_ctx_dying(ctx, "flush"))
		return;
	bhq_lockdep_wait_callbacks(ctx);
	bhq_debug_flush_begin(ctx);
	bhq_flush_barrier(ctx);
	bhq_debug_flush_end(ctx);
}
EXPORT_SYMBOL_GPL(bhq_ctx_flush);

/**
 * bhq_cpu_ctx() - the per-CPU context of a CPU
 * @cpu: any possible CPU
 *
 * Per-CPU contexts exist from module load to unload, each served by a
 * kthread "bhq/@cpu" bound to @cpu while it is online, so a BH of an
 * online CPU's context runs on that CPU (while @cpu goes down it may run
 * elsewhere, an isolated CPU included: see the top of bhq_ctx.c).  While
 * the CPU is offline the thread serves the context from the housekeeping
 * CPUs; nothing is lost or stuck.
 * Userspace cannot change the threads' affinity.
 *
 * Context: any.
 * Return: the context, or NULL (with a warning) if @cpu is not possible.
 */
struct bhq_ctx *bhq_cpu_ctx(unsigned int cpu)
{
	if (bhq_misuse(cpu >= nr_cpu_ids || !cpu_possible(cpu),
		       "bhq: %s(%u): not a possible CPU\n", __func__, cpu))
		return NULL;
	return per_cpu(bhq_cpu_ctxs, cpu);
}
EXPORT_SYMBOL_GPL(bhq_cpu_ctx);

static int bhq_cpu_online(unsigned int cpu)
{
	struct bhq_ctx *ctx = per_cpu(bhq_cpu_ctxs, cpu);

	return set_cpus_allowed_ptr(ctx->thread, cpumask_of(cpu));
}

/*
 * Where a per-CPU context's thread runs while its CPU is offline: the
 * CPUs that are neither isolated from the scheduler domains (isolcpus=)
 * nor kept free of kernel threads (nohz_full=).  Set at load.
 */
static struct cpumask bhq_housekeeping_mask;

static void bhq_housekeeping_init(void)
{
	if (!cpumask_and(&bhq_housekeeping_mask,
			 housekeeping_cpumask(HK_TYPE_DOMAIN),
			 housekeeping_cpumask(HK_TYPE_KTHREAD)))
		cpumask_copy(&bhq_housekeeping_mask, cpu_possible_mask);
}

static const struct cpumask *bhq_offline_cpumask(void)
{
	return &bhq_housekeeping_mask;
}

static int bhq_cpu_offline(unsigned int cpu)
{
	struct bhq_ctx *ctx = per_cpu(bhq_cpu_ctxs, cpu);

	/* Keep serving it from the other CPUs; see the top of this file. */
	return set_cpus_allowed_ptr(ctx->thread, bhq_offline_cpumask());
}

static int bhq_cpu_ctx_create(unsigned int cpu)
{
	struct task_struct *thread;
	struct bhq_ctx *ctx;
	char name[16];
	int err;

	snprintf(name, sizeof(name), "cpu%u", cpu);
	ctx = bhq_ctx_alloc(name, cpu);
	if (!ctx)
		return -ENOMEM;

	thread = kthread_create_on_node(bhq_thread_fn, ctx, cpu_to_node(cpu),
					"bhq/%u", cpu);
	if (IS_ERR(thread)) {
		err = PTR_ERR(thread);
		goto err_free_ctx;
	}
	bhq_ctx_set_thread(ctx, thread);
	ctx->poll_max_ns = bhq_cpu_poll_max_ns;
	/*
	 * Bound whatever the CPU's state, for PF_NO_SETAFFINITY; an offline
	 * CPU's thread then waits on the housekeeping CPUs for
	 * bhq_cpu_online().
	 */
	kthread_bind(thread, cpu);
	if (!cpu_online(cpu)) {
		err = set_cpus_allowed_ptr(thread, bhq_offline_cpumask());
		if (err)
			goto err_stop_thread;
	}

	err = bhq_ctx_register(ctx);
	if (err)
		goto err_stop_thread;
	per_cpu(bhq_cpu_ctxs, cpu) = ctx;
	wake_up_process(thread);
	return 0;

err_stop_thread:
	kthread_stop(thread);
err_free_ctx:
	bhq_ctx_free(ctx);
	return err;
}

void bhq_cpu_ctxs_exit(void)
{
	unsigned int cpu;

	if (bhq_cpuhp_state > 0)
		cpuhp_remove_state_nocalls(bhq_cpuhp_state);
	bhq_cpuhp_state = 0;

	for_each_possible_cpu(cpu) {
		struct bhq_ctx *ctx = per_cpu(bhq_cpu_ctxs, cpu);

		if (!ctx)
			continue;
		per_cpu(bhq_cpu_ctxs, cpu) = NULL;
		bhq_ctx_teardown(ctx);
	}
}

/*
 * One context and thread per possible CPU.  Under cpus_read_lock() so
 * that no CPU changes state between binding the threads and installing
 * the hotplug callbacks.
 */
int bhq_cpu_ctxs_init(void)
{
	unsigned int cpu;
	int ret = 0;

	bhq_housekeeping_init();
	cpus_read_lock();
	for_each_possible_cpu(cpu) {
		ret = bhq_cpu_ctx_create(cpu);
		if (ret)
			goto err_unlock;
	}
	ret = cpuhp_setup_state_nocalls_cpuslocked(CPUHP_AP_ONLINE_DYN,
						   "bhq:online",
						   bhq_cpu_online,
						   bhq_cpu_offline);
	if (ret < 0)
		goto err_unlock;
	bhq_cpuhp_state = ret;
	cpus_read_unlock();
	return 0;

err_unlock:
	cpus_read_unlock();
	bhq_cpu_ctxs_exit();
	return ret;
}
