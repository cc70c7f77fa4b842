/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bhq_protocol.pml: a Promela model of the bhq schedule / poll / non-idle
 * flag / sleep / wakeup protocol, for the spin model checker.
 *
 * Run it with scripts/spin-check.sh, which checks this model as it is
 * (0 errors expected) and the broken variants below (errors expected).
 * By hand:
 *
 *	spin -a kmod/bhq_protocol.pml			(or -DNAIVE_CLEAR ...)
 *	gcc -O2 -DSAFETY -DNOCLAIM -o pan pan.c && ./pan -m100000
 *	gcc -O2 -o pan pan.c && ./pan -a -f -m100000	(the ltl claim)
 *
 * What is modelled, and where it is in the C code:
 *
 *  - kmod/bhq_queue.c, bhq_bh_schedule_flags(): the BH's atomic_fetch_or
 *    of PENDING | SCHEDULED (| NONIDLE), llist_add() (which returns "the
 *    list was empty") when PENDING was off, bhq_mark_nonidle() (read the
 *    flag, then atomic_xchg(flag, 1) if it read 0) for a non-idle
 *    schedule, and bhq_kick(): READ_ONCE(ctx->poller), then
 *    wake_up_process() unless the poller is the thread.  Inline
 *    bhq_schedule().
 *  - kmod/bhq_queue.c, __bhq_poll(): bhq_poll_enter() (cmpxchg of
 *    ctx->poller), bhq_carve_slice() (read the flag, atomic_xchg(flag, 0)
 *    if it read 1, llist_del_all(), append the slice, set slices_nonidle),
 *    bhq_slice_pop() (clears slices_nonidle with the last slice),
 *    bhq_bh_dispatch() / bhq_bh_dequeue() (atomic_fetch_andnot of
 *    PENDING | SCHEDULED | NONIDLE, then the callback), and the release
 *    of ctx->poller at depth 0.  Inline bhq_poll() and bhq_carve_slice().
 *  - kmod/bhq_queue.c, bhq_compute_timeout(): slices_nonidle or the flag
 *    first, then the pending list and the slices.  Inline
 *    bhq_compute_timeout().
 *  - kmod/bhq_ctx.c, bhq_thread_fn() and bhq_thread_sleep(): the loop
 *    set_current_state(TASK_IDLE); compute the timeout; sleep if it is not
 *    0 (an infinite sleep blocks until wake_up_process(); an idle sleep
 *    ends woken, "continue", or by the timer, then poll); else
 *    __set_current_state(TASK_RUNNING) and poll.  Proctype thread.
 *  - wake_up_process(): sets the thread running if it is in TASK_IDLE,
 *    else does nothing (the Linux sleep/wake rule).  Inline wake_thread().
 *
 * Processes: the thread, two schedulers, and the callback of BH A, which
 * runs in the thread: it schedules BH C non-idle during the poll (the case
 * that clearing the flag at the end of the poll breaks) and may poll again
 * (one level of nesting, which exercises slices_nonidle).  Scheduler 1
 * schedules B then A, scheduler 2 schedules B then C; each of these four
 * schedules is idle or non-idle, chosen nondeterministically.  So B is
 * scheduled twice and C may be too (coalescing: a schedule finds the BH
 * pending, in the list or in a slice, and only adds flags).
 *
 * Memory model: spin explores sequentially consistent interleavings.  That
 * is what the C code gets: every operation modelled here is a fully
 * ordered atomic (fetch_or, fetch_andnot, xchg, cmpxchg, llist_add,
 * llist_del_all, wake_up_process) or is separated from the next access by
 * a full barrier (set_current_state() before the reads of
 * bhq_compute_timeout(), the value-returning atomics before the plain
 * read of the flag and of ctx->poller), except the store-release of
 * ctx->poller, whose following set_current_state() is a full barrier.
 * Each atomic operation is one step (an atomic block); each plain read is
 * one step of its own; steps that touch only poller-owned state
 * (slices, slices_nonidle, depth) are merged with a neighbouring step.
 *
 * Abstracted away:
 *  - the order of BHs: the pending list and the slices are sets
 *    (bitmasks).  A BH is on at most one list (the PENDING bit), so a set
 *    is enough; bhq_slice_pop() takes any BH of any active slice, which
 *    includes the real FIFO order;
 *  - counters, the BH ids, allocation, bhq_bh_cancel(), bhq_bh_delete(),
 *    oneshots, flush barriers, kthread_should_stop() and the drain at
 *    destroy, CPU hotplug, manual contexts (polled by their owner: no
 *    thread, no wakeups);
 *  - nesting deeper than one level; one thread per context, so the
 *    cmpxchg of bhq_poll_enter() never fails (asserted);
 *  - time: an idle sleep's timer may fire at any moment while the thread
 *    sleeps (a sleep that is already woken returns "woken", as
 *    schedule_hrtimeout_range() returns -EINTR then).
 *
 * Properties (spin reports a violation of any of them as an error):
 *
 *  P1 no lost BH.  Ghost @owed has bit b set from the fetch_or of a
 *     schedule of b until the fetch_andnot of a dequeue that finds
 *     SCHEDULED, after which the callback runs.  In every terminal state
 *     (both schedulers returned, the thread asleep with an infinite
 *     timeout, nobody left to wake it) nothing is owed, on the list or in
 *     a slice: proctype quiescent.  Spin's end-state check makes sure that
 *     the only way to stop is that sleep (label end_sleep).  The ltl claim
 *     no_lost_bh says the same of every run, infinite ones included:
 *     eventually nothing is ever owed again.
 *
 *  P2 no lost wakeup.  While the thread is asleep with an infinite
 *     timeout and not woken, and no schedule is in progress, no BH is on
 *     the list or in a slice (invariant SLEEP_INF_OK, proctype monitor).
 *     A schedule in progress (ghost @inflight, from its fetch_or to the end
 *     of its bhq_kick()) is a wakeup on its way: it may have published the
 *     BH and not have read ctx->poller yet.
 *
 *  P3 flag correctness, in two parts, both checked in every state:
 *   - FLAG_OK, the invariant of "The non-idle flag" in bhq_queue.c made
 *     precise: outside bhq_carve_slice() (ghost @in_carve, from its read
 *     of the flag to the end of the carve), if the flag and slices_nonidle
 *     are both clear and no non-idle schedule is in progress (ghost
 *     @inflight_ni, from its fetch_or to the end of its bhq_kick()), then
 *     no BH with NONIDLE set is on the list or in a slice.  A non-idle
 *     schedule in progress may have published its BH and not have set the
 *     flag yet; a finished one may have found the flag set by another
 *     non-idle schedule still in progress, which sets it for both.  So
 *     bhq_compute_timeout() never returns non-zero, at any depth, while a
 *     finished non-idle schedule waits.
 *   - SLEEP_IDLE_OK, what the thread does with it: while the thread is
 *     asleep on a non-zero timeout (idle or infinite) and not woken, and
 *     no non-idle schedule is in progress, no BH with NONIDLE set is on
 *     the list or in a slice.  "A non-idle schedule in progress" is the
 *     wakeup on its way: it sets the flag after the thread read it (and
 *     wakes the thread, which is then no longer asleep), or it found the
 *     flag set by another one in progress that will.
 *
 * Broken variants, each of which must fail (scripts/spin-check.sh):
 *  -DNAIVE_CLEAR	the review of QEMU's "make aio_bh_poll() O(1)"
 *			taken literally: the carve leaves the flag alone and
 *			every poll clears it at its end.  A non-idle BH that a
 *			callback (or a scheduler) adds during the poll loses
 *			its flag: FLAG_OK fails, then the thread sleeps the
 *			idle timeout with it pending (SLEEP_IDLE_OK).
 *  -DLATE_STATE	set_current_state() after bhq_compute_timeout():
 *			the classic lost wakeup (SLEEP_INF_OK, end state).
 *  -DNO_FLAG_KICK	a schedule that turns the flag on but finds the list
 *			non-empty does not wake the thread (SLEEP_IDLE_OK).
 */

#ifndef BHQ_REREAD
#define BHQ_REREAD	0	/* 1: the fix proposed for the coalescing hole */
#endif

#define NBH		3
#define BH_A		0	/* scheduled by scheduler 1; its callback schedules C */
#define BH_B		1	/* scheduled by both schedulers */
#define BH_C		2	/* scheduled by scheduler 2 and by A's callback */
#define NSCHED		2

/* kmod/bhq_internal.h; the other bits play no part in this protocol. */
#define PENDING		1	/* BHQ_BH_PENDING */
#define SCHEDULED	2	/* BHQ_BH_SCHEDULED */
#define NONIDLE		4	/* BHQ_BH_NONIDLE */

/* bhq_compute_timeout() results; also the ghost @tsleep. */
#define T_NONE		0	/* not asleep (tsleep) / not decided yet */
#define T_ZERO		1
#define T_IDLE		2	/* BHQ_IDLE_TIMEOUT_NS */
#define T_INF		3	/* BHQ_TIMEOUT_INFINITE */

/* The thread's task state. */
#define RUNNING		0
#define IDLE		1	/* TASK_IDLE */

/* struct bhq_bh::flags */
byte bhflags[NBH];
/* struct bhq_ctx */
byte pending;		/* @pending (llist), as a set of BHs */
bit flag;		/* @nonidle */
bit poller;		/* @poller: 1 = the thread, 0 = NULL */
byte slices;		/* the BHs of every active slice, as a set */
bit slices_nonidle;	/* @slices_nonidle */
byte depth;		/* @depth */
/* The thread's task_struct::__state. */
bit tstate = RUNNING;

/* Ghosts, for the properties only. */
byte owed;		/* scheduled BHs not yet dequeued to run */
byte inflight;		/* schedules between fetch_or and the end of bhq_kick() */
byte inflight_ni;	/* the same, non-idle schedules only */
bit in_carve;		/* the thread is inside bhq_carve_slice() */
byte tsleep = T_NONE;	/* the thread decided this timeout and sleeps on it */
byte sched_done;	/* schedulers that returned */

/* Bit b of a set of BHs. */
#define IN(set, b)	(((set) >> (b)) & 1)
/* BH b is waiting, non-idle: on the list or in a slice, NONIDLE set. */
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
 * bhq_bh_schedule_flags(bh, ni ? BHQ_BH_NONIDLE : 0), with bhq_mark_nonidle()
 * and bhq_kick().  Uses the caller's locals old and kick.
 */
inline bhq_schedule(b, ni)
{
	/* old = atomic_fetch_or(set, &bh->flags) */
	atomic {
		old = bhflags[b];
		bhflags[b] = old | PENDING | SCHEDULED | (ni -> NONIDLE : 0);
		owed = owed | (1 << b);
		inflight++;
		mark = ni;		/* set & BHQ_BH_NONIDLE */
		inflight_ni = inflight_ni + mark
	}
	/* if (!(old & BHQ_BH_PENDING)) kick = llist_add(&bh->node, &ctx->pending); */
	if
	:: !(old & PENDING) ->
		atomic {
			kick = (pending == 0);
			pending = pending | (1 << b)
#if BHQ_REREAD
			;
			/* ghost: responsible for a coalesced NONIDLE until the re-read */
			inflight_ni = inflight_ni + !mark
#endif
		}
#if BHQ_REREAD
		/*
		 * The fix: an idle schedule that added the BH re-reads its
		 * flags after llist_add() (ordered by its cmpxchg), and takes
		 * over the flag of a non-idle schedule that coalesced onto it
		 * before the add:
		 *	set |= atomic_read(&bh->flags) & BHQ_BH_NONIDLE;
		 */
		if
		:: !mark ->
			atomic {
				if
				:: bhflags[b] & NONIDLE -> mark = 1
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
	 * !atomic_xchg(&ctx->nonidle, 1)
	 */
	if
	:: mark && !flag ->
		atomic {
#ifdef NO_FLAG_KICK
			flag = 1
#else
			if
			:: !flag -> kick = 1
			:: else
			fi;
			flag = 1
#endif
		}
	:: else
	fi;
	/* if (kick) bhq_kick(ctx): READ_ONCE(ctx->poller) == thread? */
	if
	:: kick && !poller -> wake_thread()
	:: else
	fi;
	atomic {
		inflight--;
		inflight_ni = inflight_ni - mark;
		old = 0;
		kick = 0;
		mark = 0
	}
}

/*
 * bhq_carve_slice(): the flag is cleared before llist_del_all().  Appending
 * the slice and setting slices_nonidle touch poller-owned state only and
 * are merged with the llist_del_all() step.
 */
inline bhq_carve_slice()
{
#ifdef NAIVE_CLEAR
	/* The flag is left alone here and cleared at the end of the poll. */
	atomic {
		slices = slices | pending;
		pending = 0
	}
#else
	/* if (atomic_read(&ctx->nonidle)) nonidle = atomic_xchg(&ctx->nonidle, 0); */
	atomic {
		in_carve = 1;
		nl = flag
	}
	if
	:: nl -> atomic { nl = flag; flag = 0 }
	:: else
	fi;
	/* first = llist_del_all(&ctx->pending); list_add_tail(slice); slices_nonidle */
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

/* The end of a poll (any depth) in the broken variant. */
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
 * same loop as the outer one (the oldest slice first, outer slices
 * included), so it is modelled as the same loop at depth 2; when it ends,
 * the rest of A's callback is empty and the outer loop finds no slice
 * left either.
 */
inline bhq_poll()
{
	/* bhq_poll_enter(): cmpxchg(&ctx->poller, NULL, current) */
	atomic {
		assert(poller == 0);
		poller = 1;
		depth = 1
	}
	bhq_carve_slice();
	do
	:: slices != 0 ->
		/*
		 * bhq_slice_pop() (owner only, merged) and bhq_bh_dequeue():
		 * flags = atomic_fetch_andnot(BHQ_BH_DEQUEUE_MASK, &bh->flags)
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
		/* bhq_bh_dispatch(): run the callback of a scheduled BH */
		if
		:: (f & SCHEDULED) && b == BH_A ->
			f = 0;
			/* A's callback: bhq_bh_schedule(C), non-idle, from the poll */
			bhq_schedule(BH_C, 1);
			if
			:: depth == 1 ->
				/* ... then maybe bhq_poll(ctx): nested */
				depth = 2;
				bhq_carve_slice()
			:: true
			fi
		:: else -> f = 0
		fi;
		b = 0
	:: slices == 0 && depth == 2 ->
		/* the nested poll returns into A's callback, which returns */
		naive_clear();
		depth = 1
	:: else -> break
	od;
	naive_clear();
	/* if (!--ctx->depth) smp_store_release(&ctx->poller, NULL); */
	atomic {
		depth = 0;
		poller = 0
	}
}

/*
 * bhq_compute_timeout(): the flags first (slices_nonidle is owner-only, the
 * read of @nonidle is the step), then the list and the slices.  Sets @to,
 * and the ghost @tsleep with the step that decides a non-zero timeout.
 */
inline bhq_compute_timeout()
{
	if
	:: slices_nonidle || flag -> to = T_ZERO
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

/* kmod/bhq_ctx.c: bhq_thread_fn() and bhq_thread_sleep(). */
active proctype thread()
{
	byte to, b, f, old;
	bit nl, kick, mark;

	do
	::
#ifndef LATE_STATE
		tstate = IDLE;		/* set_current_state(TASK_IDLE) */
		bhq_compute_timeout();
#else
		bhq_compute_timeout();
		tstate = IDLE;
#endif
		/* if (timeout && bhq_thread_sleep(timeout)) continue; */
		if
		:: to == T_INF ->
			/* schedule(); return true; */
end_sleep:		atomic { tstate == RUNNING -> tsleep = T_NONE; to = T_NONE };
			goto next
		:: to == T_IDLE ->
			if
			:: atomic { tstate == RUNNING -> tsleep = T_NONE; to = T_NONE };
				/* woken before the timeout: compute it again */
				goto next
			:: atomic { tstate == IDLE -> tstate = RUNNING; tsleep = T_NONE; to = T_NONE }
				/* the timer fired: poll */
			fi
		:: else -> to = T_NONE
		fi;
		tstate = RUNNING;	/* __set_current_state(TASK_RUNNING) */
		assert(slices == 0 && depth == 0);
		bhq_poll();
		/* a top-level poll leaves no slice */
		assert(slices == 0 && !slices_nonidle);
next:		skip
	od
}

/*
 * Two schedulers: 1 schedules B then A, 2 schedules B then C, each schedule
 * idle or non-idle (bhq_bh_schedule_idle() or bhq_bh_schedule()).
 */
active [NSCHED] proctype scheduler()
{
	byte old;
	bit kick, ni, mark;

	if
	:: ni = 0
	:: ni = 1
	fi;
	bhq_schedule(BH_B, ni);
	if
	:: ni = 0
	:: ni = 1
	fi;
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
 * with an infinite timeout, not woken; nobody is left to wake it.
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
