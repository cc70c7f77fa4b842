// SPDX-License-Identifier: GPL-2.0
/*
 * bhq debug knobs (CONFIG_BHQ_DEBUG): hooks that widen race windows so
 * that tests can hit them, compiled out of normal builds.
 *
 *	bhq.debug_publish_delay_us	delay each schedule right after it
 *					published its BH (0 to 100000 us)
 *	bhq.debug_bh_cache		rcu or typesafe: which cache BHs
 *					come from (bhq_queue.c, "Lifetimes")
 *
 * and, for the KUnit suites, a count of bhq_kick()'s wake_up_process()
 * calls, and a hold: the next schedule to publish a BH
 * spins right after the publish until the test lets it go, or runs a
 * function of the test there (which works on one CPU too), so that a test
 * knows, rather than hopes, that a schedule is still returning; and a
 * spin hold: polling threads poll past the end of their window until the
 * test lets them go, so that a test knows the thread polls when it
 * schedules.
 */

#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/export.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>

#include "bhq_internal.h"

#define BHQ_DEBUG_DELAY_MAX_US	100000

static unsigned int bhq_debug_publish_delay_us;

static int bhq_debug_delay_set(const char *val, const struct kernel_param *kp)
{
	unsigned int usecs;
	int err;

	err = kstrtouint(val, 0, &usecs);
	if (err)
		return err;
	if (usecs > BHQ_DEBUG_DELAY_MAX_US) {
		pr_err("bhq: debug_publish_delay_us=%u: at most %u\n", usecs,
		       BHQ_DEBUG_DELAY_MAX_US);
		return -EINVAL;
	}
	WRITE_ONCE(bhq_debug_publish_delay_us, usecs);
	return 0;
}

static const struct kernel_param_ops bhq_debug_delay_ops = {
	.set = bhq_debug_delay_set,
	.get = param_get_uint,
};

module_param_cb(debug_publish_delay_us, &bhq_debug_delay_ops,
		&bhq_debug_publish_delay_us, 0644);
MODULE_PARM_DESC(debug_publish_delay_us,
		 "CONFIG_BHQ_DEBUG: delay every schedule this long after it published its BH (0-100000)");

/*
 * A gate: the next caller to pass it (a schedule right after its publish,
 * or a poll at its entry) stops there until the test opens it, at most
 * BHQ_DEBUG_HOLD_MAX_NS, so that a failed test cannot hang a CPU.
 * @holds: callers still to be held; @held: callers held now.
 */
struct bhq_debug_gate {
	atomic_t holds;
	atomic_t held;
	bool open;
	void (*fn)(void *arg);
	void *arg;
};

static struct bhq_debug_gate bhq_debug_publish_gate = {
	.holds = ATOMIC_INIT(0), .held = ATOMIC_INIT(0),
};

static struct bhq_debug_gate bhq_debug_poll_gate = {
	.holds = ATOMIC_INIT(0), .held = ATOMIC_INIT(0),
};

#define BHQ_DEBUG_HOLD_MAX_NS	(10 * NSEC_PER_SEC)

/*
 * A busy wait: a schedule may come from hardirq, a poll holds RCU.  Or,
 * if the test gave one, call its @fn instead (bhq_debug_call_at_next_publish()):
 * the hold was taken by a fully ordered dec, so it sees @fn.
 */
static void bhq_debug_gate_pass(struct bhq_debug_gate *gate)
{
	void (*fn)(void *arg);
	u64 end;

	if (likely(!atomic_read(&gate->holds)) ||
	    atomic_dec_if_positive(&gate->holds) < 0)
		return;
	end = ktime_get_ns() + BHQ_DEBUG_HOLD_MAX_NS;
	atomic_inc(&gate->held);
	fn = READ_ONCE(gate->fn);
	if (fn) {
		WRITE_ONCE(gate->fn, NULL);
		fn(READ_ONCE(gate->arg));
	} else {
		while (!READ_ONCE(gate->open) && ktime_get_ns() < end)
			cpu_relax();
	}
	atomic_dec(&gate->held);
}

/*
 * Called by every schedule between publishing its BH and its last access
 * to the BH or the context.
 */
void bhq_debug_after_publish(void)
{
	unsigned int usecs = READ_ONCE(bhq_debug_publish_delay_us);

	bhq_debug_gate_pass(&bhq_debug_publish_gate);
	if (likely(!usecs))
		return;
	mdelay(usecs / USEC_PER_MSEC);
	udelay(usecs % USEC_PER_MSEC);
}

/*
 * Called at the top of every poll, before it reads the context: a test may
 * hold it there (the window of a task that has called bhq_poll() but not
 * yet taken the role), then it checks that the context is alive.  Both in
 * one read-side section: a context is freed a grace period after its
 * destroy returned (bhq_ctx_free()), so a poll that starts within one
 * reads it poisoned as dead, and reports, rather than freed.  True if the
 * poll must not go on.
 */
bool bhq_debug_poll_entry(struct bhq_ctx *ctx)
{
	bool dying;

	rcu_read_lock_sched();
	bhq_debug_gate_pass(&bhq_debug_poll_gate);
	dying = bhq_debug_ctx_dying(ctx, "poll");
	rcu_read_unlock_sched();
	return dying;
}

/*
 * Misuse checks of a context's teardown (include/linux/bhq.h, note (4)):
 * once destroy started, only the context's own callbacks may schedule or
 * poll it (the drain runs them), and nobody may flush it; once destroy
 * returned, nobody may call anything on it.  Destroy leaves the context
 * poisoned as dead until its grace period ends, so that a call within
 * it is reported; KASAN sees a later one as a use after free.
 */
bool bhq_debug_ctx_dying(struct bhq_ctx *ctx, const char *call)
{
	int state = READ_ONCE(ctx->debug_state);

	if (likely(state == BHQ_DEBUG_CTX_LIVE) ||
	    (state == BHQ_DEBUG_CTX_DRAINING && bhq_in_own_callback(ctx)))
		return false;
	return bhq_misuse(true, "bhq: %s of context %s by %s/%d after its destroy %s\n",
			  call, ctx->name, current->comm, task_pid_nr(current),
			  state == BHQ_DEBUG_CTX_DEAD ? "returned" : "started");
}

void bhq_debug_flush_begin(struct bhq_ctx *ctx)
{
	atomic_inc(&ctx->debug_flushes);
}

void bhq_debug_flush_end(struct bhq_ctx *ctx)
{
	atomic_dec(&ctx->debug_flushes);
}

void bhq_debug_destroy_begin(struct bhq_ctx *ctx)
{
	bhq_misuse(atomic_read(&ctx->debug_flushes),
		   "bhq: context %s destroyed by %s/%d while a flush or sync cancel is under way\n",
		   ctx->name, current->comm, task_pid_nr(current));
	WRITE_ONCE(ctx->debug_state, BHQ_DEBUG_CTX_DRAINING);
}

void bhq_debug_destroy_end(struct bhq_ctx *ctx)
{
	WRITE_ONCE(ctx->debug_state, BHQ_DEBUG_CTX_DEAD);
}

/*
 * The owner of a manual context got the role after waiting through
 * @borrows borrowed polls: the bound of "Ownership" in bhq_poll.c, which
 * KUnit checks.
 */
void bhq_debug_owner_waited(struct bhq_ctx *ctx, unsigned int borrows)
{
	if (borrows > ctx->debug_max_borrows)
		WRITE_ONCE(ctx->debug_max_borrows, borrows);
}

/*
 * Polling threads ignore the end of their window, and their window does
 * not adapt, while this is set; a hold that ran out of time says so.
 */
static bool bhq_debug_spin_hold;
static bool bhq_debug_spin_expired;
/* wake_up_process() calls of bhq_kick(), woken or not. */
static atomic_long_t bhq_debug_kicks = ATOMIC_LONG_INIT(0);

/* Called by a polling thread at the end of its window: poll on? */
bool bhq_debug_spin_on(u64 spin_start)
{
	if (!READ_ONCE(bhq_debug_spin_hold))
		return false;
	if (ktime_get_ns() - spin_start < BHQ_DEBUG_HOLD_MAX_NS)
		return true;
	WRITE_ONCE(bhq_debug_spin_expired, true);
	return false;
}

/*
 * Called by a polling thread (poll on while other tasks are runnable?)
 * and by bhq_poll_adapt() (is the window held as the test set it?).
 */
bool bhq_debug_spin_held(void)
{
	return READ_ONCE(bhq_debug_spin_hold);
}

/* Called by bhq_kick() before each wake_up_process(). */
void bhq_debug_count_kick(void)
{
	atomic_long_inc(&bhq_debug_kicks);
}

#if IS_ENABLED(CONFIG_KUNIT)
/**
 * bhq_debug_hold_spin() - keep polling threads polling past their window
 * @hold: true to hold them, false to let them go
 *
 * For bhq's KUnit suites only (CONFIG_BHQ_DEBUG and CONFIG_KUNIT): while
 * held, a thread that polls before it sleeps (bhq_ctx_set_polling()) goes
 * on polling when its window ends, and while other tasks are runnable on
 * its CPU, until it finds work, is told to stop or must reschedule, at
 * most 10 s after it started; and its window does not adapt.
 *
 * Context: any; never sleeps.
 */
void bhq_debug_hold_spin(bool hold)
{
	if (hold)
		WRITE_ONCE(bhq_debug_spin_expired, false);
	WRITE_ONCE(bhq_debug_spin_hold, hold);
}
EXPORT_SYMBOL_IF_KUNIT(bhq_debug_hold_spin);

/**
 * bhq_debug_spin_hold_expired() - did a spin hold run out of time?
 *
 * For bhq's KUnit suites only, see bhq_debug_hold_spin(): true when a
 * held thread stopped polling only because the hold's 10 s were over,
 * not because it found work, had to stop or had to reschedule.
 *
 * Context: any; never sleeps.
 * Return: true if a hold expired since the last bhq_debug_hold_spin(true).
 */
bool bhq_debug_spin_hold_expired(void)
{
	return READ_ONCE(bhq_debug_spin_expired);
}
EXPORT_SYMBOL_IF_KUNIT(bhq_debug_spin_hold_expired);

/**
 * bhq_debug_kick_count() - how often schedulers called wake_up_process()
 *
 * For bhq's KUnit suites only: every wake_up_process() bhq_kick() made
 * since the module was loaded, whether it woke the thread or found it
 * running (the wakeups counter counts only the former).
 *
 * Context: any; never sleeps.
 * Return: the number of calls.
 */
long bhq_debug_kick_count(void)
{
	return atomic_long_read(&bhq_debug_kicks);
}
EXPORT_SYMBOL_IF_KUNIT(bhq_debug_kick_count);

/**
 * bhq_debug_hold_next_publish() - hold the next schedule after its publish
 *
 * For bhq's KUnit suites only (CONFIG_BHQ_DEBUG and CONFIG_KUNIT): the
 * next schedule (or delete) that publishes a BH spins right after the
 * publish until bhq_debug_release_publish(), at most 10 s, so that a test
 * knows that a schedule is still returning while it runs, deletes or
 * destroys.
 *
 * Context: any; never sleeps.
 */
void bhq_debug_hold_next_publish(void)
{
	WRITE_ONCE(bhq_debug_publish_gate.fn, NULL);
	WRITE_ONCE(bhq_debug_publish_gate.open, false);
	atomic_set(&bhq_debug_publish_gate.holds, 1);
}
EXPORT_SYMBOL_IF_KUNIT(bhq_debug_hold_next_publish);

/**
 * bhq_debug_call_at_next_publish() - run a function inside the next publish
 * @fn: the function, called once
 * @arg: its argument
 *
 * For bhq's KUnit suites only (CONFIG_BHQ_DEBUG and CONFIG_KUNIT): as
 * bhq_debug_hold_next_publish(), but the next schedule (or delete) that
 * publishes a BH calls @fn(@arg) right after the publish instead of
 * spinning, and goes on when @fn returns.  So a test that has one CPU
 * knows that a schedule is still returning while @fn runs, deletes,
 * frees or allocates.  @fn runs where that schedule runs, inside its RCU
 * read-side section: it must not sleep (bhq_debug_poll_atomic() polls a
 * manual context there).  bhq_debug_release_publish() drops a call that
 * has not started.
 *
 * Context: any; never sleeps.
 */
void bhq_debug_call_at_next_publish(void (*fn)(void *arg), void *arg)
{
	WRITE_ONCE(bhq_debug_publish_gate.arg, arg);
	WRITE_ONCE(bhq_debug_publish_gate.fn, fn);
	WRITE_ONCE(bhq_debug_publish_gate.open, false);
	/* Pairs with the fully ordered atomic_dec_if_positive() of the gate. */
	atomic_set_release(&bhq_debug_publish_gate.holds, 1);
}
EXPORT_SYMBOL_IF_KUNIT(bhq_debug_call_at_next_publish);

/**
 * bhq_debug_poll_atomic() - poll a manual context without sleeping
 * @ctx: a manual context that no other task polls or flushes
 *
 * For bhq's KUnit suites only: bhq_poll() without its might_sleep(), for
 * a function that bhq_debug_call_at_next_publish() runs inside a
 * schedule.  An uncontended poll of a manual context does not sleep;
 * the callbacks it runs must not sleep either.
 *
 * Context: any except NMI, if the callbacks allow it.
 * Return: true if a non-idle BH ran.
 */
bool bhq_debug_poll_atomic(struct bhq_ctx *ctx)
{
	return __bhq_poll(ctx) > 0;
}
EXPORT_SYMBOL_IF_KUNIT(bhq_debug_poll_atomic);

/**
 * bhq_debug_publish_held() - is a schedule held after its publish now?
 *
 * For bhq's KUnit suites only, see bhq_debug_hold_next_publish().
 *
 * Context: any; never sleeps.
 * Return: true while a schedule spins in the hold.
 */
bool bhq_debug_publish_held(void)
{
	return atomic_read(&bhq_debug_publish_gate.held);
}
EXPORT_SYMBOL_IF_KUNIT(bhq_debug_publish_held);

/**
 * bhq_debug_release_publish() - let a held schedule go, and hold no more
 *
 * For bhq's KUnit suites only, see bhq_debug_hold_next_publish().
 *
 * Context: any; never sleeps.
 */
void bhq_debug_release_publish(void)
{
	atomic_set(&bhq_debug_publish_gate.holds, 0);
	WRITE_ONCE(bhq_debug_publish_gate.fn, NULL);
	WRITE_ONCE(bhq_debug_publish_gate.open, true);
}
EXPORT_SYMBOL_IF_KUNIT(bhq_debug_release_publish);

/**
 * bhq_debug_hold_next_poll() - hold the next poll at its entry
 *
 * For bhq's KUnit suites only (CONFIG_BHQ_DEBUG and CONFIG_KUNIT): the
 * next bhq_poll() (or thread's poll) spins at its very top, before it
 * reads the context, until bhq_debug_release_poll(), at most 10 s: the
 * window of a task that has called bhq_poll() but not yet taken the role.
 * It spins in an RCU read-side section: a test needs a second CPU.
 *
 * Context: any; never sleeps.
 */
void bhq_debug_hold_next_poll(void)
{
	WRITE_ONCE(bhq_debug_poll_gate.open, false);
	atomic_set(&bhq_debug_poll_gate.holds, 1);
}
EXPORT_SYMBOL_IF_KUNIT(bhq_debug_hold_next_poll);

/**
 * bhq_debug_poll_held() - is a poll held at its entry now?
 *
 * For bhq's KUnit suites only, see bhq_debug_hold_next_poll().
 *
 * Context: any; never sleeps.
 * Return: true while a poll waits in the hold.
 */
bool bhq_debug_poll_held(void)
{
	return atomic_read(&bhq_debug_poll_gate.held);
}
EXPORT_SYMBOL_IF_KUNIT(bhq_debug_poll_held);

/**
 * bhq_debug_release_poll() - let a held poll go, and hold no more
 *
 * For bhq's KUnit suites only, see bhq_debug_hold_next_poll().
 *
 * Context: any; never sleeps.
 */
void bhq_debug_release_poll(void)
{
	atomic_set(&bhq_debug_poll_gate.holds, 0);
	WRITE_ONCE(bhq_debug_poll_gate.open, true);
}
EXPORT_SYMBOL_IF_KUNIT(bhq_debug_release_poll);

/**
 * bhq_debug_set_publish_delay() - set bhq.debug_publish_delay_us
 * @usecs: the delay after each publish, capped at 100000 us; 0 for none
 *
 * For bhq's KUnit suites only (the lifetime cases): as writing the module
 * parameter, but without an error to check; a larger value is capped.
 *
 * Context: any; never sleeps.
 */
void bhq_debug_set_publish_delay(unsigned int usecs)
{
	WRITE_ONCE(bhq_debug_publish_delay_us,
		   min_t(unsigned int, usecs, BHQ_DEBUG_DELAY_MAX_US));
}
EXPORT_SYMBOL_IF_KUNIT(bhq_debug_set_publish_delay);
#endif
