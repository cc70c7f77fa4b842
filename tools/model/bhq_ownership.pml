/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bhq_ownership.pml: a Promela model of who polls a manual context (the
 * poll role, ctx->poller: "Ownership" in kmod/bhq_poll.c), of the flush
 * that borrows the role from the owner, of bhq_bh_cancel_sync(), and of
 * the destroy that claims the role for good and waits for an owner still
 * inside bhq_poll_enter(), for the spin model checker.
 * tools/model/bhq_protocol.pml models the rest of the protocol (schedule, the
 * non-idle flag, the thread's sleep).
 *
 * Run it with tools/model/spin-check.sh (under a minute for this model): it
 * checks this model and its variants below, each against its expected
 * outcome.  By hand:
 *
 *	spin -a tools/model/bhq_ownership.pml		(or spin -DNO_BORROW_WAKE -a ...)
 *	gcc -O2 -DSAFETY -DNOCLAIM -o pan pan.c && ./pan -m100000
 *	gcc -O2 -o pan pan.c && ./pan -a -m100000	(the ltl claim too)
 *	spin -t -p tools/model/bhq_ownership.pml	(replay an error's trail)
 *
 * Processes (tasks), started together by init:
 *  - owner: the task that owns the context.  Calls bhq_poll() at most
 *    NPOLL times and may stop for good at any point (also at once, or
 *    right after a flush started): then the flushes must take over.
 *  - flusher: bhq_ctx_flush() from another task.
 *  - canceller: bhq_bh_cancel_sync(X) from another task.
 *  - destroyer: bhq_ctx_destroy() from another task, once it may (below).
 *  - monitor: invariants, checked in every state.
 * BHs: A and X are scheduled (pending, in either order) at the start.
 * A's callback schedules Y and may call bhq_poll() on the context (one
 * level of nesting); X's and Y's callbacks only run.  FB and CB are the
 * barriers of the flusher and of cancel_sync's flush.  Whoever holds the
 * role runs the callbacks: the owner, a flush that borrowed the role, the
 * destroyer's drain; a nested bhq_poll() nests in that task.
 *
 * When may destroy start?  Only once the flusher and cancel_sync have
 * returned (flush and destroy must not overlap, the table in include/linux/bhq.h),
 * and once the owner will not call bhq_poll() again (@go): it says so
 * after its last call returned; or a callback of A tells the destroyer to
 * go ahead, either running in the owner's own poll (the owner then stops:
 * the "poll that is returning" that bhq_ctx_claim() waits for), or run by
 * a flush (the flusher's or cancel_sync's) while the owner waits in
 * bhq_poll_enter() for a borrower (ghost @owaits: its cmpxchg met a
 * borrowed value and it has not taken the role since; the owner then
 * stops after that call: include/linux/bhq.h, note (4)).  In the last case the
 * flush releases the role and returns, and destroy may claim the role
 * before the woken owner's next cmpxchg: bhq_ctx_claim() then waits for
 * ctx->entering, and the owner's cmpxchg meets BHQ_POLLER_DYING and
 * returns without polling.  The owner's test of @go and its call of
 * bhq_poll() are one step: the model has no race on the user's side.  A
 * callback run by a flush while the owner is inside bhq_poll() but has
 * not met the borrower yet must not start the destroy (nothing could
 * protect that owner: it reads ctx->thread before its first cmpxchg; the
 * variant -DGO_WHILE_OWNER_CALLS).
 *
 * What is modelled, and where it is in the C code (one step each unless
 * said otherwise; ghosts are merged into the step they describe):
 *
 *  - kmod/bhq_poll.c, bhq_poll_enter_manual() (proctype owner): in a
 *    read-side section (rcu_read_lock_sched(), ghost @rcu), the fast
 *    path's cmpxchg(&ctx->poller, 0, current), which ends the section if
 *    it took the role; if not, atomic_inc(&ctx->entering) and
 *    smp_mb__after_atomic(), one step; READ_ONCE(ctx->poller) and, if it
 *    is the DYING value, atomic_dec(&ctx->entering) (the owner's last
 *    access) and the end of the section, one step; then, if not dying,
 *    bhq_poll_enter_slow(), counted in: its loop: the
 *    cmpxchg(&ctx->poller, 0, current) (with the
 *    rcu_read_lock() around it, and the tests of the value it read:
 *    locals); then taken (break), or a BHQ_POLLER_BORROWED value:
 *    WRITE_ONCE(ctx->owner_waits, true), wait_var_event(),
 *    WRITE_ONCE(ctx->owner_waits, false), and try again; or a
 *    BHQ_POLLER_DYING value: break, quietly; or any other value: the
 *    misuse of bhq_poll_misuse_busy() (an assertion: the owner never meets
 *    anyone else); after the loop, atomic_dec_return_release(
 *    &ctx->entering), its last access to the context if it did not take
 *    the role (__bhq_poll() then returns -EBUSY).  The nested bhq_poll()
 *    of A's callback: one step, whose READ_ONCE(ctx->poller) finds the
 *    current task, tagged or not (asserted); it neither counts itself in
 *    nor enters a read-side section.  The drain's nested polls come after
 *    the claim's wait.
 *  - include/linux/wait_bit.h, wait_var_event(&ctx->poller,
 *    READ_ONCE(ctx->poller) != owner) (inline wait_var_event): the check
 *    of the condition before waiting; then the loop of ___wait_var_event():
 *    prepare_to_wait_event() (under the queue's lock, add the entry, then
 *    set_current_state(TASK_UNINTERRUPTIBLE)); the check of the condition;
 *    finish_wait() if it holds (TASK_RUNNING, remove the entry); else
 *    schedule(), which returns once the task is TASK_RUNNING again (the
 *    waker set it).  @wq is the owner's entry on the hashed wait queue,
 *    @ostate its task state.
 *  - bhq_poll_release() (inline poll_release): the smp_store_release() of
 *    0 (with the plain read of the holder's own value before it); for a
 *    borrowed value, smp_mb() and wake_up_var(): __wake_up_bit() reads
 *    waitqueue_active() without the lock, then __wake_up() takes the lock
 *    and var_wake_function() -> autoremove_wake_function() removes the
 *    entry and wakes the task (try_to_wake_up(): TASK_RUNNING).  The
 *    owner's own release at the end of its top-level __bhq_poll() is the
 *    store only (not borrowed: no wakeup), its last access to the context.
 *  - bhq_poll_owned() (inline poll_owned): depth++; bhq_carve_slice():
 *    llist_empty(), llist_del_all() and appending the slice, one step;
 *    each turn of the loop: bhq_slice_pop() and bhq_bh_dequeue()'s
 *    atomic_fetch_andnot(), one step (the pop touches role-owned state
 *    only); then bhq_bh_dispatch() (inline dispatch): a BH without
 *    SCHEDULED is skipped; a barrier at depth > 1 is put back,
 *    bhq_bh_requeue(): atomic_or(), llist_add(), one step (the barrier is
 *    private to its flusher); a barrier at depth 1 runs bhq_barrier_fn(),
 *    complete(); X's and Y's callbacks return; A's callback schedules Y
 *    (bhq_bh_schedule_flags(): atomic_fetch_or(), then llist_add() if
 *    PENDING was off) and may call bhq_poll(): the nested poll carves and
 *    runs the same loop at depth 2 (a nested poll pops the outer slices
 *    first, so the slices are one FIFO, @slices); when it finds no slice
 *    left it returns, and so does A's callback; depth--.
 *  - bhq_flush_barrier() for a manual context (inline flush):
 *    bhq_bh_init() and bhq_bh_schedule_flags(): atomic_fetch_or() and
 *    llist_add(), one step (nobody sees the barrier before the add); then
 *    bhq_barrier_poll(): completion_done(); READ_ONCE(ctx->owner_waits);
 *    if it read false, bhq_poll_take(), the cmpxchg(0 -> current |
 *    BHQ_POLLER_BORROWED); if taken, bhq_poll_owned() and
 *    bhq_poll_release(); else wait_for_completion_timeout(done, 1), and
 *    break if it returned non-zero (it consumed the completion, so
 *    completion_done() could not say so any more).
 *  - bhq_bh_cancel_sync() (proctype canceller): bhq_bh_cancel()'s
 *    atomic_fetch_andnot() of SCHEDULED; smp_load_acquire(&ctx->poller);
 *    if not 0, bhq_flush_barrier().
 *  - kmod/bhq_ctx.c, bhq_ctx_teardown() for a manual context (proctype
 *    destroyer): bhq_ctx_claim(): its loop of cmpxchg(0 -> current |
 *    BHQ_POLLER_DYING) until it succeeds, then its loop of
 *    atomic_read_acquire(&ctx->entering) until it reads 0 (the role is
 *    never released); bhq_ctx_drain(): llist_empty(), then
 *    bhq_poll_owned() while the list is not empty; bhq_ctx_free().
 *  - kernel/sched/completion.c: @done is completion::done; complete()
 *    increments it, completion_done() reads it, a
 *    wait_for_completion_timeout() that succeeds decrements it.
 *
 * Abstracted away:
 *  - time.  wait_for_completion_timeout(done, 1) in a flush is one
 *    blocking step: it ends when the completion is done (the wait
 *    succeeds), or with a timeout once owner_waits is clear; a flush's
 *    bhq_poll_take() waits until the role is free or the barrier done.
 *    Each of the claim's two loops, of cmpxchg() (or atomic_read_acquire())
 *    and bhq_ctx_claim_wait()'s schedule_timeout_uninterruptible(1), is
 *    one blocking step: its cmpxchg that succeeds, its read of 0.  What is
 *    left out (a timeout while owner_waits is set, followed by a read of
 *    it that says so, and a cmpxchg that fails, with the barrier not done;
 *    a claim's cmpxchg that fails, a read of a count that is not 0) only
 *    leads to another wait and changes no state; and a flusher waiting
 *    before its cmpxchg can do all that one waiting after it can (the
 *    take once the role is free, the return once the barrier is done).  So
 *    no reachable state is lost, and the model has no cycle of such
 *    retries.  A task that so waits for ever in the model spins for ever
 *    in C: spin reports it as an invalid end state.  The claim's
 *    pr_warn() after 10 s.
 *  - the non-idle flag and slices_nonidle, NONIDLE, bhq_mark_nonidle(),
 *    bhq_kick() (no thread), bhq_compute_timeout(): they decide how soon a
 *    poll comes, not who polls (tools/model/bhq_protocol.pml has them); counters,
 *    tracing, lockdep maps, rcu_read_lock(), BH ids and allocation;
 *    COUNTED, DELETED, ONESHOT, ORPHANED, bhq_bh_reap(), the drain's
 *    discard mode (the drain here ends within two polls, far from
 *    BHQ_DRAIN_MAX_POLLS), bhq_ctx_orphan_live(), bhq_ctx_unregister().
 *  - the misuse checks that read ctx->poller before the protocol starts
 *    (bhq_in_own_callback() in bhq_ctx_flush(), bhq_bh_cancel_sync() and
 *    bhq_ctx_destroy()): none of these tasks polls when it calls, so they
 *    read "not mine" whatever the value.  The misuse checks of deleted
 *    BHs, in_task(), ctx->thread (the owner's read of it before it counts
 *    itself in: no destroy may start then, above).
 *  - ctx->innermost, the poll frames and bhq_bh_running(): the model knows
 *    which callback runs (ghost @running).
 *  - spurious wakeups of the owner: TASK_UNINTERRUPTIBLE ignores signals,
 *    and a wake_up_var() of another variable hashed to the same queue does
 *    not match the key.  A wakeup that finds the condition still false
 *    (the borrower took the role again, or the next borrower has the same
 *    value) is modelled: the owner sleeps again.
 *  - threaded contexts: their thread is the only poller (bhq_protocol.pml).
 *  - nesting deeper than one level; more than one flusher or cancel_sync;
 *    other tasks calling bhq_poll() (misuse: only the owner counts itself
 *    in ctx->entering while the claim reads it).
 *
 * Memory model: spin explores sequentially consistent interleavings.  That
 * is sound for this model because every access it makes of shared state is
 *  - a fully ordered atomic: the cmpxchg()s that succeed, of
 *    bhq_poll_enter(), bhq_poll_take() and bhq_ctx_claim();
 *    atomic_fetch_or() of a schedule, atomic_fetch_andnot() of
 *    bhq_bh_dequeue() and of bhq_bh_cancel(); llist_add() (cmpxchg) and
 *    llist_del_all() (xchg).  A cmpxchg that fails is only a read; each
 *    of them is covered below;
 *  - or separated by a full barrier from what it pairs with, in three
 *    store-buffering pairs, so that one side sees the other:
 *    cancel_sync's atomic_fetch_andnot() (full) then its load of
 *    ctx->poller, against a poller's cmpxchg() (full) then the
 *    atomic_fetch_andnot() of its dequeue (bhq_bh_cancel_sync()'s comment);
 *    a borrower's store-release of 0, smp_mb(), then waitqueue_active(),
 *    against the owner's prepare_to_wait_event() (adds the entry, then
 *    set_current_state(), smp_store_mb()) then its READ_ONCE(ctx->poller);
 *    and the owner's atomic_inc(&ctx->entering), smp_mb__after_atomic(),
 *    then its re-read of ctx->poller and each read by its later cmpxchg()s
 *    (which come after it in program order, a failing one included),
 *    against the claim's cmpxchg() that succeeds (fully ordered: its write
 *    of the DYING value, then a full barrier) then its
 *    atomic_read_acquire(&ctx->entering): either the claim reads the count
 *    with the owner in it, or the owner's re-read reads the DYING value
 *    (which stays, the claim never releases it) and the owner returns
 *    without polling, still inside its read-side section, which the free's
 *    grace period waits for (a section that began before the destroy);
 *  - or a release/acquire pair: the store-release of bhq_poll_release()
 *    against cancel_sync's smp_load_acquire() (a poll that ended has its
 *    callbacks done) and against the next holder's cmpxchg() that reads it
 *    (fully ordered, so at least an acquire): depth, the slices and the
 *    frames pass from holder to holder, and the claim's cmpxchg sees the
 *    owner's last poll done; the owner's atomic_dec_return_release() of
 *    ctx->entering, after its last access to the context (its cmpxchg()s,
 *    its stores to ctx->owner_waits, its reads in wait_var_event()),
 *    against the claim's atomic_read_acquire() that reads 0 from it, before
 *    the drain and bhq_ctx_free() (the owner is the only task counted in
 *    while the claim reads, so that 0 is its dec's);
 *  - or under a lock: completion::done (complete(), the wait, and
 *    completion_done(), whose READ_ONCE() of 0 only means one more turn of
 *    the flush's loop, as a read one step earlier would), the wait queue's
 *    entries (prepare_to_wait_event(), finish_wait(), __wake_up());
 *  - or role-owned (depth, the slices, a requeue's atomic_or() before its
 *    llist_add()) or private (a barrier before its llist_add(), the
 *    holder's read of its own ctx->poller value in bhq_poll_release());
 *  - or ctx->owner_waits, a hint with no ordering (WRITE_ONCE(),
 *    READ_ONCE()): the model lets a flush read its value or 0, whatever
 *    the value is; reading 1 late only costs a jiffy (it reads again
 *    after its wait, which the model ends once the flag is clear).  So
 *    the model checks that the flag only decides who goes first, never
 *    who may poll (the comment in bhq_poll.c).
 * The plain llist_empty() reads before llist_del_all() (carve, drain)
 * follow the holder's fully ordered cmpxchg() or dequeue (or the claim's
 * acquire); an empty read only leaves the list for a later poll, and is
 * merged with the xchg.
 *
 * Properties (spin reports a violation of any of them as an error):
 *
 *  P1 mutual exclusion, MUTEX_OK: at most one task has a poll of the
 *     context active (ghost @tdepth[task]: its active polls; a task's
 *     nested polls count once).  Asserted when a poll starts, and by the
 *     monitor.
 *  P2 flush.  It returns: no task waits for ever (spin's end-state check:
 *     only the monitor has an end label); a flush borrows the role at most
 *     twice (polls <= 2: its first borrowed poll runs its barrier, unless
 *     A's nested poll in it put the barrier back; A runs once), so its loop
 *     ends; and the ltl claim terminates: every run, infinite ones
 *     included, ends with every task done.  Also when the owner stops
 *     polling right after the flush started.  And when it returns, what it
 *     waits for is done: ghost @live holds the BHs whose schedule has
 *     returned (A and X from the start, Y once A's schedule of it added or
 *     found it pending) until their callback returns, or until a dequeue
 *     skips them; a flush takes a snapshot (@waitfor) when it adds its
 *     barrier and asserts (waitfor & live) == 0 when it returns.  So every
 *     BH scheduled before the flush has run, or was cancelled, and every
 *     callback that was running has returned: A stays live until it
 *     returns, also when its nested poll met the barrier.
 *  P3 cancel_sync, CANCEL_OK: once it returned (@cs_ret), X's callback is
 *     not running (@running: from the dequeue that finds SCHEDULED to the
 *     return of the callback); and a dequeue that would run X after that is
 *     an assertion.  X is not scheduled again in the model.
 *  P4 the owner never reports a misuse (@owner_misuse: it met a value that
 *     is neither 0, nor borrowed, nor dying), and never waits for ever (the
 *     end-state check, the ltl claim): a borrower's release wakes it.
 *  P5 destroy, FREE_OK: when the destroyer frees the context, no task has
 *     a poll active and the owner may not touch the context any more
 *     (@ocall, from its call of bhq_poll() to its last access: the release
 *     of the role after its poll, or the dec of ctx->entering when it did
 *     not take the role); and the owner never touches the context after it
 *     was freed (asserted at its count, its cmpxchg and its dec).  Also
 *     when a callback run by a flush started the destroy while the owner
 *     waited for that flush (above).
 *
 * Variants (tools/model/spin-check.sh knows which must pass and which fail):
 *
 *  -DLOOP_AFTER_WAIT, bhq_barrier_poll() as it was before its fix: it
 *	loops to completion_done() after wait_for_completion_timeout()
 *	returned > 0, but that wait consumed the completion
 *	(do_wait_for_common(): x->done--): the owner's poll runs the barrier,
 *	the flusher's wait consumes it, completion_done() says false for ever,
 *	and the flusher goes on borrowing the role: P2 (polls <= 2; without
 *	that bound, an acceptance cycle of the ltl claim).
 *  -DNO_BORROW_WAKE, bhq_poll_release() without smp_mb() and wake_up_var():
 *	the owner finds the role borrowed and sleeps; the flush releases it
 *	and returns without waking it: the lost wakeup of P4, an invalid end
 *	state (the owner in schedule(), the destroyer waiting for it).
 *  -DWAKE_WITHOUT_MB, the wakeup without the smp_mb(): waitqueue_active()
 *	may then read the queue before the store of 0 is visible, modelled as
 *	the read coming first: the flusher finds no waiter, the owner adds
 *	itself and still reads the borrowed value, then the store lands: the
 *	same lost wakeup.
 *  -DCANCEL_SYNC_NO_CHECK_ORDER, cancel_sync reads ctx->poller before it
 *	clears SCHEDULED: it reads 0, a flush takes the role and dequeues X
 *	with SCHEDULED set, then cancel_sync clears it and returns while X's
 *	callback runs: P3.
 *  -DBARRIER_IN_NESTED, a nested poll runs the barrier instead of putting
 *	it back: the flush returns while A's callback, whose nested poll ran
 *	the barrier, still runs: P2 (waitfor & live).
 *  -DPOLL_WITHOUT_OWNERSHIP, the flusher polls without taking the role (as
 *	the code before "Ownership" did): the owner takes it meanwhile and
 *	both poll: P1.
 *  -DDESTROY_WITHOUT_CLAIM, destroy drains and frees without
 *	bhq_ctx_claim(): it frees the context under the owner's returning
 *	poll, or polls with it: P5 or P1.
 *  -DNO_ENTERING_COUNT, bhq_ctx_claim() without its wait for
 *	ctx->entering (the claim as it was before): a callback run by a flush
 *	starts the destroy while the owner waits for that flush; the flush
 *	releases the role and returns, destroy claims it before the woken
 *	owner's cmpxchg, drains, and frees while the owner is still in
 *	bhq_poll_enter() (P5, FREE_OK), whose cmpxchg then touches the freed
 *	context (P5).  Woken, the owner is in no RCU read-side section, so
 *	the grace period of bhq_ctx_free() does not protect it.
 *  -DFAST_PATH_WITHOUT_RCU, the owner's fast path, which counts itself in
 *	only after its first cmpxchg failed, without the read-side section
 *	around them (the free does not wait for it): that cmpxchg meets the
 *	flush, whose callback starts the destroy; destroy claims the role and
 *	reads the count before the owner's increment, and frees under it: P5.
 *  -DNO_DYING_RECHECK, the section ends with the count, without the
 *	re-read of the role: destroy reads the count before the increment,
 *	and frees under the owner's next cmpxchg: P5.
 *  -DCLAIM_UNTAGGED, bhq_ctx_claim() takes the role with cmpxchg(0 ->
 *	current), untagged: the woken owner's cmpxchg meets the destroyer as
 *	if it were another owner: a false misuse report (P4); and an owner
 *	whose re-read of the role in its read-side section does not see
 *	the claim as one leaves the section, so the free does not wait for
 *	its next cmpxchg (P5, which spin reports first).
 *  -DDYING_IS_MISUSE, bhq_poll_enter() does not test BHQ_POLLER_DYING
 *	before bhq_poll_misuse_busy(): the same false misuse report (P4).
 *  -DGO_WHILE_OWNER_CALLS, not a bug of the C code but the limit of what
 *	it can do: a callback run by a flush starts the destroy while the
 *	owner is inside bhq_poll() but may not have counted itself in yet
 *	(ghost @ocall instead of @owaits): destroy claims the role, reads a
 *	count of 0, and frees before the owner's first cmpxchg (P5).  So the
 *	user may start the destroy from such a callback only if it knows that
 *	the owner already waits in bhq_poll() (include/linux/bhq.h, note (4)).
 */

#define NPOLL		2	/* the owner calls bhq_poll() at most this often */

/* BHs; a set of BHs is a bit mask. */
#define A		0	/* schedules Y, may call bhq_poll() (nesting) */
#define X		1	/* bhq_bh_cancel_sync() cancels it */
#define Y		2	/* A's callback schedules it */
#define FB		3	/* the flusher's barrier */
#define CB		4	/* the barrier of cancel_sync's flush */
#define NBH		5
#define BIT(b)		(1 << (b))

/* kmod/bhq_internal.h; the other bits play no part in this protocol. */
#define PENDING		1	/* BHQ_BH_PENDING */
#define SCHEDULED	2	/* BHQ_BH_SCHEDULED */
#define BARRIER		4	/* BHQ_BH_BARRIER */

/* Tasks, and their values of ctx->poller: (task << 2) | tags. */
#define OWNER		1
#define FLUSHER		2
#define CANCELLER	3
#define DESTROYER	4
#define BORROWED	1	/* BHQ_POLLER_BORROWED */
#define DYING		2	/* BHQ_POLLER_DYING */
#define TASKV(t)	((t) << 2)
#define TASK(v)		((v) >> 2)	/* bhq_poller_task() */

/* The tag of the claim's value of ctx->poller. */
#ifdef CLAIM_UNTAGGED
#define CLAIM_TAG	0
#else
#define CLAIM_TAG	DYING
#endif

/* The owner's task state. */
#define RUNNING		0	/* TASK_RUNNING */
#define SLEEPING	1	/* TASK_UNINTERRUPTIBLE */

/* struct bhq_bh::flags */
byte flags[NBH];
/* struct bhq_ctx */
chan pending = [NBH] of { byte };	/* @pending, FIFO as carved */
chan slices = [NBH] of { byte };	/* @slices: every active slice */
byte depth;				/* @depth */
byte poller;				/* @poller */
/* struct completion::done of the barriers FB and CB */
byte done[2];
/* @owner_waits */
bit owner_waits;
/* @entering: the owner only (see "Abstracted away") */
byte entering;
/* The owner is in the read-side section of bhq_poll_enter_manual(). */
bit rcu;
/* The owner's entry on the wait queue of &ctx->poller, its task state. */
bit wq;
bit ostate = RUNNING;

/* Ghosts, for the properties only. */
byte tdepth[5];		/* active polls of each task */
byte live;		/* BHs scheduled (the schedule returned), not done */
byte running;		/* callbacks dequeued to run, not returned */
bit ocall;		/* the owner is inside bhq_poll(), before its last access */
bit owaits;		/* ... and has met a borrower (since its last take) */
bit owner_misuse;	/* the owner met another task, not borrowing nor dying */
bit cs_ret;		/* bhq_bh_cancel_sync() returned */
bit owner_done, fl_done, cs_done;
bit go;			/* destroy may start, as far as the owner goes */
bit freed;		/* bhq_ctx_free() */

#define NPOLLERS	((tdepth[OWNER] > 0) + (tdepth[FLUSHER] > 0) + \
			 (tdepth[CANCELLER] > 0) + (tdepth[DESTROYER] > 0))
#define MUTEX_OK	(NPOLLERS <= 1)
#define CANCEL_OK	(!cs_ret || !(running & BIT(X)))
#define FREE_OK		(!freed || (NPOLLERS == 0 && !ocall))

/* Does task @me take the role to poll?  Not the flusher of old. */
#ifdef POLL_WITHOUT_OWNERSHIP
#define TAKES(me)	((me) != FLUSHER)
#else
#define TAKES(me)	1
#endif

/*
 * bhq_carve_slice(): llist_empty() / llist_del_all(), the slice appended
 * behind the outer polls' slices.  Uses the caller's local t.
 */
inline carve()
{
	d_step {
		do
		:: len(pending) > 0 -> pending?t; slices!t
		:: else -> break
		od;
		t = 0
	}
}

/*
 * bhq_bh_dispatch() after the dequeue, for BH b with old flags f, in a
 * poll by task me.  Uses the caller's locals b, f and t.
 */
inline dispatch(me)
{
	if
	:: !(f & SCHEDULED) ->
		skip
	:: (f & SCHEDULED) && (f & BARRIER) ->
#ifndef BARRIER_IN_NESTED
		if
		:: depth > 1 ->
			/* bhq_bh_requeue(): atomic_or(); llist_add() */
			atomic {
				flags[b] = flags[b] | PENDING | SCHEDULED;
				pending!b
			}
		:: else ->
			/* bhq_barrier_fn(): complete() */
			done[b - FB]++
		fi
#else
		done[b - FB]++
#endif
	:: (f & SCHEDULED) && (b == X || b == Y) ->
		/* the callback returns */
		atomic {
			running = running & ~BIT(b);
			live = live & ~BIT(b)
		}
	:: (f & SCHEDULED) && b == A ->
		/*
		 * A's callback.  It may tell the destroyer to go ahead when it
		 * runs in the owner's own poll, or when a flush runs it while
		 * the owner waits in bhq_poll_enter() for a borrower; the
		 * owner then stops after its current call.
		 */
		if
#ifndef GO_WHILE_OWNER_CALLS
		:: me == OWNER || owaits -> go = 1
#else
		:: me == OWNER || ocall -> go = 1
#endif
		:: true
		fi;
		/* bhq_bh_schedule(Y): atomic_fetch_or(), */
		atomic {
			t = flags[Y];
			flags[Y] = t | PENDING | SCHEDULED
		}
		/* llist_add() unless it was pending; the schedule returns */
		atomic {
			if
			:: !(t & PENDING) -> pending!Y
			:: else
			fi;
			live = live | BIT(Y);
			t = 0
		}
		if
		:: depth == 1 ->
			/*
			 * bhq_poll(ctx): bhq_poll_enter()'s read of the role
			 * finds the current task (borrowed or not): nested.
			 */
			assert(TASK(poller) == me || !TAKES(me));
			atomic {
				depth = 2;
				tdepth[me]++
			};
			carve()
			/* the loop of poll_owned() goes on at depth 2 */
		:: true ->
			atomic {
				running = running & ~BIT(A);
				live = live & ~BIT(A)
			}
		fi
	fi
}

/*
 * bhq_poll_owned() by task me, with the nested poll of A's callback in the
 * same loop at depth 2.  Uses the caller's locals b, f and t.
 */
inline poll_owned(me)
{
	atomic {
		depth++;
		tdepth[me]++;
		assert(MUTEX_OK)
	}
	carve();
	do
	:: atomic {
		/* bhq_slice_pop(); bhq_bh_dequeue(): atomic_fetch_andnot() */
		len(slices) > 0 ->
		slices?b;
		f = flags[b];
		flags[b] = f & ~(PENDING | SCHEDULED);
		if
		:: !(f & SCHEDULED) ->
			live = live & ~BIT(b)
		:: (f & SCHEDULED) && !(f & BARRIER) ->
			/* P3: nothing runs X once cancel_sync returned */
			assert(b != X || !cs_ret);
			running = running | BIT(b)
		:: else
		fi
	   }
	   dispatch(me)
	:: atomic {
		/* the nested poll returns, then A's callback */
		len(slices) == 0 && depth == 2 ->
		depth = 1;
		tdepth[me]--;
		running = running & ~BIT(A);
		live = live & ~BIT(A)
	   }
	:: len(slices) == 0 && depth == 1 ->
		break
	od;
	atomic {
		depth--;
		tdepth[me]--;
		b = 0;
		f = 0
	}
}

/* bhq_poll_release() by a flush (borrowed).  Uses the caller's local wqa. */
inline poll_release(me)
{
#ifdef WAKE_WITHOUT_MB
	/* no smp_mb(): waitqueue_active() may read before the store lands */
	wqa = wq;
#endif
	/* smp_store_release(&ctx->poller, 0) */
	atomic {
		assert(poller == (TASKV(me) | BORROWED) || !TAKES(me));
		if
		:: TAKES(me) -> poller = 0
		:: else
		fi
	}
#ifndef NO_BORROW_WAKE
#ifndef WAKE_WITHOUT_MB
	/* smp_mb(); wake_up_var(): waitqueue_active() */
	wqa = wq;
#endif
	if
	:: wqa ->
		/* __wake_up(): autoremove_wake_function() */
		atomic {
			if
			:: wq -> wq = 0; ostate = RUNNING
			:: else
			fi
		}
	:: else
	fi;
	wqa = 0
#endif
}

/*
 * bhq_flush_barrier() of a manual context by task me, with barrier bar.
 * Uses the caller's locals b, f, t, polls, waitfor, ow, took, woke, wqa.
 */
inline flush(me, bar)
{
	/* bhq_bh_init(); bhq_bh_schedule_flags(): fetch_or, llist_add() */
	atomic {
		flags[bar] = BARRIER | PENDING | SCHEDULED;
		pending!bar;
		waitfor = live
	}
	/* bhq_barrier_poll() */
	do
	:: done[bar - FB] > 0 ->
		/* completion_done() */
		break
	:: else ->
		/*
		 * READ_ONCE(ctx->owner_waits): its value, or 0 (a hint
		 * without ordering: a read may miss a store of 1).
		 */
		if
		:: ow = owner_waits
		:: ow = 0
		fi;
		/*
		 * If it read 0, bhq_poll_take(ctx, BHQ_POLLER_BORROWED).  A
		 * cmpxchg that fails while the barrier is not done is left
		 * out (see "time"): the step waits until the role is free or
		 * the barrier done.
		 */
		atomic {
			if
			:: ow -> skip
			:: !ow && !TAKES(me) -> took = 1
			:: !ow && TAKES(me) && poller == 0 ->
				poller = TASKV(me) | BORROWED;
				took = 1
			:: !ow && TAKES(me) && poller != 0 && done[bar - FB] > 0 ->
				skip
			fi;
			ow = 0
		}
		if
		:: took ->
			polls++;
			assert(polls <= 2);
			poll_owned(me);
			poll_release(me)
		:: else ->
			/*
			 * wait_for_completion_timeout(done, 1): done, or a
			 * timeout once the owner does not wait (see "time").
			 */
			atomic {
				done[bar - FB] > 0 || !owner_waits ->
				if
				:: done[bar - FB] > 0 ->
					done[bar - FB]--;
					woke = 1
				:: else
				fi
			}
#ifndef LOOP_AFTER_WAIT
			if
			:: woke -> break
			:: else
			fi
#endif
		fi;
		took = 0;
		woke = 0
	od;
	/* P2: what was scheduled or running when it started is done */
	assert((waitfor & live) == 0)
}

/*
 * wait_var_event(&ctx->poller, READ_ONCE(ctx->poller) != v), by the owner.
 */
inline wait_var_event()
{
	if
	:: poller != v ->
		skip
	:: else ->
		do
		:: /* prepare_to_wait_event() */
			atomic {
				wq = 1;
				ostate = SLEEPING
			}
			if
			:: poller != v ->
				/* finish_wait() */
				atomic {
					ostate = RUNNING;
					wq = 0
				};
				break
			:: else ->
				/* schedule(), until woken */
				ostate == RUNNING
			fi
		od
	fi
}

proctype owner()
{
	byte b, f, t, v, polls;
	bit dying;

	do
	:: atomic {
		!go && polls < NPOLL ->
		polls++;
		ocall = 1
	   }
		/*
		 * bhq_poll() -> __bhq_poll() -> bhq_poll_enter_manual():
		 * rcu_read_lock_sched(); cmpxchg(&ctx->poller, 0, current), the
		 * fast path; a role taken ends the read-side section.
		 */
		atomic {
			assert(!freed);
			rcu = 1;
			v = poller;
			if
			:: v == 0 -> poller = TASKV(OWNER); owaits = 0; rcu = 0
			:: v & BORROWED -> owaits = 1
			:: else
			fi
		}
		if
		:: v != 0 ->
			/* atomic_inc(&ctx->entering); smp_mb__after_atomic() */
			atomic {
				assert(!freed);
				entering++
#ifdef NO_DYING_RECHECK
				;
				rcu = 0
#endif
			}
#ifndef NO_DYING_RECHECK
			/*
			 * dying = READ_ONCE(ctx->poller) & BHQ_POLLER_DYING;
			 * if (dying) atomic_dec(&ctx->entering), the owner's
			 * last access; rcu_read_unlock_sched()
			 */
			atomic {
				assert(!freed);
				dying = (poller & DYING) != 0;
				if
				:: dying -> entering--; ocall = 0
				:: else
				fi;
				rcu = 0
			}
#endif
		:: else
		fi;
		if
		:: v != 0 && !dying ->
			/* bhq_poll_enter_slow(): counted in, its loop */
			do
			:: atomic {
				/* cmpxchg(&ctx->poller, 0, current) */
				assert(!freed);
				v = poller;
				if
				:: v == 0 -> poller = TASKV(OWNER); owaits = 0
				:: v & BORROWED -> owaits = 1
				:: else
				fi
			   }
			   /*
			    * Top-level: the value is never the owner's own (the
			    * nested poll of A's callback is modelled in
			    * dispatch()).
			    */
			   if
			   :: v == 0 ->
				/* entered */
				break
			   :: v & BORROWED ->
				/* WRITE_ONCE(ctx->owner_waits, true) */
				owner_waits = 1;
				wait_var_event();
				/* WRITE_ONCE(ctx->owner_waits, false) */
				owner_waits = 0
#ifndef DYING_IS_MISUSE
			   :: v & DYING ->
				/* the destroy claimed the role: quietly */
				break
#endif
			   :: else ->
				/* bhq_poll_misuse_busy(), not entered */
				owner_misuse = 1;
				assert(!owner_misuse);
				break
			   fi
			od;
			/*
			 * atomic_dec_return_release(&ctx->entering): if not
			 * entered, the owner's last access (__bhq_poll()
			 * returns -EBUSY).
			 */
			atomic {
				assert(!freed);
				entering--;
				if
				:: v != 0 -> ocall = 0
				:: else
				fi
			}
		:: else
		fi;
		if
		:: v == 0 ->
			poll_owned(OWNER);
			/*
			 * depth 0: bhq_poll_release(), not borrowed: a store,
			 * the owner's last access
			 */
			atomic {
				assert(poller == TASKV(OWNER));
				poller = 0;
				ocall = 0
			}
		:: else
		fi;
		v = 0;
		dying = 0
	:: break
	od;
	/* the owner will not poll again */
	atomic {
		owner_done = 1;
		go = 1
	}
}

/* bhq_ctx_flush() from another task */
proctype flusher()
{
	byte b, f, t, polls, waitfor;
	bit ow, took, woke, wqa;

	flush(FLUSHER, FB);
	fl_done = 1
}

/* bhq_bh_cancel_sync(X) from another task */
proctype canceller()
{
	byte b, f, t, polls, waitfor;
	bit ow, took, woke, wqa, busy;

#ifndef CANCEL_SYNC_NO_CHECK_ORDER
	/* bhq_bh_cancel(): atomic_fetch_andnot(SCHEDULED | NONIDLE) */
	flags[X] = flags[X] & ~SCHEDULED;
	/* smp_load_acquire(&ctx->poller) */
	busy = (poller != 0);
#else
	busy = (poller != 0);
	flags[X] = flags[X] & ~SCHEDULED;
#endif
	if
	:: busy -> flush(CANCELLER, CB)
	:: else
	fi;
	atomic {
		cs_ret = 1;
		assert(CANCEL_OK)
	}
	cs_done = 1
}

/* bhq_ctx_destroy() of the manual context, from another task */
proctype destroyer()
{
	byte b, f, t;

	go && fl_done && cs_done;
#ifndef DESTROY_WITHOUT_CLAIM
	/*
	 * bhq_ctx_claim(): cmpxchg(0 -> current | BHQ_POLLER_DYING), else
	 * sleep a jiffy; the role is never released
	 */
	atomic {
		poller == 0 ->
		poller = TASKV(DESTROYER) | CLAIM_TAG
	}
#ifndef NO_ENTERING_COUNT
	/* then atomic_read_acquire(&ctx->entering) until 0, sleeping a jiffy */
	entering == 0;
#endif
#endif
	/* bhq_ctx_drain() */
	do
	:: len(pending) > 0 -> poll_owned(DESTROYER)
	:: else -> break
	od;
	/*
	 * bhq_ctx_free(): call_rcu(), the free after a grace period, which
	 * waits for the owner's read-side section if it is in one (it began
	 * before: the owner's bhq_poll() started before the destroy)
	 */
	atomic {
#ifndef FAST_PATH_WITHOUT_RCU
		rcu == 0 ->
#endif
		freed = 1;
		assert(FREE_OK)
	}
}

/* P1, P3, P5: invariants, checked in every reachable state. */
proctype monitor()
{
end:	atomic {
		!(MUTEX_OK && CANCEL_OK && FREE_OK) ->
		assert(MUTEX_OK);
		assert(CANCEL_OK);
		assert(FREE_OK)
	}
}

init {
	atomic {
		flags[A] = PENDING | SCHEDULED;
		flags[X] = PENDING | SCHEDULED;
		live = BIT(A) | BIT(X);
		if
		:: pending!A; pending!X
		:: pending!X; pending!A
		fi;
		run monitor();
		run owner();
		run flusher();
		run canceller();
		run destroyer()
	}
}

/* P2, P4 for every run (pan -a): every task gets done. */
ltl terminates { <> (owner_done && fl_done && cs_done && freed) }
