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
 * Called by every schedule between publishing its BH and its last access
 * to the BH or the context; a busy wait, as the caller may be in hardirq.
 */
/* Schedules still to be held, and whether one is held now. */
static atomic_t bhq_debug_holds = ATOMIC_INIT(0);
static atomic_t bhq_debug_held = ATOMIC_INIT(0);
static bool bhq_debug_release;
/* What the next hold runs instead of spinning, if anything. */
static void (*bhq_debug_hold_fn)(void *arg);
static void *bhq_debug_hold_arg;

/* A hold never outlasts this, so a failed test cannot hang a CPU. */
#define BHQ_DEBUG_HOLD_MAX_NS	(10 * NSEC_PER_SEC)

/* Called after the hold was taken (a fully ordered dec): sees its @fn. */
static void bhq_debug_hold(void)
{
	void (*fn)(void *arg) = READ_ONCE(bhq_debug_hold_fn);
	u64 end = ktime_get_ns() + BHQ_DEBUG_HOLD_MAX_NS;

	atomic_inc(&bhq_debug_held);
	if (fn) {
		WRITE_ONCE(bhq_debug_hold_fn, NULL);
		fn(READ_ONCE(bhq_debug_hold_arg));
	} else {
		while (!READ_ONCE(bhq_debug_release) && ktime_get_ns() < end)
			cpu_relax();
	}
	atomic_dec(&bhq_debug_held);
}

void bhq_debug_after_publish(void)
{
	unsigned int usecs = READ_ONCE(bhq_debug_publish_delay_us);

	if (unlikely(atomic_read(&bhq_debug_holds)) &&
	    atomic_dec_if_positive(&bhq_debug_holds) >= 0)
		bhq_debug_hold();
	if (likely(!usecs))
		return;
	mdelay(usecs / USEC_PER_MSEC);
	udelay(usecs % USEC_PER_MSEC);
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
	WRITE_ONCE(bhq_debug_hold_fn, NULL);
	WRITE_ONCE(bhq_debug_release, false);
	atomic_set(&bhq_debug_holds, 1);
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
	WRITE_ONCE(bhq_debug_hold_arg, arg);
	WRITE_ONCE(bhq_debug_hold_fn, fn);
	WRITE_ONCE(bhq_debug_release, false);
	/* Pairs with the fully ordered atomic_dec_if_positive() of the hold. */
	atomic_set_release(&bhq_debug_holds, 1);
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
	return atomic_read(&bhq_debug_held);
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
	atomic_set(&bhq_debug_holds, 0);
	WRITE_ONCE(bhq_debug_hold_fn, NULL);
	WRITE_ONCE(bhq_debug_release, true);
}
EXPORT_SYMBOL_IF_KUNIT(bhq_debug_release_publish);

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
