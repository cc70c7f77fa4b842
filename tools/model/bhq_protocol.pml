/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bhq_protocol.pml: a Promela model of the bhq schedule / poll / non-idle
 * flag / sleep / wakeup protocol, for the spin model checker.
 *
 * Run it with tools/model/spin-check.sh (a few seconds): it checks this model
 * and its variants below, each against its expected outcome.  By hand:
 *
 *	spin -a tools/model/bhq_protocol.pml		(or spin -DNAIVE_CLEAR -a ...)
 *	gcc -O2 -DSAFETY -DNOCLAIM -o pan pan.c && ./pan -m100000
 *	gcc -O2 -o pan pan.c && ./pan -a -m100000	(the ltl claim too)
 *	spin -t -p tools/model/bhq_protocol.pml	(replay an error's trail)
 *
 * What is modelled, and where it is in the C code:
 *
 *  - kmod/bhq_queue.c, bhq_bh_schedule_flags(): the BH's atomic_fetch_or()
 *    of PENDING | SCHEDULED (| NONIDLE) (its try_cmpxchg loop: with no
 *    disable count, as here where no bhq_bh_cancel_sync() runs, the
 *    try_cmpxchg that succeeds is that fetch_or; bhq_ownership.pml models
 *    the count); llist_add(), which returns "the list was empty", when
 *    PENDING was off; for a non-idle schedule bhq_mark_nonidle(): read
 *    the flag, atomic_xchg(flag, 1) if it read 0; then bhq_kick():
 *    READ_ONCE(ctx->poller), and wake_up_process() unless the poller is
 *    the thread.  Inline bhq_schedule().
 *  - kmod/bhq_poll.c, __bhq_poll(): bhq_poll_enter() (the thread's store
 *    of ctx->poller); bhq_carve_slice(): read the flag, store 0 (plain)
 *    if it read 1, llist_del_all(), append the slice, set slices_nonidle;
 *    bhq_slice_pop(), which clears slices_nonidle with the last slice;
 *    bhq_bh_dispatch() with bhq_bh_dequeue() (atomic_fetch_andnot() of
 *    PENDING | SCHEDULED | NONIDLE), then the callback; the store-release
 *    of ctx->poller at depth 0.  Inlines bhq_poll(), bhq_carve_slice().
 *  - kmod/bhq_poll.c, bhq_compute_timeout(): bhq_work_pending()
 *    (slices_nonidle or the flag) first, then the pending list and the
 *    slices.  Inline bhq_compute_timeout().
 *  - kmod/bhq_poll.c, bhq_poll_spin(), the polling before the thread
 *    sleeps: WRITE_ONCE(ctx->poller, current), so that bhq_kick() skips
 *    the wakeup; bhq_work_pending() checked until it says yes or the
 *    window ends (or need_resched(), kthread_should_stop()); then
 *    bhq_poll_release(), the store-release of ctx->poller.  Inline
 *    bhq_poll_spin().
 *  - kmod/bhq_ctx.c, bhq_thread_fn(), bhq_thread_idle() and
 *    bhq_thread_sleep(): the loop polls before it sleeps if its window is
 *    not 0 (a choice: the window adapts, see "Abstracted away"), and polls
 *    at once if that found work; else set_current_state(TASK_IDLE);
 *    compute the timeout; sleep if it is not 0 (an infinite sleep blocks
 *    until wake_up_process(); an idle sleep ends woken, then "continue",
 *    or by its timer, then poll); else __set_current_state(TASK_RUNNING)
 *    and poll.  Proctype thread.  The loop's busy shortcut (poll again
 *    while bhq_work_pending() reads the flag set, before the polling and
 *    set_current_state()) is not modelled: it only ever polls, never
 *    sleeps, so it adds no behaviour the model lacks.  Nor is the
 *    thread's plain store of ctx->poller in bhq_poll_enter() (a threaded
 *    context has no other poller to race with): a single step either way.
 *  - wake_up_process(): sets the thread running if it is in TASK_IDLE,
 *    else does nothing (the Linux sleep/wake rule).  Inline wake_thread().
 *
 * Processes: the thread, which may poll before each sleep; two
 * schedulers; the callback of BH A, which runs in the thread, schedules
 * BH C non-idle during the poll (the case that clearing the flag at the
 * end of the poll breaks) and may then poll again (one level of nesting,
 * which exercises slices_nonidle).
 * Scheduler 1 schedules B then A, scheduler 2 schedules B then C; each of
 * these four schedules is idle or non-idle, chosen nondeterministically.
 * So B is scheduled twice and C may be too: coalescing, a schedule that
 * finds the BH pending (on the list, in a slice, or just claimed by a
 * schedule that has not added it yet) and only adds flags.
 *
 * Memory model: spin explores sequentially consistent interleavings, and
 * that is what the C code gets: every operation modelled here is a fully
 * ordered atomic (fetch_or, fetch_andnot, xchg, cmpxchg, llist_add,
 * llist_del_all, wake_up_process) or is separated from the accesses it
 * pairs with by a full barrier: set_current_state() before the reads of
 * bhq_compute_timeout() (it also orders the store-release of ctx->poller,
 * at the end of a poll or of the polling before the sleep, before them),
 * the value-returning atomics before the plain reads of the flag and of
 * ctx->poller, the carve's plain store clearing the flag before the xchg
 * of llist_del_all() (with the schedule's publish then its read of the
 * flag: store buffering; with its publish then its xchg of the flag:
 * LKMM's "R" pattern, full barriers on both sides, forbidden either
 * way).  Each atomic operation is one step (an atomic block), each
 * plain read of shared state is a step of its own; what touches only
 * poller-owned state (slices, slices_nonidle, depth) or ghosts is merged
 * with a neighbouring step.
 *
 * One exception, harmless: bhq_poll_spin()'s WRITE_ONCE(ctx->poller,
 * current) has no barrier before its reads of the flag, so a check may
 * read the flag 0 while a scheduler, whose xchg of the flag came first,
 * reads ctx->poller from before that store (0).  No interleaving gives
 * that pair.  But the check then only misses: the scheduler's
 * wake_up_process() finds the thread running or, later, in TASK_IDLE (an
 * early wakeup); and the thread's re-check after set_current_state()
 * sees the flag, since W flag -> (xchg) R poller -fr-> W poller = thread
 * -> (set_current_state()'s barrier) R flag is store buffering with full
 * barriers on both sides.  So the C run is a run of the model (the
 * scheduler's read placed after the check and the store, reading the
 * thread) plus a spurious wakeup, which only makes the thread compute
 * the timeout again (see "Abstracted away").
 *
 * Abstracted away:
 *  - the order of BHs: the pending list and the slices are sets
 *    (bitmasks).  A BH is on at most one list (the PENDING bit), so a set
 *    is enough; bhq_slice_pop() takes any BH of any active slice, which
 *    includes the real FIFO order.  bhq_slice_pop() and the fetch_andnot
 *    of bhq_bh_dequeue() are one step: the pop touches poller-owned state
 *    only;
 *  - counters, BH ids, allocation and freeing, bhq_bh_cancel(),
 *    bhq_bh_delete() and bhq_bh_reap(), oneshots, flush barriers,
 *    kthread_should_stop() and the drain at destroy, CPU hotplug, manual
 *    contexts (polled by their owner: no thread, no wakeup), spurious
 *    wakeups (they only make the thread compute the timeout again);
 *  - the polling window and its adaptation (bhq_poll_adapt(), the
 *    clock, @idle_start, poll_max_ns), need_resched(), the counters: at
 *    each idle period the thread polls or not, and its polling ends,
 *    unless it finds work, after 1 to SPIN_CHECKS (2) checks, all chosen
 *    nondeterministically.  The bound keeps it finite (a window ends);
 *    1 would do, since while the thread polls nobody clears the flag
 *    (only the carve does) and slices_nonidle stays clear: a check that
 *    finds work later is a first check made later;
 *  - nesting deeper than one level; the one thread of a context is the
 *    only poller, so the cmpxchg of bhq_poll_enter() never fails
 *    (asserted);
 *  - time: the timer of an idle sleep may fire at any moment, before or
 *    after a wakeup; schedule_hrtimeout_range() then returns 0 and the
 *    thread polls.  A sleep that was woken and whose timer has not fired
 *    returns -EINTR, "woken".
 *
 * Properties (spin reports a violation of any of them as an error):
 *
 *  P1 no lost BH.  Ghost @owed has bit b set from the fetch_or of a
 *     schedule of b until the fetch_andnot of a dequeue that finds
 *     SCHEDULED, right before the callback runs.  In every terminal state
 *     (both schedulers returned, the thread asleep with an infinite
 *     timeout and not woken: nobody is left to wake it) nothing is owed,
 *     on the list or in a slice: proctype quiescent.  Spin's end-state
 *     check makes sure that the only way for the thread to stop is that
 *     sleep (label end_sleep).  The ltl claim no_lost_bh says it of every
 *     run, infinite ones included: eventually nothing is ever owed again.
 *
 *  P2 no lost wakeup, invariant SLEEP_INF_OK (proctype monitor, checked in
 *     every state): while the thread is asleep with an infinite timeout and
 *     not woken, and no schedule is in progress, no BH is on the list or
 *     in a slice.  A schedule in progress (ghost @inflight, from its
 *     fetch_or to the end of its bhq_kick()) is a wakeup on its way: it
 *     may have added its BH and not have read ctx->poller yet.  That
 *     covers the polling before the sleep: a schedule that found the
 *     thread polling (ctx->poller) skipped its wakeup and is over, so
 *     once the thread sleeps its BH must have been seen, by the polling
 *     (non-idle) or by the re-check after it.
 *
 *  P3 flag correctness, two invariants checked in every state:
 *   - FLAG_OK, "a non-idle BH is never pending with the flag clear" (the
 *     comment at the top of bhq_queue.c) made precise: outside
 *     bhq_carve_slice() (ghost @in_carve, from its read of the flag to the
 *     end of the carve), if the flag and slices_nonidle are both clear and
 *     no non-idle schedule is in progress (ghost @inflight_ni, from its
 *     fetch_or to the end of its bhq_kick()), then no BH with NONIDLE set
 *     is on the list or in a slice.  The exception is needed: a non-idle
 *     schedule in progress may have added its BH and not have set the
 *     flag yet, and a finished one may have found the flag set by another
 *     one still in progress, after the carve cleared it.  So
 *     bhq_compute_timeout() never returns a non-zero timeout, at any depth,
 *     while a non-idle BH whose schedule is over waits.
 *   - SLEEP_IDLE_OK, what the thread does with it: while the thread is
 *     asleep on a non-zero timeout (idle or infinite) and not woken, and
 *     no non-idle schedule is in progress, no BH with NONIDLE set is on
 *     the list or in a slice.  A non-idle schedule in progress is the
 *     wakeup on its way: it sets the flag after the thread read it, and
 *     wakes the thread, which is then no longer asleep; or it found the
 *     flag set by another one in progress, which will.
 *
 * Variants (tools/model/spin-check.sh knows which must pass and which fail):
 *
 *  -DREREAD_AFTER_ADD=0|1, the coalescing hole.  0 is bhq_queue.c before
 *	bhq_nonidle_while_adding(), and fails FLAG_OK and SLEEP_IDLE_OK: an idle schedule claims
 *	PENDING (fetch_or) and has not called llist_add() yet; a non-idle
 *	schedule of the same BH coalesces (PENDING is already set, so it
 *	does not add), sets the flag, wakes the thread and returns; the
 *	thread polls, clears the flag and carves an empty list; only then
 *	does the idle schedule add the BH, and being idle it leaves the flag
 *	alone.  The thread then computes BHQ_IDLE_TIMEOUT_NS with a non-idle
 *	BH pending whose schedule has returned.  1 is the fix, the code now: an
 *	idle schedule that added the BH reads its flags again after
 *	llist_add() and, if a coalescing schedule made it non-idle meanwhile,
 *	turns the flag on itself (bhq_mark_nonidle(), and a wakeup if that
 *	turned it on).  That read touches the BH after it was published,
 *	when the poller may already have run it (and a bhq_bh_delete() from
 *	its callback have freed it): the C fix must keep the BH valid there,
 *	or require that no schedule of a BH is in progress when it is
 *	deleted.  Only idle schedules read, and those are of bhq_bh_new()
 *	BHs: oneshots and flush barriers are scheduled non-idle.  Make 1 the
 *	default when bhq_queue.c does that.
 *  -DNAIVE_CLEAR, the review of QEMU's "make bh_aio_poll() O(1)" taken
 *	literally: the carve leaves the flag alone and every poll clears it
 *	at its end.  A non-idle BH that a callback (or another CPU) schedules
 *	during the poll loses its flag: FLAG_OK fails, then the thread sleeps
 *	the idle timeout with it pending (SLEEP_IDLE_OK).
 *  -DIDLE_SCHEDULERS, with -DNAIVE_CLEAR: the two schedulers schedule
 *	idle BHs only, so the only non-idle schedule is the one of A's
 *	callback, and the naive clear fails exactly as the comment at the top
 *	of bhq_queue.c says: it "loses the flag of every BH that a callback
 *	schedules during the poll".
 *  -DLATE_STATE, set_current_state() after bhq_compute_timeout(): the
 *	classic lost wakeup (P1 quiescent, SLEEP_INF_OK, the end state).
 *  -DNO_FLAG_KICK, a schedule that turns the flag on wakes the thread only
 *	if it also made the list non-empty: the thread sleeps the idle
 *	timeout after an idle BH became non-idle (SLEEP_IDLE_OK).
 *  -DNO_SPIN, the thread never polls before it sleeps (a window of 0, as
 *	by default): the model as it was before bhq_poll_spin().  A
 *	restriction of the model, to compare state counts by hand;
 *	spin-check.sh does not run it.
 *  -DSPIN_NO_RECHECK, a thread whose polling found nothing trusts it:
 *	set_current_state(TASK_IDLE) and schedule() without
 *	bhq_compute_timeout().  A schedule during the polling saw the thread
 *	as the poller and skipped its wakeup; an idle BH does not end the
 *	polling, and a non-idle one may set the flag after the last check:
 *	the thread sleeps for ever with the BH on the list (P1 quiescent,
 *	SLEEP_INF_OK).  The re-check is what pairs with bhq_kick()'s read of
 *	ctx->poller.  (Spin's shortest trail is plainer still: idle BHs
 *	scheduled while the thread ran, so their wakeups found it running,
 *	then a polling that they do not end; the skipped wakeup fails too.)
 *  -DSPIN_LATE_RELEASE, the poll role released after the re-check, right
 *	before schedule(): a schedule that adds its BH after the re-check
 *	read the list, and reads ctx->poller before the release, skips its
 *	wakeup: the thread sleeps for ever with it (SLEEP_INF_OK, P1).  The
 *	release must come before set_current_state(), whose barrier orders
 *	it before the re-check.  (A release between set_current_state() and
 *	the re-check would be as wrong, store-release does not order a
 *	store before later loads, but spin's interleavings cannot show it.)
 */

#ifndef REREAD_AFTER_ADD
#define REREAD_AFTER_ADD	1	/* as kmod/bhq_queue.c is now */
#endif
#ifndef SPIN_CHECKS
#define SPIN_CHECKS		2	/* bhq_work_pending() checks of a polling */
#endif

#define NBH		3
#define BH_A		0	/* scheduler 1; its callback schedules C */
#define BH_B		1	/* both schedulers */
#define BH_C		2	/* scheduler 2, and A's callback */
#define NSCHED		2

/* kmod/bhq_internal.h; the other bits play no part in this protocol. */
#define PENDING		1	/* BHQ_BH_PENDING */
#define SCHEDULED	2	/* BHQ_BH_SCHEDULED */
#define NONIDLE		4	/* BHQ_BH_NONIDLE */

/* bhq_compute_timeout() results, and the ghost @tsleep. */
#define T_NONE		0	/* no timeout decided / not asleep */
#define T_ZERO		1	/* 0 */
#define T_IDLE		2	/* BHQ_IDLE_TIMEOUT_NS */
#define T_INF		3	/* BHQ_TIMEOUT_INFINITE */

/* The thread's task state. */
#define RUNNING		0	/* TASK_RUNNING */
#define IDLE		1	/* TASK_IDLE */

/* What the polling before the sleep did: the thread's local @sp. */
#define SP_NONE		0	/* no polling (a window of 0) */
#define SP_MISS		1	/* polled, the window ended: sleep? */
#define SP_HIT		2	/* polled and found work: poll now */

/* struct bhq_bh::flags */
byte bhflags[NBH];
/* struct bhq_ctx */
byte pending;		/* @pending, the llist, as a set of BHs */
bit flag;		/* @nonidle */
bit poller;		/* @poller: 1 is the thread, 0 is NULL */
byte slices;		/* @slices: the BHs of every active slice, as a set */
bit slices_nonidle;	/* @slices_nonidle */
byte depth;		/* @depth */
/* The thread's task_struct::__state. */
bit tstate = RUNNING;

/* Ghosts, for the properties only. */
byte owed;		/* scheduled BHs not dequeued to run yet */
byte inflight;		/* schedules from their fetch_or to the end */
byte inflight_ni;	/* the same, those responsible for the flag */
bit in_carve;		/* the thread is in bhq_carve_slice() */
byte tsleep = T_NONE;	/* the timeout the thread decided to sleep on */
byte sched_done;	/* schedulers that returned */

/* Bit b of a set of BHs. */
#define IN(set, b)	(((set) >> (b)) & 1)
/* BH b waits, non-idle: on the list or in a slice, with NONIDLE set. */
#define NI_WAITS(b)	(IN(pending | slices, b) && (bhflags[b] & NONIDLE))
#define NI_WAITING	(NI_WAITS(0) || NI_WAITS(1) || NI_WAITS(2))

#define FLAG_OK \
	(in_carve || inflight_ni > 0 || flag || slices_nonidle || !NI_WAITING)
#define SLEEP_INF_OK \
	(tsleep != T_INF || tstate != IDLE || inflight > 0 || \
	 (pending | slices) == 0)
#define SLEEP_IDLE_OK \
	(tsleep == T_NONE || tstate != IDLE || inflight_ni > 0 || !NI_WAITING)

/* wake_up_process(ctx->thread): TASK_IDLE -> TASK_RUNNING, else nothing. */
inline wake_thread()
{
	atomic {
		if
		:: tstate == IDLE -> tstate = RUNNING
		:: else
		fi
	}
}

/*
 * bhq_bh_schedule_flags(bh, ni ? BHQ_BH_NONIDLE : 0), with
 * bhq_mark_nonidle() and bhq_kick().  Uses the caller's locals old, kick
 * and setni (set & BHQ_BH_NONIDLE).
 */
inline bhq_schedule(b, ni)
{
	/* old = atomic_fetch_or(set, &bh->flags); */
	atomic {
		old = bhflags[b];
		bhflags[b] = old | PENDING | SCHEDULED | (ni -> NONIDLE : 0);
		owed = owed | (1 << b);
		setni = ni;
		inflight++;
		inflight_ni = inflight_ni + setni
	}
	/* if (!(old & BHQ_BH_PENDING)) kick = llist_add(&bh->node, &ctx->pending); */
	if
	:: !(old & PENDING) ->
		atomic {
			kick = (pending == 0);
			pending = pending | (1 << b)
#if REREAD_AFTER_ADD
			;
			/* ghost: answers for a coalesced NONIDLE until the read */
			inflight_ni = inflight_ni + !setni
#endif
		}
#if REREAD_AFTER_ADD
		/*
		 * The fix: after llist_add() (its cmpxchg orders this read),
		 * an idle schedule takes over the NONIDLE of a schedule that
		 * coalesced onto it before the add:
		 *	set |= atomic_read(&bh->flags) & BHQ_BH_NONIDLE;
		 */
		if
		:: !setni ->
			atomic {
				if
				:: bhflags[b] & NONIDLE -> setni = 1
				:: else -> inflight_ni--
				fi
			}
		:: else
		fi
#endif
	:: else
	fi;
	/*
	 * if ((set & BHQ_BH_NONIDLE) && bhq_mark_nonidle(ctx)) kick = true;
	 * bhq_mark_nonidle(): !atomic_read(&ctx->nonidle) &&
	 * !atomic_xchg(&ctx->nonidle, 1).  The guard is the plain read.
	 */
	if
	:: setni && !flag ->
		atomic {
#ifndef NO_FLAG_KICK
			if
			:: !flag -> kick = 1
			:: else
			fi;
#endif
			flag = 1
		}
	:: else
	fi;
	/*
	 * if (kick) bhq_kick(ctx): if (READ_ONCE(ctx->poller) != thread)
	 * wake_up_process(thread).  The guard is the read of ctx->poller,
	 * the thread during its polls and during its polling before a
	 * sleep (bhq_poll_spin()); ordered after the BH's publish and the
	 * flag by the full barrier of llist_add() / fetch_or / xchg, it
	 * pairs with the thread's release of ctx->poller, then
	 * set_current_state(), then bhq_compute_timeout().
	 */
	if
	:: kick && !poller -> wake_thread()
	:: else
	fi;
	atomic {
		inflight--;
		inflight_ni = inflight_ni - setni;
		old = 0;
		kick = 0;
		setni = 0
	}
}

/*
 * bhq_carve_slice(): the flag is cleared before llist_del_all().  Appending
 * the slice and setting slices_nonidle touch poller-owned state only and
 * are merged with the llist_del_all() step.  Uses the thread's local nl.
 */
inline bhq_carve_slice()
{
#ifdef NAIVE_CLEAR
	/* The flag is left alone; naive_clear() clears it at the end. */
	atomic {
		slices = slices | pending;
		pending = 0
	}
#else
	/*
	 * nonidle = atomic_read(&ctx->nonidle); if (nonidle)
	 * atomic_set(&ctx->nonidle, 0), a plain store: only the poller
	 * clears the flag; the xchg of llist_del_all() orders it before the
	 * read of the list.
	 */
	atomic {
		in_carve = 1;
		nl = flag
	}
	if
	:: nl -> flag = 0
	:: else
	fi;
	/*
	 * first = llist_del_all(&ctx->pending); list_add_tail() of the slice;
	 * if (nonidle && !list_empty(&ctx->slices)) slices_nonidle = true;
	 */
	atomic {
		slices = slices | pending;
		pending = 0;
		if
		:: nl && slices != 0 -> slices_nonidle = 1
		:: else
		fi;
		nl = 0;
		in_carve = 0
	}
#endif
}

/* The end of every poll, nested ones included, in the naive variant. */
inline naive_clear()
{
#ifdef NAIVE_CLEAR
	flag = 0
#else
	skip
#endif
}

/*
 * __bhq_poll(ctx) from the thread, with one level of nesting: the callback
 * of BH A may call bhq_poll() again.  A nested poll dequeues from the
 * same loop as the outer one (the oldest slice first, the outer slices
 * included), so it is modelled as the same loop at depth 2; when it ends,
 * the rest of A's callback is empty and the outer loop finds no slice
 * left either.  Uses the thread's locals b and f.
 */
inline bhq_poll()
{
	/*
	 * bhq_poll_enter(): the thread takes the role with a plain store; it
	 * may still hold it from a polling that found work (@kept).
	 */
	atomic {
		assert(poller == 0 || kept);
		poller = 1;
		kept = 0;
		depth = 1
	}
	bhq_carve_slice();
	do
	:: slices != 0 ->
		/*
		 * bh = bhq_slice_pop(ctx), which clears slices_nonidle with
		 * the last slice; bhq_bh_dispatch(): flags =
		 * atomic_fetch_andnot(BHQ_BH_DEQUEUE_MASK, &bh->flags)
		 */
		atomic {
			if
			:: IN(slices, 0) -> b = 0
			:: IN(slices, 1) -> b = 1
			:: IN(slices, 2) -> b = 2
			fi;
			slices = slices & ~(1 << b);
			if
			:: slices == 0 -> slices_nonidle = 0
			:: else
			fi;
			f = bhflags[b];
			bhflags[b] = f & ~(PENDING | SCHEDULED | NONIDLE);
			if
			:: f & SCHEDULED -> owed = owed & ~(1 << b)
			:: else
			fi
		}
		/* bh->func(bh->opaque) if SCHEDULED; only A's does something */
		if
		:: (f & SCHEDULED) && b == BH_A ->
			f = 0;
			b = 0;
			/* A's callback: bhq_bh_schedule(C) during the poll, */
			bhq_schedule(BH_C, 1);
			if
			:: depth == 1 ->
				/* then maybe bhq_poll(ctx) (nested) */
				depth = 2;
				bhq_carve_slice()
			:: true
			fi
		:: else ->
			f = 0;
			b = 0
		fi
	:: slices == 0 && depth == 2 ->
		/* the nested poll returns into A's callback, which returns */
		naive_clear();
		depth = 1
	:: else ->
		break
	od;
	naive_clear();
	/* if (!--ctx->depth) smp_store_release(&ctx->poller, NULL); */
	atomic {
		depth = 0;
		poller = 0
	}
}

/*
 * bhq_compute_timeout(): the flags first (the guard is the read of
 * @nonidle; slices_nonidle is poller-owned), then the list and the
 * slices.  Sets the local @to and, in the step that decides a non-zero
 * timeout, the ghost @tsleep.
 */
inline bhq_compute_timeout()
{
	if
	:: slices_nonidle || flag ->
		to = T_ZERO
	:: else ->
		atomic {
			if
			:: (pending | slices) != 0 -> to = T_IDLE
			:: else -> to = T_INF
			fi;
			tsleep = to
		}
	fi
}

/*
 * bhq_poll_spin() (kmod/bhq_poll.c) with a window > 0: hold the poll role
 * while checking bhq_work_pending() until it says yes or the polling
 * ends; release the role unless it found work.  Sets the thread's locals
 * @sp (SP_HIT or SP_MISS) and @kept (the role is still held for the
 * poll); uses its local @n, the checks made.
 */
inline bhq_poll_spin()
{
	/*
	 * WRITE_ONCE(ctx->poller, current): from now on bhq_kick() skips the
	 * wakeup.  No barrier before the checks: see "Memory model".
	 */
	atomic {
		assert(poller == 0);
		poller = 1
	}
	/*
	 * for (;;) { if (bhq_work_pending(ctx)) { found = true; break; }
	 * if (need_resched() || kthread_should_stop()) break; ... if the
	 * window is over, break; }  Each option is one read of
	 * bhq_work_pending() and what the thread decides from it: found, the
	 * polling goes on (at most SPIN_CHECKS checks in all), or it ends.
	 */
	do
	:: slices_nonidle || flag ->
		sp = SP_HIT;
		break
	:: !(slices_nonidle || flag) && n < SPIN_CHECKS - 1 ->
		n++
	:: !(slices_nonidle || flag) ->
		sp = SP_MISS;
		break
	od;
	n = 0;
#ifndef SPIN_LATE_RELEASE
	/*
	 * Found work: the role is kept for the poll that follows, so no
	 * scheduler sees it released in between.  Otherwise
	 * bhq_poll_release(): smp_store_release(&ctx->poller, NULL).  From
	 * now on bhq_kick() wakes the thread; the caller's
	 * set_current_state() orders this store before its re-check.
	 */
	if
	:: sp == SP_HIT -> kept = 1
	:: else -> poller = 0
	fi
#else
	/* The broken variant releases here only to poll (see the thread). */
	if
	:: sp == SP_HIT -> poller = 0
	:: else
	fi
#endif
}

/*
 * kmod/bhq_ctx.c: bhq_thread_fn(), bhq_thread_idle(), bhq_thread_sleep()
 * and bhq_thread_poll().
 */
active proctype thread()
{
	byte to, b, f, old, n, sp;
	bit nl, kick, setni, kept;

	do
	::
#ifndef NO_SPIN
		/*
		 * bhq_thread_idle(): if (idle_start && bhq_poll_spin(ctx,
		 * idle_start)) return true; whether the window is 0 (or
		 * polling off) is a choice.  Then bhq_thread_poll().
		 */
		if
		:: bhq_poll_spin()
		:: skip
		fi;
		if
		:: sp == SP_HIT ->
			sp = SP_NONE;
			goto poll
		:: else
		fi;
#ifdef SPIN_NO_RECHECK
		/*
		 * Broken: the polling found nothing, so sleep as if nothing
		 * were pending, without bhq_compute_timeout().
		 */
		if
		:: sp == SP_MISS ->
			atomic {
				tstate = IDLE;
				to = T_INF;
				tsleep = T_INF;
				sp = SP_NONE
			};
			goto sleep
		:: else
		fi;
#endif
#ifndef SPIN_LATE_RELEASE
		sp = SP_NONE;
#endif
#endif /* NO_SPIN */
#ifndef LATE_STATE
		/*
		 * set_current_state(TASK_IDLE): its full barrier orders the
		 * release of ctx->poller (after a poll or a polling) before
		 * the re-check's reads.
		 */
		tstate = IDLE;
		bhq_compute_timeout();
#else
		bhq_compute_timeout();
		tstate = IDLE;
#endif
#ifdef SPIN_LATE_RELEASE
		/* Broken: the role released after the re-check. */
		if
		:: sp == SP_MISS ->
			atomic {
				poller = 0;
				sp = SP_NONE
			}
		:: else
		fi;
#endif
		/* if (timeout && bhq_thread_sleep(timeout)) continue; */
sleep:		if
		:: to == T_INF ->
			/* schedule(); return true; */
end_sleep:		atomic {
				tstate == RUNNING ->
				tsleep = T_NONE;
				to = T_NONE
			};
			goto next
		:: to == T_IDLE ->
			/* schedule_hrtimeout_range() != 0 */
			if
			:: atomic {
					tstate == RUNNING ->
					tsleep = T_NONE;
					to = T_NONE
				};
				/* woken before the timer: compute it again */
				goto next
			:: atomic {
					tstate = RUNNING;
					tsleep = T_NONE;
					to = T_NONE
				}
				/*
				 * the timer fired (hrtimer_wakeup()), maybe
				 * after a wakeup too: it returns 0, poll
				 */
			fi
		:: else ->
			to = T_NONE
		fi;
		tstate = RUNNING;	/* __set_current_state(TASK_RUNNING) */
poll:		assert(slices == 0 && depth == 0 && (poller == 0 || kept));
		bhq_poll();
		/* a top-level poll leaves no slice */
		assert(slices == 0 && !slices_nonidle);
next:		skip
	od
}

/* bhq_bh_schedule_idle() or bhq_bh_schedule()? */
inline choose_ni()
{
#ifdef IDLE_SCHEDULERS
	ni = 0
#else
	if
	:: ni = 0
	:: ni = 1
	fi
#endif
}

/*
 * Two schedulers (any CPU): 1 schedules B then A, 2 schedules B then C,
 * each time bhq_bh_schedule_idle() or bhq_bh_schedule().
 */
active [NSCHED] proctype scheduler()
{
	byte old;
	bit kick, setni, ni;

	choose_ni();
	bhq_schedule(BH_B, ni);
	choose_ni();
	if
	:: _pid == 1 -> bhq_schedule(BH_A, ni)
	:: else -> bhq_schedule(BH_C, ni)
	fi;
	ni = 0;
	sched_done++
}

/* P2 and P3: invariants, checked in every reachable state. */
active proctype monitor()
{
end:	atomic {
		!(FLAG_OK && SLEEP_INF_OK && SLEEP_IDLE_OK) ->
		assert(FLAG_OK);
		assert(SLEEP_INF_OK);
		assert(SLEEP_IDLE_OK)
	}
}

/*
 * P1 in a terminal state: both schedulers returned and the thread sleeps
 * with an infinite timeout, not woken: nobody is left to wake it.
 */
active proctype quiescent()
{
end:	atomic {
		sched_done == NSCHED && tsleep == T_INF && tstate == IDLE ->
		assert(owed == 0 && pending == 0 && slices == 0 &&
		       inflight == 0)
	}
}

/* P1 for every run (pan -a): eventually nothing is ever owed again. */
ltl no_lost_bh { <> [] (owed == 0) }
