/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The parameters of bhq_torture.ko: the one place that gives their
 * defaults and ranges.  Each user defines
 *
 *	BHQT_PARAM(name, default, min, max, description)
 *	BHQT_BOOL_PARAM(name, default, description)
 *
 * and includes this file, which undefines them again: bhq_torture.h
 * declares the variables (bhqt_<name>), bhq_torture_main.c defines them as
 * module parameters whose descriptions end in "(min..max, default d)",
 * which scripts/guest-torture.sh reads back with modinfo, and refuses to
 * load with a value out of its range.  Documentation/torture.rst explains
 * them.
 */

/* The greatest weight of an operation (see enum bhqt_mix). */
#define BHQT_WEIGHT_MAX		1000

BHQT_PARAM(seconds, 0, 0, 86400,
	   "run time in seconds, 0: until rmmod");
BHQT_PARAM(nr_threaded, 2, 0, 16,
	   "standalone threaded contexts");
BHQT_PARAM(nr_manual, 2, 0, 16,
	   "manual contexts, each polled by a kthread");
BHQT_PARAM(nr_bhs, 4, 1, 64,
	   "free and ordered BHs per producer and context");
BHQT_BOOL_PARAM(irq_producers, Y,
		"hardirq producers, an hrtimer per CPU");
BHQT_BOOL_PARAM(softirq_producers, Y,
		"softirq producers, an hrtimer per CPU");
BHQT_PARAM(irq_period_us, 500, 20, 100000,
	   "period of the hardirq and softirq producers");
BHQT_PARAM(irq_ops, 4, 1, 64,
	   "operations per hardirq or softirq producer call");
BHQT_PARAM(batch, 64, 1, 4096,
	   "operations per kthread producer batch");
BHQT_PARAM(batch_sleep_us, 200, 0, 100000,
	   "sleep between kthread producer batches, 0: none");
BHQT_PARAM(max_nest, 3, 1, 8,
	   "deepest bhq_poll() nesting on manual contexts");
BHQT_PARAM(latency_ms, 1000, 10, 600000,
	   "bound for the probe BHs on a quiet threaded context");
BHQT_PARAM(stall_ms, 10000, 100, 3600000,
	   "bound for any scheduled BH under load and for flushes");
BHQT_PARAM(onoff_interval_ms, 0, 0, 60000,
	   "CPU hotplug: take CPUs offline and back about this often, 0: off");
BHQT_PARAM(poll_max_ns, 32768, 0, BHQ_POLL_MAX_NS_LIMIT,
	   "polling window of the even threaded contexts and odd CPUs' contexts, 0: off");

/* The lifetime modes. */
BHQT_PARAM(destroy_threads, 2, 0, 8,
	   "destroy mode: kthreads scheduling on each short-lived context, 0: off");
BHQT_PARAM(selfdel_threads, 2, 0, 8,
	   "selfdel mode: kthreads scheduling self-deleting BHs, 0: off");
BHQT_PARAM(manual_helpers, 2, 0, 8,
	   "manual mode: kthreads flushing, cancelling and destroying a polled manual context, 0: off");
BHQT_PARAM(lifetime_delay_us, 50000, 0, 100000,
	   "longest bhq.debug_publish_delay_us the destroy and selfdel modes set, if bhq has it; 0: none");

/*
 * The weights of the operations: each draw from a mix picks an operation
 * with the probability of its weight among the weights of its mix, which
 * must not all be 0 (bhqt_weights[] in bhq_torture_load.c).
 */
BHQT_PARAM(weight_free, 50, 0, BHQT_WEIGHT_MAX,
	   "producers: weight of operations on free BHs");
BHQT_PARAM(weight_ordered, 42, 0, BHQT_WEIGHT_MAX,
	   "producers: weight of operations on ordered BHs");
BHQT_PARAM(weight_oneshot, 8, 0, BHQT_WEIGHT_MAX,
	   "producers: weight of oneshots");
BHQT_PARAM(weight_schedule, 45, 0, BHQT_WEIGHT_MAX,
	   "free BHs: weight of bhq_bh_schedule()");
BHQT_PARAM(weight_schedule_idle, 25, 0, BHQT_WEIGHT_MAX,
	   "free BHs: weight of bhq_bh_schedule_idle()");
BHQT_PARAM(weight_cancel, 27, 0, BHQT_WEIGHT_MAX,
	   "free BHs: weight of bhq_bh_cancel()");
BHQT_PARAM(weight_delete, 3, 0, BHQT_WEIGHT_MAX,
	   "free BHs: weight of bhq_bh_delete() (the BH is created again)");
BHQT_PARAM(weight_ordered_schedule, 55, 0, BHQT_WEIGHT_MAX,
	   "ordered BHs: weight of bhq_bh_schedule(), made if not armed");
BHQT_PARAM(weight_ordered_schedule_idle, 8, 0, BHQT_WEIGHT_MAX,
	   "ordered BHs: weight of bhq_bh_schedule_idle(), made if not armed");
BHQT_PARAM(weight_ordered_delete, 1, 0, BHQT_WEIGHT_MAX,
	   "ordered BHs: weight of bhq_bh_delete(), armed or not");
BHQT_PARAM(weight_self_none, 55, 0, BHQT_WEIGHT_MAX,
	   "callbacks of free BHs: weight of leaving their BH alone");
BHQT_PARAM(weight_self_schedule, 4, 0, BHQT_WEIGHT_MAX,
	   "callbacks of free BHs: weight of scheduling their own BH");
BHQT_PARAM(weight_self_schedule_idle, 4, 0, BHQT_WEIGHT_MAX,
	   "callbacks of free BHs: weight of scheduling their own BH idle");
BHQT_PARAM(weight_self_delete, 1, 0, BHQT_WEIGHT_MAX,
	   "callbacks of free BHs: weight of deleting their own BH");

#undef BHQT_PARAM
#undef BHQT_BOOL_PARAM
