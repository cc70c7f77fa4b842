/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bhq_ownership.pml: a Promela model of who polls a manual context (the
 * poll role, ctx->poller: "Ownership" in kmod/bhq_poll.c), of the flush
 * that borrows the role from the owner, of bhq_bh_cancel_sync() with the
 * disable count that refuses schedules while it runs, and of the destroy
 * that claims the role for good, for the spin model checker.
 * tools/model/bhq_protocol.pml models the rest of the protocol (the
 * non-idle flag, the thread's sleep).
 *
 * Run it with tools/model/spin-check.sh (a minute and a half for this
 * model): it checks this model and its variants below, each against its
 * expected outcome.  By hand:
 *
 *	spin -a tools/model/bhq_ownership.pml		(or spin -DNO_BORROW_WAKE -a ...)
 *	gcc -O2 -DSAFETY -DNOCLAIM -o pan pan.c && ./pan -m100000
 *	gcc -O2 -o pan pan.c && ./pan -a -m100000	(the ltl claim too)
 *	spin -t -p tools/model/bhq_ownership.pml	(replay an error's trail)
 *
 * Processes (tasks), started together by init:
 *  - owner: the task that owns the context.  Calls bhq_poll() at most
 *    NPOLL (2) times and may stop for good at any point (also at once, or
 *    right after a flush started): then the flushes must take over.
 *  - flusher: bhq_ctx_flush() from another task, NFLUSH (1) times.
 *  - canceller: bhq_bh_cancel_sync(X) from another task, once.
 *  - scheduler: bhq_bh_schedule(X) from another task, NSCHED (2) times,
 *    concurrently with all the above.
 *  - destroyer: bhq_ctx_destroy() from another task, once it may (below).
 *  - monitor: invariants, checked in every state.
 * BHs: A and X are scheduled (pending, in either order) at the start.
 * A's callback schedules Y and may call bhq_poll() on the context (one
 * level of nesting); X's callback may schedule X again (the driver's
 * "poll until done" BH that reschedules itself; NSELF (1) times in all);
 * Y's callback only runs.  FB and CB are the barriers of the flusher and
 * of cancel_sync's flush.  Whoever holds the role runs the callbacks: the
 * owner, a flush that borrowed the role, the destroyer's drain; a nested
 * bhq_poll() nests in that task.
 *
 * When may destroy start?  The contract of bhq_ctx_destroy() (the rule of
 * destroy_workqueue()): no bhq_ctx_flush() nor bhq_bh_cancel_sync() of the
 * context is under way (the flusher and the canceller returned), nothing
 * is scheduled once it started (the scheduler returned; a callback run by
 * the drain may still schedule), and the owner will not call bhq_poll()
 * again (@go): it says so after its last call returned, or a callback of
 * A that runs in the owner's own poll tells the destroyer to go ahead;
 * the owner then stops after that call, and that poll is the "poll that
 * is returning" which bhq_ctx_claim() waits for.  The owner's test of @go
 * and its call of bhq_poll() are one step: the model has no race on the
 * user's side.  A callback run by a flush may start the destroy only
 * once the owner returned from its last call (the first case, @go is set
 * already), not while the owner may be waiting inside bhq_poll() for
 * that flush, or be about to call it (-DGO_WHILE_OWNER_WAITS).  So the
 * owner never meets the destroy's claim (asserted).
 *
 * What is modelled, and where it is in the C code (one step each unless
 * said otherwise; ghosts are merged into the step they describe):
 *
 *  - kmod/bhq_poll.c, bhq_poll_enter_manual() (proctype owner): its loop:
 *    cmpxchg(&ctx->poller, 0, current); then taken: break, and
 *    WRITE_ONCE(ctx->owner_waits, false) if it set it in this call (a
 *    step of its own, after the cmpxchg); or a BHQ_POLLER_BORROWED
 *    value: WRITE_ONCE(ctx->owner_waits, true), wait_var_event(), and try
 *    again (owner_waits stays set until the role is taken); or any other
 *    value (BHQ_POLLER_DYING, another task): the misuse of
 *    bhq_poll_misuse_busy(), an assertion (never under the contract).  The
 *    nested bhq_poll() of A's callback: one step, whose
 *    READ_ONCE(ctx->poller) finds the current task, tagged or not
 *    (asserted).
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
 *    complete(); Y's callback returns; X's callback may schedule X
 *    (below), then returns; A's callback schedules Y (its
 *    bhq_bh_schedule_flags(): the try_cmpxchg, Y has no disable count,
 *    then llist_add() if PENDING was off) and may call bhq_poll(): the
 *    nested poll carves and runs the same loop at depth 2 (a nested poll
 *    pops the outer slices first, so the slices are one FIFO, @slices);
 *    when it finds no slice left it returns, and so does A's callback;
 *    depth--.
 *  - kmod/bhq_queue.c, bhq_bh_schedule_flags() of X (inline schedule_x,
 *    the scheduler's and X's callback's): its loop of atomic_read() and
 *    atomic_try_cmpxchg() is one step: if the disable count (bits 16..31,
 *    here flags >> 3) is not 0 the schedule backs out, changing nothing
 *    (it counts `refused`); else it sets PENDING | SCHEDULED; then, if
 *    PENDING was off, llist_add(), a step of its own.
 *  - bhq_flush_barrier() for a manual context (inline flush):
 *    init_completion(), bhq_bh_init() and bhq_bh_schedule_flags(): its
 *    try_cmpxchg and llist_add(), one step (nobody sees the barrier before
 *    the add); then bhq_barrier_poll(): completion_done();
 *    READ_ONCE(ctx->owner_waits); if it read false, bhq_poll_take(), the
 *    cmpxchg(0 -> current | BHQ_POLLER_BORROWED); if taken,
 *    bhq_poll_owned() and bhq_poll_release(); else
 *    wait_for_completion_timeout(done, 1), and break if it returned
 *    non-zero (it consumed the completion, so completion_done() could not
 *    say so any more).
 *  - bhq_bh_cancel_sync() (proctype canceller): its try_cmpxchg loop, one
 *    fully ordered step that adds BHQ_BH_DISABLE_ONE to the disable count
 *    and clears SCHEDULED (and NONIDLE); smp_load_acquire(&ctx->poller);
 *    if not 0, bhq_flush_barrier(); then
 *    atomic_sub_return_release(BHQ_BH_DISABLE_ONE, &bh->flags), the
 *    re-enable, its last access: the return (@cs_ret) is that step.
 *  - kmod/bhq_ctx.c, bhq_ctx_teardown() for a manual context (proctype
 *    destroyer): bhq_ctx_claim(): its loop of cmpxchg(0 -> current |
 *    BHQ_POLLER_DYING) until it succeeds (the role is never released);
 *    bhq_ctx_drain(): llist_empty(), then bhq_poll_owned() while the list
 *    is not empty; bhq_ctx_free().
 *  - kernel/sched/completion.c: @done is completion::done; complete()
 *    increments it, completion_done() reads it, a
 *    wait_for_completion_timeout() that succeeds decrements it.
 *
 * Abstracted away:
 *  - time.  wait_for_completion_timeout(done, 1) in a flush is one
 *    blocking step: it ends when the completion is done (the wait
 *    succeeds), or with a timeout once owner_waits is clear; a flush's
 *    bhq_poll_take() waits until the role is free or the barrier done.
 *    The claim's loop of cmpxchg() and bhq_ctx_claim_wait()'s
 *    schedule_timeout_uninterruptible(1) is one blocking step: its cmpxchg
 *    that succeeds.  What is left out (a timeout while owner_waits is set,
 *    followed by a read of it that says so, and a cmpxchg that fails, with
 *    the barrier not done; a claim's cmpxchg that fails) only leads to
 *    another wait and changes no state; and a flusher waiting before its
 *    cmpxchg can do all that one waiting after it can (the take once the
 *    role is free, the return once the barrier is done).  So no reachable
 *    state is lost, and the model has no cycle of such retries.  A task
 *    that so waits for ever in the model spins for ever in C: spin
 *    reports it as an invalid end state.  The claim's pr_warn() after 10 s.
 *  - the non-idle flag and slices_nonidle, NONIDLE, bhq_mark_nonidle(),
 *    bhq_kick() (no thread), bhq_compute_timeout(): they decide how soon a
 *    poll comes, not who polls (tools/model/bhq_protocol.pml has them);
 *    counters (`refused` too), tracing, lockdep maps, rcu_read_lock(), BH
 *    ids and allocation; COUNTED, DELETED, ONESHOT, ORPHANED,
 *    bhq_bh_delete(), bhq_bh_reap(), the drain's discard mode (the drain
 *    here ends within a few polls, far from BHQ_DRAIN_MAX_POLLS),
 *    bhq_ctx_orphan_live(), bhq_ctx_unregister().
 *  - the misuse checks that read ctx->poller before the protocol starts
 *    (bhq_in_own_callback() in bhq_ctx_flush(), bhq_bh_cancel_sync() and
 *    bhq_ctx_destroy()): none of these tasks polls when it calls, so they
 *    read "not mine" whatever the value, and cancel_sync's path for a
 *    caller that is the poller (it re-enables and returns) is not taken.
 *    The misuse checks of deleted BHs, in_task(), ctx->thread.
 *  - ctx->innermost, the poll frames and bhq_bh_running(): the model knows
 *    which callback runs (ghost @running).
 *  - spurious wakeups of the owner: TASK_UNINTERRUPTIBLE ignores signals,
 *    and a wake_up_var() of another variable hashed to the same queue does
 *    not match the key.  A wakeup that finds the condition still false
 *    (the borrower took the role again, or the next borrower has the same
 *    value) is modelled: the owner sleeps again.
 *  - threaded contexts: their thread is the only poller (bhq_protocol.pml).
 *  - nesting deeper than one level; more than one flusher or cancel_sync;
 *    other tasks calling bhq_poll() (misuse).
 *
 * Memory model: spin explores sequentially consistent interleavings.  That
 * is sound for this model because every access it makes of shared state is
 *  - a fully ordered atomic: the cmpxchg()s that succeed, of
 *    bhq_poll_enter(), bhq_poll_take() and bhq_ctx_claim(); the
 *    try_cmpxchg()s that succeed, of a schedule and of cancel_sync;
 *    atomic_fetch_andnot() of bhq_bh_dequeue(); llist_add() (cmpxchg) and
 *    llist_del_all() (xchg).  A cmpxchg that fails is only a read; each
 *    of them is covered below.  A schedule's loop is one step: a schedule
 *    that backs out changes nothing, and takes effect nowhere but at the
 *    read that saw the count (its atomic_read() or its last failed
 *    try_cmpxchg()); one that succeeds takes effect at its try_cmpxchg(),
 *    which compares the whole word, count included, with what it read;
 *  - or separated by a full barrier from what it pairs with, in three
 *    store-buffering pairs, so that one side sees the other:
 *    cancel_sync's try_cmpxchg() (full) then its load of ctx->poller,
 *    against a poller's cmpxchg() (full) then the atomic_fetch_andnot() of
 *    its dequeue (bhq_bh_cancel_sync()'s comment); a borrower's
 *    store-release of 0, smp_mb(), then waitqueue_active(), against the
 *    owner's prepare_to_wait_event() (adds the entry, then
 *    set_current_state(), smp_store_mb()) then its READ_ONCE(ctx->poller);
 *    and ctx->owner_waits (below);
 *  - or a release/acquire pair: the store-release of bhq_poll_release()
 *    against cancel_sync's smp_load_acquire() (a poll that ended has its
 *    callbacks done) and against the next holder's cmpxchg() that reads it
 *    (fully ordered, so at least an acquire): depth, the slices and the
 *    frames pass from holder to holder, and the claim's cmpxchg sees the
 *    owner's last poll done (its last access is that store); cancel_sync's
 *    atomic_sub_return_release() against the try_cmpxchg() of a schedule
 *    that reads the count it left (everything cancel_sync did comes
 *    before that schedule takes effect; a schedule that still reads the
 *    count read a value from before the sub, and backs out as it would
 *    have there);
 *  - or under a lock: completion::done (complete(), the wait, and
 *    completion_done(), whose READ_ONCE() of 0 only means one more turn of
 *    the flush's loop, as a read one step earlier would), the wait queue's
 *    entries (prepare_to_wait_event(), finish_wait(), __wake_up());
 *  - or role-owned (depth, the slices, a requeue's atomic_or() before its
 *    llist_add()) or private (a barrier before its llist_add(), the
 *    holder's read of its own ctx->poller value in bhq_poll_release());
 *  - or ctx->owner_waits, WRITE_ONCE() and READ_ONCE() with no barrier of
 *    their own, read here with its value at that step.  The owner's store
 *    of true has a control dependency on the cmpxchg that met the
 *    borrower and is followed by the full barrier of set_current_state()
 *    before its read of ctx->poller; its store of false follows its
 *    cmpxchg that took the role.  Every read by a flush follows a full
 *    barrier (its barrier's llist_add(), the smp_mb() of its last release,
 *    the schedule() of its timed wait) and precedes its fully ordered
 *    cmpxchg.  So a flush cannot read false after its own release of a
 *    borrowed value that the owner read after storing true: store
 *    buffering with full barriers on both sides.  A read of false is
 *    stale only against a store of true whose owner has not yet seen the
 *    flush's value of the role, which the interleaving of that read
 *    before the store gives.  Read stale or not, the flag only decides
 *    who goes first, never who may poll (the comment in bhq_poll.c): P1
 *    to P5 hold whatever the flush reads; P6 needs the above.
 * The plain llist_empty() reads before llist_del_all() (carve, drain)
 * follow the holder's fully ordered cmpxchg() or dequeue; an empty read
 * only leaves the list for a later poll, and is merged with the xchg.
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
 *     waits for is done: ghost @lpend holds the BHs whose schedule is made
 *     (added to the list, or coalesced onto a BH on the list) and not yet
 *     dequeued, @running the callbacks running; a flush takes a snapshot
 *     of both when it adds its barrier (@wpend, @wrun), each dequeue and
 *     each return clears its bit there, and the flush asserts both empty
 *     when it returns.  So every BH scheduled before the flush has been
 *     dequeued (run, or skipped when cancelled), and every callback that
 *     was running has returned: A's until it returns, also when its
 *     nested poll met the barrier; X's first run even when X is pending
 *     again.  A schedule that coalesces onto an add in progress (another
 *     schedule of the BH set PENDING and has not called llist_add() yet,
 *     ghost @xadding) is made only by that add: -DFLUSH_WAITS_FOR_COALESCED.
 *  P3 cancel_sync: when it returns, X's callback is not running
 *     (CANCEL_OK, asserted at the return; @running: from the dequeue that
 *     finds SCHEDULED to the return of the callback), and afterwards a
 *     dequeue runs X only for a schedule of X that took effect after the
 *     return (ghost @xok: SCHEDULED set by a schedule whose try_cmpxchg
 *     follows @cs_ret, cleared by each dequeue of X; asserted at the
 *     dequeue).  Every schedule that took effect before the return, from
 *     the scheduler or from X's own callback, was undone by the cancel or
 *     refused by the disable count; so was every schedule that returned
 *     before cancel_sync did.  A schedule still under way at the return
 *     may take effect after it: -DLATE_AT_CALL.
 *  P4 the owner never reports a misuse (@owner_misuse: it met a value that
 *     is neither 0 nor borrowed, the destroy's claim included), and never
 *     waits for ever (the end-state check, the ltl claim): a borrower's
 *     release wakes it.
 *  P5 destroy, FREE_OK: when the destroyer frees the context, no task has
 *     a poll active and the owner may not touch the context any more
 *     (@ocall, from its call of bhq_poll() to its last access, the release
 *     of the role after its poll); and the owner never touches the context
 *     after it was freed (asserted at its cmpxchg and its store of
 *     owner_waits).
 *  P6 the owner's wait is bounded: once the owner set owner_waits in a
 *     bhq_poll() call (ghost @owset, until it takes the role), at most
 *     NWAIT (2) borrowed polls take the role before it does (ghost @owp,
 *     counted at each take, asserted): at most one per flushing task (the
 *     flusher, cancel_sync's flush) that read owner_waits before it was
 *     set.  Its read after its own borrowed poll sees the flag (see
 *     "Memory model"), so it waits for the owner's poll to run its
 *     barrier.
 *
 * Variants (tools/model/spin-check.sh knows which must pass and which fail):
 *
 *  -DNFLUSH=2, the flusher flushes twice: P6 with one more flush, enough
 *	for -DOWNER_CLEARS_WAITS_BEFORE_RETRY to break it (with one, it
 *	cannot: a flush borrows the role at most twice).  Must hold, as must
 *	-DNSCHED=n, -DNSELF=n, -DNPOLL=n for other bounds.
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
 *  -DCANCEL_SYNC_NO_BACKOUT, a schedule ignores the disable count (the
 *	code before it): X's callback, running when cancel_sync starts,
 *	schedules X again after the cancel cleared SCHEDULED; X is added
 *	behind cancel_sync's barrier, which runs first, and X runs after
 *	cancel_sync returned: P3.
 *  -DBARRIER_IN_NESTED, a nested poll runs the barrier instead of putting
 *	it back: the flush returns while A's callback, whose nested poll ran
 *	the barrier, still runs: P2 (wpend, wrun).
 *  -DPOLL_WITHOUT_OWNERSHIP, the flusher polls without taking the role (as
 *	the code before "Ownership" did): the owner takes it meanwhile and
 *	both poll: P1.
 *  -DDESTROY_WITHOUT_CLAIM, destroy drains and frees without
 *	bhq_ctx_claim(): it polls with the owner's returning poll, or frees
 *	the context under it: P1 or P5.
 *  -DOWNER_CLEARS_WAITS_BEFORE_RETRY, bhq_poll_enter_manual() clears
 *	owner_waits after each wait, before its next cmpxchg (the code before
 *	the destroy contract).  The owner meets the flusher's poll (A's
 *	nested poll in it put both barriers back) and sets the flag;
 *	cancel_sync's flush, then the flusher again, had read it clear before
 *	and borrow the role in turn (two polls: the bound; the flusher's
 *	cmpxchg comes after the other poll ran its barrier, which
 *	completion_done() did not see yet); the flusher's next flush reads
 *	the flag set and waits, but the owner, woken, clears it before its
 *	cmpxchg, and that flush borrows a third time: P6.  With -DNFLUSH=2;
 *	with one flush it holds: no task is left to borrow a third time.
 *  -DLATE_AT_CALL, not a bug of the C code but the limit of what any code
 *	can do: P3 read literally, "unless X was scheduled by a schedule that
 *	started after cancel_sync returned", with the start at the call of
 *	the schedule (a ghost step before its try_cmpxchg loop).  The
 *	scheduler calls bhq_bh_schedule(X), cancel_sync runs from start to
 *	return, then the schedule takes effect and X runs: P3.  In C its
 *	atomic_read() may even come before cancel_sync started: the
 *	re-enable gives the flags back the value it read (an ABA), and its
 *	try_cmpxchg succeeds.  No code can refuse a schedule whose call
 *	overlaps the return; what cancel_sync guarantees is P3 as checked: a
 *	schedule that took effect, or returned, before it returned never
 *	runs X afterwards.
 *  -DFLUSH_WAITS_FOR_COALESCED, not a bug of the changes modelled here but
 *	a gap in bhq_ctx_flush()'s kernel-doc ("every BH scheduled before the
 *	call has run"): P2 counts a schedule that coalesced onto an add in
 *	progress as made when it returns.  The scheduler's try_cmpxchg sets
 *	PENDING on X, X's callback schedules X again (it finds PENDING: it
 *	returns at once), a flush adds its barrier, and only then does the
 *	scheduler's llist_add() put X behind the barrier: the flush returns
 *	before X is dequeued (P2).  (Spin's trail shows it with cancel_sync's
 *	flush, whose X is cancelled anyway; the flusher's is the same.)
 *  -DGO_WHILE_OWNER_WAITS, not a bug of the C code but its contract: a
 *	callback run by a flush starts the destroy while the owner waits in
 *	bhq_poll_enter() for that flush (what the contract allowed before
 *	ctx->entering was removed).  The flush releases the role and returns,
 *	destroy claims the role, drains and frees while the woken owner is
 *	still inside bhq_poll() (P5, FREE_OK), before its next cmpxchg,
 *	which would touch the freed context (P5) and meet the claim (P4).
 */

#ifndef NPOLL
#define NPOLL		2	/* the owner calls bhq_poll() at most this often */
#endif
#ifndef NFLUSH
#define NFLUSH		1	/* the flusher calls bhq_ctx_flush() this often */
#endif
#ifndef NSCHED
#define NSCHED		2	/* the scheduler schedules X this often */
#endif
#ifndef NSELF
#define NSELF		1	/* X's callbacks schedule X at most this often */
#endif
#define NWAIT		2	/* P6: a borrowed poll per flushing task */

/* BHs; a set of BHs is a bit mask. */
#define A		0	/* schedules Y, may call bhq_poll() (nesting) */
#define X		1	/* cancel_sync cancels it; schedules itself */
#define Y		2	/* A's callback schedules it */
#define FB		3	/* the flusher's barrier */
#define CB		4	/* the barrier of cancel_sync's flush */
#define NBH		5
#define BIT(b)		(1 << (b))

/* kmod/bhq_internal.h; the other bits play no part in this protocol. */
#define PENDING		1	/* BHQ_BH_PENDING */
#define SCHEDULED	2	/* BHQ_BH_SCHEDULED */
#define BARRIER		4	/* BHQ_BH_BARRIER */
#define DISABLE_ONE	8	/* BHQ_BH_DISABLE_ONE: the count is flags >> 3 */

/* Tasks, and their values of ctx->poller: (task << 2) | tags. */
#define OWNER		1
#define FLUSHER		2
#define CANCELLER	3
#define DESTROYER	4
#define SCHEDULER	5	/* never polls */
#define BORROWED	1	/* BHQ_POLLER_BORROWED */
#define DYING		2	/* BHQ_POLLER_DYING */
#define TASKV(t)	((t) << 2)
#define TASK(v)		((v) >> 2)	/* bhq_poller_task() */

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
bit owner_waits;			/* @owner_waits */
/* struct completion::done of the barriers FB and CB */
byte done[2];
/* The owner's entry on the wait queue of &ctx->poller, its task state. */
bit wq;
bit ostate = RUNNING;

/* Ghosts, for the properties only. */
byte tdepth[SCHEDULER];	/* active polls of each task */
byte lpend;		/* BHs whose schedule is made and not dequeued */
byte running;		/* callbacks dequeued to run, not returned */
byte wpend[2];		/* what the flush of FB, of CB waits to be dequeued */
byte wrun[2];		/* ... and to return */
bit xadding;		/* a schedule of X set PENDING, not added it yet */
bit xok;		/* X's SCHEDULED set by a schedule made after @cs_ret */
byte nself;		/* schedules of X by X's callbacks */
bit ocall;		/* the owner is inside bhq_poll(), before its last access */
bit owset;		/* ... and set owner_waits, and has not taken the role */
byte owp;		/* borrowed polls taken since, in this bhq_poll() */
bit owner_misuse;	/* the owner met a value not 0 nor borrowed */
bit cs_ret;		/* bhq_bh_cancel_sync() returned */
bit owner_done, fl_done, sc_done;
bit go;			/* destroy may start, as far as the owner goes */
bit freed;		/* bhq_ctx_free() */

#define NPOLLERS	((tdepth[OWNER] > 0) + (tdepth[FLUSHER] > 0) + \
			 (tdepth[CANCELLER] > 0) + (tdepth[DESTROYER] > 0))
#define MUTEX_OK	(NPOLLERS <= 1)
#define FREE_OK		(!freed || (NPOLLERS == 0 && !ocall))
#define CANCEL_OK	(!cs_ret || !(running & BIT(X)))

/* Does task @me take the role to poll?  Not the flusher of old. */
#ifdef POLL_WITHOUT_OWNERSHIP
#define TAKES(me)	((me) != FLUSHER)
#else
#define TAKES(me)	1
#endif

/* Is a schedule of X made now one that P3 lets run after the return? */
#ifdef LATE_AT_CALL
#define LATE		st
#else
#define LATE		cs_ret
#endif

/* Does a schedule back out while a disable count is set? */
#ifdef CANCEL_SYNC_NO_BACKOUT
#define BACKS_OUT	0
#else
#define BACKS_OUT	1
#endif

/* A callback returns: ghosts only, merged into the step of the return. */
#define RETURNS(b) \
	running = running & ~BIT(b); \
	wrun[0] = wrun[0] & ~BIT(b); \
	wrun[1] = wrun[1] & ~BIT(b)

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
 * bhq_bh_schedule(X) (bhq_bh_schedule_flags()), from the scheduler or from
 * X's own callback.  Its try_cmpxchg loop is one step (see "Memory
 * model"): a disable count (cancel_sync under way) refuses the schedule,
 * which changes nothing; else PENDING | SCHEDULED are set and, if PENDING
 * was clear, llist_add() follows.  Uses the caller's locals t and st.
 */
inline schedule_x()
{
#ifdef LATE_AT_CALL
	/* the call (ghost): does it start after cancel_sync returned? */
	st = cs_ret;
#endif
	atomic {
		t = flags[X];
		if
		:: BACKS_OUT && t >= DISABLE_ONE ->
			/* refused (counted): as if it found X pending */
			t = PENDING
		:: !BACKS_OUT || t < DISABLE_ONE ->
			flags[X] = t | PENDING | SCHEDULED;
			xok = xok | LATE;
			if
			:: !(t & PENDING) ->
				xadding = 1
			:: (t & PENDING) && !xadding ->
				/* coalesced onto X on the list: made */
				lpend = lpend | BIT(X)
			:: else ->
				/* coalesced onto an add in progress */
#ifdef FLUSH_WAITS_FOR_COALESCED
				lpend = lpend | BIT(X)
#else
				skip
#endif
			fi
		fi
	}
	/* llist_add() unless it was pending: the schedule is made */
	if
	:: !(t & PENDING) ->
		atomic {
			pending!X;
			lpend = lpend | BIT(X);
			xadding = 0;
			t = 0
		}
	:: else ->
		t = 0
	fi
}

/*
 * bhq_bh_dispatch() after the dequeue, for BH b with old flags f, in a
 * poll by task me.  Uses the caller's locals b, f, t and st.
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
	:: (f & SCHEDULED) && b == X ->
		/* X's callback: "poll until done", it may schedule X again */
		if
		:: nself < NSELF ->
			nself++;
			schedule_x()
		:: true
		fi;
		/* the callback returns */
		atomic {
			RETURNS(X)
		}
	:: (f & SCHEDULED) && b == Y ->
		/* the callback returns */
		atomic {
			RETURNS(Y)
		}
	:: (f & SCHEDULED) && b == A ->
		/*
		 * A's callback.  It may tell the destroyer to go ahead when it
		 * runs in the owner's own poll: the owner then stops after its
		 * current call, the poll that destroy waits for.
		 */
		if
#ifndef GO_WHILE_OWNER_WAITS
		:: me == OWNER -> go = 1
#else
		:: me == OWNER || (ocall && owset) -> go = 1
#endif
		:: true
		fi;
		/* bhq_bh_schedule(Y): the try_cmpxchg (no disable count), */
		atomic {
			t = flags[Y];
			flags[Y] = t | PENDING | SCHEDULED
		}
		/* llist_add() unless it was pending; the schedule is made */
		atomic {
			if
			:: !(t & PENDING) -> pending!Y
			:: else
			fi;
			lpend = lpend | BIT(Y);
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
				RETURNS(A)
			}
		fi
	fi
}

/*
 * bhq_poll_owned() by task me, with the nested poll of A's callback in the
 * same loop at depth 2.  Uses the caller's locals b, f, t and st.
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
		lpend = lpend & ~BIT(b);
		wpend[0] = wpend[0] & ~BIT(b);
		wpend[1] = wpend[1] & ~BIT(b);
		if
		:: (f & SCHEDULED) && !(f & BARRIER) ->
			/*
			 * P3: after cancel_sync returned, X runs only for a
			 * schedule made after that
			 */
			assert(b != X || !cs_ret || xok);
			running = running | BIT(b)
		:: else
		fi;
		if
		:: b == X -> xok = 0
		:: else
		fi
	   }
	   dispatch(me)
	:: atomic {
		/* the nested poll returns, then A's callback */
		len(slices) == 0 && depth == 2 ->
		depth = 1;
		tdepth[me]--;
		RETURNS(A)
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
 * Uses the caller's locals b, f, t, st, polls, ow, took, woke, wqa.
 */
inline flush(me, bar)
{
	/*
	 * init_completion(); bhq_bh_init(); bhq_bh_schedule_flags(): its
	 * try_cmpxchg (the barrier is private: no disable count) and
	 * llist_add(), one step (nobody sees the barrier before the add)
	 */
	atomic {
		flags[bar] = BARRIER | PENDING | SCHEDULED;
		done[bar - FB] = 0;
		pending!bar;
		wpend[bar - FB] = lpend;
		wrun[bar - FB] = running
	}
	/* bhq_barrier_poll() */
	do
	:: done[bar - FB] > 0 ->
		/* completion_done() */
		break
	:: else ->
		/* READ_ONCE(ctx->owner_waits) */
		ow = owner_waits;
		/*
		 * If it read 0, bhq_poll_take(ctx, BHQ_POLLER_BORROWED).  A
		 * cmpxchg that fails while the barrier is not done is left
		 * out (see "time"): the step waits until the role is free or
		 * the barrier done.  P6 counts the polls that the owner waits
		 * through.
		 */
		atomic {
			if
			:: ow -> skip
			:: !ow && !TAKES(me) -> took = 1
			:: !ow && TAKES(me) && poller == 0 ->
				poller = TASKV(me) | BORROWED;
				took = 1;
				if
				:: owset ->
					owp++;
					assert(owp <= NWAIT)
				:: else
				fi
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
	/*
	 * P2: what was scheduled when it started has been dequeued (run or
	 * skipped), what was running has returned
	 */
	assert(wpend[bar - FB] == 0 && wrun[bar - FB] == 0);
	polls = 0;
	woke = 0
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
	bit st, waited;

	do
	:: atomic {
		!go && polls < NPOLL ->
		polls++;
		ocall = 1;
		owp = 0
	   }
		/*
		 * bhq_poll() -> __bhq_poll() -> bhq_poll_enter(): not nested
		 * (the nested poll of A's callback is in dispatch()), so
		 * bhq_poll_enter_manual(): its loop
		 */
		do
		:: atomic {
			/* cmpxchg(&ctx->poller, 0, current) */
			assert(!freed);
			v = poller;
			if
			:: v == 0 ->
				poller = TASKV(OWNER);
				owset = 0
			:: else
			fi
		   }
		   if
		   :: v == 0 ->
			/* entered */
			break
		   :: v & BORROWED ->
			/* WRITE_ONCE(ctx->owner_waits, true) */
			atomic {
				assert(!freed);
				owner_waits = 1;
				owset = 1;
				waited = 1
			}
			wait_var_event()
#ifdef OWNER_CLEARS_WAITS_BEFORE_RETRY
			;
			/* WRITE_ONCE(ctx->owner_waits, false), before the retry */
			owner_waits = 0;
			waited = 0
#endif
		   :: else ->
			/*
			 * BHQ_POLLER_DYING or another task: the misuse of
			 * bhq_poll_misuse_busy(), never under the contract
			 */
			owner_misuse = 1;
			assert(!owner_misuse)
		   fi
		od;
		/* WRITE_ONCE(ctx->owner_waits, false), once the role is ours */
		if
		:: waited ->
			owner_waits = 0;
			waited = 0
		:: else
		fi;
		poll_owned(OWNER);
		/*
		 * depth 0: bhq_poll_release(), not borrowed: a store, the
		 * owner's last access
		 */
		atomic {
			assert(poller == TASKV(OWNER));
			poller = 0;
			ocall = 0;
			v = 0
		}
	:: break
	od;
	/* the owner will not poll again */
	atomic {
		owner_done = 1;
		go = 1
	}
}

/* bhq_ctx_flush() from another task, NFLUSH times */
proctype flusher()
{
	byte b, f, t, n, polls;
	bit st, ow, took, woke, wqa;

	do
	:: n < NFLUSH ->
		flush(FLUSHER, FB);
		n++
	:: else ->
		break
	od;
	fl_done = 1
}

/* bhq_bh_cancel_sync(X) from another task */
proctype canceller()
{
	byte b, f, t, polls;
	bit st, ow, took, woke, wqa, busy;

#ifdef CANCEL_SYNC_NO_CHECK_ORDER
	busy = (poller != 0);
#endif
	/*
	 * One try_cmpxchg loop: the disable count + 1, and SCHEDULED (and
	 * NONIDLE) cleared, bhq_bh_cancel()'s part
	 */
	atomic {
		flags[X] = (flags[X] + DISABLE_ONE) & ~SCHEDULED;
		xok = 0
	}
#ifndef CANCEL_SYNC_NO_CHECK_ORDER
	/* smp_load_acquire(&ctx->poller) */
	busy = (poller != 0);
#endif
	if
	:: busy -> flush(CANCELLER, CB)
	:: else
	fi;
	/*
	 * atomic_sub_return_release(BHQ_BH_DISABLE_ONE, &bh->flags), the
	 * last access: the return.  P3: X's callback is not running.
	 */
	atomic {
		flags[X] = flags[X] - DISABLE_ONE;
		cs_ret = 1;
		assert(CANCEL_OK)
	}
}

/* bhq_bh_schedule(X) from another task, NSCHED times */
proctype scheduler()
{
	byte t, n;
	bit st;

	do
	:: n < NSCHED ->
		schedule_x();
		n++
	:: else ->
		break
	od;
	sc_done = 1
}

/* bhq_ctx_destroy() of the manual context, from another task */
proctype destroyer()
{
	byte b, f, t;
	bit st;

	/* the contract: nothing else under way, the owner polls no more */
	go && fl_done && cs_ret && sc_done;
#ifndef DESTROY_WITHOUT_CLAIM
	/*
	 * bhq_ctx_claim(): cmpxchg(0 -> current | BHQ_POLLER_DYING), else
	 * sleep a jiffy; the role is never released
	 */
	atomic {
		poller == 0 ->
		poller = TASKV(DESTROYER) | DYING
	}
#endif
	/* bhq_ctx_drain() */
	do
	:: len(pending) > 0 -> poll_owned(DESTROYER)
	:: else -> break
	od;
	/* bhq_ctx_free() */
	atomic {
		freed = 1;
		assert(FREE_OK)
	}
}

/* P1, P5: invariants, checked in every reachable state. */
proctype monitor()
{
end:	atomic {
		!(MUTEX_OK && FREE_OK) ->
		assert(MUTEX_OK);
		assert(FREE_OK)
	}
}

init {
	atomic {
		flags[A] = PENDING | SCHEDULED;
		flags[X] = PENDING | SCHEDULED;
		lpend = BIT(A) | BIT(X);
		if
		:: pending!A; pending!X
		:: pending!X; pending!A
		fi;
		run monitor();
		run owner();
		run flusher();
		run canceller();
		run scheduler();
		run destroyer()
	}
}

/* P2, P4 for every run (pan -a): every task gets done. */
ltl terminates { <> (owner_done && fl_done && cs_ret && sc_done && freed) }
