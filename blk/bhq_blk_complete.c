// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_blk completions: how a request that queue_rq has done gets ended.
 *
 * The deferred paths (bhq, wq, kworker) complete like QEMU completes a
 * virtqueue's requests: queue_rq puts the request on the submitting CPU's
 * lock-free list and kicks that CPU's drainer, which takes the whole list
 * and ends every request on it.  A kick of a drainer that is already
 * pending coalesces, so one run ends many requests.  The three paths share
 * the list and the drain and differ only in what runs the drain:
 *
 *  - bhq: a BH on bhq_cpu_ctx(cpu), run by bhq's per-CPU thread;
 *  - wq: a work item queued with queue_work_on(cpu) on our bound workqueue;
 *  - kworker: a kthread_work on a kthread_worker created on the CPU.
 *
 * No lost wakeup: each mechanism makes its drainer "not pending" before it
 * runs it, with a full barrier: bhq clears PENDING with a fully ordered
 * fetch_andnot before the callback (bhq_bh_dispatch()), workqueue clears
 * WORK_STRUCT_PENDING followed by smp_mb() before the function
 * (set_work_pool_and_clear_pending()), and kthread_worker takes the work
 * off its list under worker->lock before running it.  So a kick either
 * finds the drainer pending, and its coming llist_del_all() sees our add,
 * or queues it to run again.
 *
 * CPU hotplug: bhq_blk_defer() picks the list and the drainer of the CPU
 * it runs on, with preemption off, so that CPU is online and stays so
 * until the kick is done (taking a CPU down needs stop_machine).  Requests
 * still listed when a CPU goes down are drained all the same: bhq's
 * context of an offline CPU runs on the other CPUs; workqueue makes the
 * offline CPU's pools unbound (unbind_workers()) and their workers run
 * what is queued; a kthread_worker's thread bound to the CPU is moved off
 * it by the scheduler (select_fallback_rq()), which widens its affinity,
 * so we bind it back when the CPU comes online again (bhq_blk_cpu_online).
 */

#include <linux/blk-mq.h>
#include <linux/bug.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/cpumask.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/llist.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/workqueue.h>

#include <linux/bhq.h>
#include "bhq_blk.h"

/* completion=kworker: the device whose workers the hotplug callback binds. */
static struct bhq_blk_dev *bhq_blk_hotplug_dev;
static enum cpuhp_state bhq_blk_cpuhp_state;

/*
 * Claim @rq for its completion: true for the first completion since
 * queue_rq, false (counted, warned once) for any other.
 */
static bool bhq_blk_claim(struct bhq_blk_dev *dev, struct request *rq)
{
	struct bhq_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	/*
	 * Fully ordered; pairs with the atomic_set() in queue_rq, which the
	 * llist_add() or blk_mq_complete_request() publishing the request
	 * orders before us.
	 */
	if (likely(atomic_xchg(&cmd->state, BHQ_BLK_CMD_IDLE) ==
		   BHQ_BLK_CMD_INFLIGHT))
		return true;
	atomic_inc(&dev->double_completions);
	WARN_ONCE(1, "bhq_blk: request tag %d completed twice\n", rq->tag);
	return false;
}

/**
 * bhq_blk_end() - end a request once
 * @dev: the device
 * @rq: the request, done by queue_rq
 *
 * A second completion of a request (a bug in a completion path) is
 * counted and warned about once, and does not end the request again.  It
 * is caught only while the request is not reused: once ended, its tag
 * may be handed to a new request at once.
 *
 * Context: any (queue_rq, softirq, a drainer's thread).
 */
void bhq_blk_end(struct bhq_blk_dev *dev, struct request *rq)
{
	struct bhq_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	if (!bhq_blk_claim(dev, rq))
		return;
	/*
	 * Test hook (debugfs inject_double_completions): complete again
	 * while the request is still ours, so that the check above must
	 * catch it.  One read of a line that is written only by the test.
	 */
	if (unlikely(atomic_read(&dev->inject_double)) &&
	    atomic_add_unless(&dev->inject_double, -1, 0))
		WARN_ON_ONCE(bhq_blk_claim(dev, rq));
	/* Counted first: once ended, a waiting reader may look. */
	this_cpu_inc(dev->counters->completed);
	blk_mq_end_request(rq, cmd->status);
}

/* Take the whole list of @bc and end its requests in submission order. */
static void bhq_blk_drain(struct bhq_blk_cpu *bc)
{
	struct bhq_blk_dev *dev = bc->dev;
	struct bhq_blk_cmd *cmd, *next;
	struct llist_node *list;
	int n = 0, max;

	/* Fully ordered (xchg); pairs with the llist_add() in bhq_blk_defer(). */
	list = llist_del_all(&bc->done);
	if (!list) {
		/* An earlier run took what this kick was for. */
		this_cpu_inc(dev->counters->empty_drains);
		return;
	}
	/* _safe: once ended, a request may be reused, its node rewritten. */
	llist_for_each_entry_safe(cmd, next, llist_reverse_order(list), node) {
		bhq_blk_end(dev, blk_mq_rq_from_pdu(cmd));
		n++;
	}
	this_cpu_inc(dev->counters->batches);
	max = atomic_read(&dev->max_batch);
	while (n > max && !atomic_try_cmpxchg(&dev->max_batch, &max, n))
		;
}

static void bhq_blk_bh_fn(void *opaque)
{
	bhq_blk_drain(opaque);
}

static void bhq_blk_work_fn(struct work_struct *work)
{
	bhq_blk_drain(container_of(work, struct bhq_blk_cpu, work));
}

static void bhq_blk_kwork_fn(struct kthread_work *kwork)
{
	bhq_blk_drain(container_of(kwork, struct bhq_blk_cpu, kwork));
}

/**
 * bhq_blk_defer() - have a done request ended by the current CPU's drainer
 * @dev: the device, with a deferred completion path
 * @rq: the request, done by queue_rq
 *
 * Context: queue_rq (process context).
 */
void bhq_blk_defer(struct bhq_blk_dev *dev, struct request *rq)
{
	struct bhq_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct bhq_blk_cpu *bc;

	/* Preemption off: see "CPU hotplug" at the top of this file. */
	bc = get_cpu_ptr(dev->cpus);
	/* Fully ordered (cmpxchg); pairs with the llist_del_all() of the drain. */
	llist_add(&cmd->node, &bc->done);
	switch (dev->completion) {
	case BHQ_BLK_COMPLETE_BHQ:
		bhq_bh_schedule(bc->bh);
		break;
	case BHQ_BLK_COMPLETE_WQ:
		queue_work_on(bc->cpu, dev->wq, &bc->work);
		break;
	case BHQ_BLK_COMPLETE_KWORKER:
		kthread_queue_work(bc->worker, &bc->kwork);
		break;
	default:
		WARN_ON_ONCE(1);
		break;
	}
	put_cpu_ptr(dev->cpus);
}

/* completion=kworker: bind a CPU's worker to it again, see the top. */
static int bhq_blk_cpu_online(unsigned int cpu)
{
	struct bhq_blk_cpu *bc = per_cpu_ptr(bhq_blk_hotplug_dev->cpus, cpu);

	return set_cpus_allowed_ptr(bc->worker->task, cpumask_of(cpu));
}

static int bhq_blk_drainer_create(struct bhq_blk_dev *dev, unsigned int cpu)
{
	struct bhq_blk_cpu *bc = per_cpu_ptr(dev->cpus, cpu);
	struct kthread_worker *worker;

	init_llist_head(&bc->done);
	bc->dev = dev;
	bc->cpu = cpu;
	switch (dev->completion) {
	case BHQ_BLK_COMPLETE_BHQ:
		bc->bh = bhq_bh_new(bhq_cpu_ctx(cpu), bhq_blk_bh_fn, bc);
		return bc->bh ? 0 : -ENOMEM;
	case BHQ_BLK_COMPLETE_WQ:
		INIT_WORK(&bc->work, bhq_blk_work_fn);
		return 0;
	case BHQ_BLK_COMPLETE_KWORKER:
		kthread_init_work(&bc->kwork, bhq_blk_kwork_fn);
		worker = kthread_create_worker_on_cpu(cpu, 0, "bhq_blk/%u", cpu);
		if (IS_ERR(worker))
			return PTR_ERR(worker);
		bc->worker = worker;
		return 0;
	default:
		return 0;
	}
}

/**
 * bhq_blk_drainers_init() - the per-CPU lists and drainers of a device
 * @dev: the device, with @completion set and @cpus allocated (zeroed)
 *
 * Context: process context, may sleep.
 * Return: 0 or a negative errno; on error nothing is left to undo but
 * bhq_blk_drainers_exit().
 */
int bhq_blk_drainers_init(struct bhq_blk_dev *dev)
{
	unsigned int cpu;
	int ret;

	if (dev->completion == BHQ_BLK_COMPLETE_WQ) {
		/*
		 * Bound (per CPU): the drain runs on the CPU that submitted,
		 * like bhq's per-CPU threads.  Not WQ_HIGHPRI: bhq's threads
		 * and the kthread_workers run at nice 0 too, so the paths
		 * differ in their mechanism only.  WQ_MEM_RECLAIM: writeback
		 * under memory pressure waits for these completions, so they
		 * need the rescuer's guarantee of progress.
		 */
		dev->wq = alloc_workqueue("bhq_blk", WQ_MEM_RECLAIM, 0);
		if (!dev->wq)
			return -ENOMEM;
	}

	/* No CPU comes up between creating its worker and the callback. */
	cpus_read_lock();
	for_each_possible_cpu(cpu) {
		ret = bhq_blk_drainer_create(dev, cpu);
		if (ret)
			goto out_unlock;
	}
	if (dev->completion == BHQ_BLK_COMPLETE_KWORKER) {
		bhq_blk_hotplug_dev = dev;
		ret = cpuhp_setup_state_nocalls_cpuslocked(CPUHP_AP_ONLINE_DYN,
							   "bhq_blk:online",
							   bhq_blk_cpu_online,
							   NULL);
		if (ret < 0)
			goto out_unlock;
		bhq_blk_cpuhp_state = ret;
	}
	ret = 0;
out_unlock:
	cpus_read_unlock();
	return ret;
}

/**
 * bhq_blk_drainers_exit() - stop and free the drainers of a device
 * @dev: the device, whose disk is deleted: no request is left, but a
 *	drainer may still be returning from the last one it ended
 *
 * Context: process context, may sleep.
 */
void bhq_blk_drainers_exit(struct bhq_blk_dev *dev)
{
	unsigned int cpu;

	if (bhq_blk_cpuhp_state > 0)
		cpuhp_remove_state_nocalls(bhq_blk_cpuhp_state);
	bhq_blk_cpuhp_state = 0;
	bhq_blk_hotplug_dev = NULL;

	for_each_possible_cpu(cpu) {
		struct bhq_blk_cpu *bc = per_cpu_ptr(dev->cpus, cpu);

		WARN_ON_ONCE(!llist_empty(&bc->done));
		if (bc->bh) {
			bhq_bh_delete(bc->bh);
			/* The callback may still run: wait until it is done. */
			bhq_ctx_flush(bhq_cpu_ctx(cpu));
			bc->bh = NULL;
		}
		if (bc->worker) {
			/* Flushes the worker's work first. */
			kthread_destroy_worker(bc->worker);
			bc->worker = NULL;
		}
	}
	if (dev->wq) {
		/* Drains the work items, which may still be returning. */
		destroy_workqueue(dev->wq);
		dev->wq = NULL;
	}
}
