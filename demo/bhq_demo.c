// SPDX-License-Identifier: GPL-2.0
/*
 * bhq_demo - a small load through bhq's per-CPU contexts, for `make run`.
 *
 * For every online CPU and every round it parks the CPU's bhq thread in a
 * gate BH, schedules nr_bhs BHs (every other one idle), cancels every 8th,
 * schedules every 16th again (it keeps its place), schedules a oneshot
 * from atomic context, opens the gate and flushes.  Each callback checks
 * that it runs on its context's CPU.  A manual context shows nested polls.
 * Loading fails with -EIO if any BH ran a wrong number of times, on a
 * wrong CPU, or out of order.  Unloading deletes every BH.
 */

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/err.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/smp.h>

#include <linux/bhq.h>

static unsigned int nr_bhs = 64;
module_param(nr_bhs, uint, 0444);
MODULE_PARM_DESC(nr_bhs, "BHs per CPU (1-4096, default 64)");

static unsigned int rounds = 100;
module_param(rounds, uint, 0444);
MODULE_PARM_DESC(rounds, "rounds of scheduling (1-100000, default 100)");

struct bhq_demo_bh {
	struct bhq_bh *bh;
	unsigned int cpu;
	unsigned int index;
	unsigned int runs;
};

struct bhq_demo_cpu {
	struct bhq_demo_bh *bhs;
	struct completion gate_entered;
	struct completion gate_open;
	unsigned int next_index;	/* FIFO check: the next index to run */
	atomic_t oneshots;
};

static struct bhq_demo_cpu __percpu *demo_cpus;
static struct bhq_ctx *demo_manual;
static atomic_t demo_wrong_cpu = ATOMIC_INIT(0);
static atomic_t demo_out_of_order = ATOMIC_INIT(0);

/* Cancelled in every round and not scheduled again. */
static bool demo_stays_cancelled(unsigned int i)
{
	return i % 8 == 0 && i % 16 != 0;
}

static void demo_check_cpu(unsigned int cpu)
{
	if (raw_smp_processor_id() != cpu)
		atomic_inc(&demo_wrong_cpu);
}

static void demo_bh_fn(void *opaque)
{
	struct bhq_demo_bh *d = opaque;
	struct bhq_demo_cpu *dc = per_cpu_ptr(demo_cpus, d->cpu);

	demo_check_cpu(d->cpu);
	/* Runs in the order of the first schedule; skipped ones leave gaps. */
	if (d->index < dc->next_index)
		atomic_inc(&demo_out_of_order);
	dc->next_index = d->index + 1;
	d->runs++;
}

static void demo_gate_fn(void *opaque)
{
	struct bhq_demo_cpu *dc = opaque;

	complete(&dc->gate_entered);
	wait_for_completion(&dc->gate_open);
}

static DEFINE_SPINLOCK(demo_atomic_lock);

static void demo_oneshot_fn(void *opaque)
{
	atomic_inc(opaque);
}

static int demo_round(unsigned int cpu)
{
	struct bhq_demo_cpu *dc = per_cpu_ptr(demo_cpus, cpu);
	struct bhq_ctx *ctx = bhq_cpu_ctx(cpu);
	unsigned long irqflags;
	unsigned int i;
	int err;

	init_completion(&dc->gate_entered);
	init_completion(&dc->gate_open);
	err = bhq_schedule_oneshot(ctx, demo_gate_fn, dc, GFP_KERNEL);
	if (err)
		return err;
	wait_for_completion(&dc->gate_entered);

	dc->next_index = 0;
	for (i = 0; i < nr_bhs; i++) {
		if (i % 2)
			bhq_bh_schedule_idle(dc->bhs[i].bh);
		else
			bhq_bh_schedule(dc->bhs[i].bh);
	}
	for (i = 0; i < nr_bhs; i += 8)
		bhq_bh_cancel(dc->bhs[i].bh);
	for (i = 0; i < nr_bhs; i += 16)
		bhq_bh_schedule(dc->bhs[i].bh);

	/*
	 * A oneshot from atomic context.  Under a spinlock, not
	 * local_irq_save(): on PREEMPT_RT the allocator may not run with
	 * interrupts off, whatever the gfp, and a spinlock_t sleeps there.
	 */
	spin_lock_irqsave(&demo_atomic_lock, irqflags);
	err = bhq_schedule_oneshot(ctx, demo_oneshot_fn, &dc->oneshots,
				   GFP_ATOMIC);
	spin_unlock_irqrestore(&demo_atomic_lock, irqflags);

	complete(&dc->gate_open);
	bhq_ctx_flush(ctx);
	return err;
}

static int demo_alloc_cpu(unsigned int cpu)
{
	struct bhq_demo_cpu *dc = per_cpu_ptr(demo_cpus, cpu);
	unsigned int i;

	dc->bhs = kcalloc(nr_bhs, sizeof(*dc->bhs), GFP_KERNEL);
	if (!dc->bhs)
		return -ENOMEM;
	for (i = 0; i < nr_bhs; i++) {
		struct bhq_demo_bh *d = &dc->bhs[i];

		d->cpu = cpu;
		d->index = i;
		d->bh = bhq_bh_new(bhq_cpu_ctx(cpu), demo_bh_fn, d);
		if (!d->bh)
			return -ENOMEM;
	}
	return 0;
}

static void demo_free_cpus(void)
{
	unsigned int cpu, i;

	for_each_possible_cpu(cpu) {
		struct bhq_demo_cpu *dc = per_cpu_ptr(demo_cpus, cpu);

		if (!dc->bhs)
			continue;
		for (i = 0; i < nr_bhs; i++)
			bhq_bh_delete(dc->bhs[i].bh);
		/* The deletes are done by the context's next poll. */
		bhq_ctx_flush(bhq_cpu_ctx(cpu));
		kfree(dc->bhs);
		dc->bhs = NULL;
	}
	free_percpu(demo_cpus);
}

/* Count the BHs of one CPU that ran a number of times other than expected. */
static unsigned int demo_check_runs(unsigned int cpu)
{
	struct bhq_demo_cpu *dc = per_cpu_ptr(demo_cpus, cpu);
	unsigned int i, wrong = 0;

	for (i = 0; i < nr_bhs; i++) {
		unsigned int want = demo_stays_cancelled(i) ? 0 : rounds;

		if (dc->bhs[i].runs != want)
			wrong++;
	}
	if (atomic_read(&dc->oneshots) != rounds)
		wrong++;
	return wrong;
}

/* Nesting on a manual context: A schedules B and polls, B likewise C. */
struct demo_nest {
	struct bhq_bh *bh[3];
	char order[8];
	unsigned int len;
};

static struct demo_nest demo_nest;

static void demo_nest_fn(void *opaque)
{
	unsigned int level = (uintptr_t)opaque;

	demo_nest.order[demo_nest.len++] = 'A' + level;
	if (level + 1 < ARRAY_SIZE(demo_nest.bh)) {
		bhq_bh_schedule(demo_nest.bh[level + 1]);
		bhq_poll(demo_manual);
	}
}

static int demo_nesting(void)
{
	unsigned int i;

	demo_manual = bhq_ctx_create("demo", BHQ_CTX_MANUAL);
	if (IS_ERR(demo_manual))
		return PTR_ERR(demo_manual);
	for (i = 0; i < ARRAY_SIZE(demo_nest.bh); i++) {
		demo_nest.bh[i] = bhq_bh_new(demo_manual, demo_nest_fn,
					     (void *)(uintptr_t)i);
		if (!demo_nest.bh[i])
			return -ENOMEM;
	}
	bhq_bh_schedule(demo_nest.bh[0]);
	bhq_poll(demo_manual);
	pr_info("bhq_demo: nested polls ran %s\n", demo_nest.order);
	return strcmp(demo_nest.order, "ABC") ? -EIO : 0;
}

static void demo_nesting_free(void)
{
	unsigned int i;

	if (IS_ERR_OR_NULL(demo_manual))
		return;
	for (i = 0; i < ARRAY_SIZE(demo_nest.bh); i++)
		bhq_bh_delete(demo_nest.bh[i]);
	bhq_ctx_destroy(demo_manual);
}

static int demo_run(void)
{
	unsigned int cpu, r, wrong = 0, cpus = 0;
	int err;

	for_each_online_cpu(cpu) {
		err = demo_alloc_cpu(cpu);
		if (err)
			return err;
	}
	for (r = 0; r < rounds; r++) {
		for_each_online_cpu(cpu) {
			err = demo_round(cpu);
			if (err)
				return err;
		}
	}
	for_each_online_cpu(cpu) {
		wrong += demo_check_runs(cpu);
		cpus++;
	}
	pr_info("bhq_demo: %u CPUs x %u BHs x %u rounds: %u wrong run counts, %d on a wrong CPU, %d out of order\n",
		cpus, nr_bhs, rounds, wrong, atomic_read(&demo_wrong_cpu),
		atomic_read(&demo_out_of_order));
	if (wrong || atomic_read(&demo_wrong_cpu) ||
	    atomic_read(&demo_out_of_order))
		return -EIO;
	return demo_nesting();
}

static int __init bhq_demo_init(void)
{
	int err;

	if (!nr_bhs || nr_bhs > 4096) {
		pr_err("bhq_demo: nr_bhs=%u out of range 1-4096\n", nr_bhs);
		return -EINVAL;
	}
	if (!rounds || rounds > 100000) {
		pr_err("bhq_demo: rounds=%u out of range 1-100000\n", rounds);
		return -EINVAL;
	}
	demo_cpus = alloc_percpu(struct bhq_demo_cpu);
	if (!demo_cpus)
		return -ENOMEM;

	/* CPUs stay put while the load runs on them. */
	cpus_read_lock();
	err = demo_run();
	cpus_read_unlock();
	if (err) {
		pr_err("bhq_demo: FAILED (%d)\n", err);
		demo_nesting_free();
		demo_free_cpus();
		return err;
	}
	pr_info("bhq_demo: ok\n");
	return 0;
}

static void __exit bhq_demo_exit(void)
{
	demo_nesting_free();
	demo_free_cpus();
}

module_init(bhq_demo_init);
module_exit(bhq_demo_exit);

MODULE_DESCRIPTION("bhq demo load through the per-CPU contexts");
MODULE_LICENSE("GPL");
