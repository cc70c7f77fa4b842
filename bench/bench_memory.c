// SPDX-License-Identifier: GPL-2.0
/*
 * Memory: the size of a deferred call of each mechanism, and what one
 * context costs.  bhq_internal.h is included for sizeof() only.
 *
 * QEMU's QEMUBH is 56 bytes on x86-64 (ctx, name, cb, opaque, next,
 * flags, reentrancy_guard); the model of bench_models.c has the same
 * layout and its size is printed next to the constant.
 */

#include <linux/interrupt.h>
#include <linux/irq_work.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/thread_info.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "../kmod/bhq_internal.h"
#include "bhq_bench.h"

#define QEMU_QEMUBH_SIZE	56

static void mem_row(const char *bench, const char *mech, const char *param, size_t bytes)
{
	struct bench_fig fig = { bytes * 1000, bytes * 1000, bytes * 1000 };

	bench_emit(bench, mech, param, "size", &fig, "bytes");
}

/* A context's own allocations, its kthread's stack and task_struct. */
static void mem_ctx(const char *mech, size_t ctx_size, size_t percpu)
{
	size_t alloc = kmalloc_size_roundup(ctx_size);
	size_t total = alloc + percpu + THREAD_SIZE + sizeof(struct task_struct);

	mem_row("ctx_memory", mech, "struct", ctx_size);
	mem_row("ctx_memory", mech, "kmalloc", alloc);
	mem_row("ctx_memory", mech, "percpu", percpu);
	mem_row("ctx_memory", mech, "stack", THREAD_SIZE);
	mem_row("ctx_memory", mech, "task_struct", sizeof(struct task_struct));
	mem_row("ctx_memory", mech, "total", total);
}

/**
 * bench_memory() - print the sizes
 *
 * ctx_memory counts, for a bhq context and a kthread_worker: the struct,
 * its kmalloc() bucket, per-CPU memory, the kthread's stack and its
 * task_struct (without the FPU state that follows it on x86).  bhq also
 * has a debugfs directory per context and an xarray slot per BH made by
 * bhq_bh_new() (the "xarray_slot" row, amortized over a full node).
 */
void bench_memory(void)
{
	mem_row("memory", "bhq_bh", "sizeof", sizeof(struct bhq_bh));
	mem_row("memory", "work_struct", "sizeof", sizeof(struct work_struct));
	mem_row("memory", "kthread_work", "sizeof", sizeof(struct kthread_work));
	mem_row("memory", "irq_work", "sizeof", sizeof(struct irq_work));
	mem_row("memory", "tasklet_struct", "sizeof", sizeof(struct tasklet_struct));
	mem_row("memory", "QEMUBH", "qemu_x86_64", QEMU_QEMUBH_SIZE);
	mem_row("memory", "QEMUBH", "model_sizeof", qm_bh_size());
	mem_row("memory", "bhq_bh", "xarray_slot", sizeof(struct xa_node) / XA_CHUNK_SIZE);

	mem_ctx("bhq", sizeof(struct bhq_ctx),
		sizeof(struct bhq_stats) * num_possible_cpus());
	mem_ctx("kthread_worker", sizeof(struct kthread_worker), 0);
}
