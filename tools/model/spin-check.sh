#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Model-check bhq's protocols with spin, each model and its variants against
# their expected outcome: tools/model/bhq_protocol.pml, the schedule / poll /
# non-idle flag / sleep / wakeup protocol of kmod/bhq_queue.c,
# kmod/bhq_poll.c and kmod/bhq_ctx.c, with the thread's polling before it
# sleeps (bhq_poll_spin()); tools/model/bhq_ownership.pml, the poll role
# of a manual context (its owner's polls, a flush that borrows the role,
# cancel_sync with its disable count against concurrent and
# self-rescheduling schedules, destroy) in kmod/bhq_poll.c and
# kmod/bhq_queue.c.  A model that must hold gets
# a safety run (assertions, invariants, end states) and a run of its ltl
# claim (pan -a); a broken variant must make the safety run report an
# error.  Takes two minutes or so.  Ends with "N passed, N failed", where
# passed means "as expected", and exits non-zero on any surprise; the logs
# and the error trails of a failed run stay in $BHQ_CACHE/spin.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

ensure_pkgs spin gcc

protocol_model=$BHQ_TOP/tools/model/bhq_protocol.pml
ownership_model=$BHQ_TOP/tools/model/bhq_ownership.pml
for model in "$protocol_model" "$ownership_model"; do
	[ -f "$model" ] || die "no model at $model"
done
mkdir -p "$BHQ_CACHE/spin"
work=$(mktemp -d "$BHQ_CACHE/spin/run.XXXXXX")
depth=100000

passed=0
failed=0

# use_model FILE: the model that check() verifies from now on; sets
# $model, $model_file (its name, which pan also gives the trail) and
# $ltl_name (its ltl claim).
use_model() {
	model=$1
	model_file=$(basename "$model")
	ltl_name=$(sed -n 's/^ltl \([A-Za-z0-9_]*\).*/\1/p' "$model" | head -n 1)
	say "spin $(spin -V | sed -n 's/^Spin Version \([^ ]*\).*/\1/p'): $model (work dir $work)"
}

# Milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# result OK LINE...: print a PASS or FAIL line and count it.
result() {
	if [ "$1" -eq 1 ]; then
		passed=$((passed + 1))
		printf 'PASS %s\n' "$2"
	else
		failed=$((failed + 1))
		printf 'FAIL %s\n' "$2"
	fi
}

# What the first error of a pan log is about (the property numbers are
# those of the header of $model_file).
what_failed() {
	local line
	line=$(grep -m 1 -E '^pan:[0-9]+: ' "$1" || true)
	case $model_file:$line in
	*'max search depth too small'*)	echo "search depth $depth too small" ;;
	bhq_protocol.pml:*'invalid end state'*)
		echo "P2: the thread is stuck (invalid end state)" ;;
	bhq_protocol.pml:*'acceptance cycle'*)
		echo "P1: ltl no_lost_bh (acceptance cycle)" ;;
	bhq_ownership.pml:*'invalid end state'*)
		echo "P2/P4: a task waits for ever (invalid end state)" ;;
	bhq_ownership.pml:*'acceptance cycle'*)
		echo "P2/P4: ltl terminates (acceptance cycle)" ;;
	*in_carve*)			echo "P3: invariant FLAG_OK" ;;
	*'tsleep!=3'*)			echo "P2: invariant SLEEP_INF_OK" ;;
	*'tsleep==0'*)			echo "P3: invariant SLEEP_IDLE_OK" ;;
	*'owed==0'*)			echo "P1: a BH is left in the quiescent state" ;;
	*'!(freed)||'*)			echo "P5: invariant FREE_OK, freed under a poll" ;;
	*'!(freed)'*)			echo "P5: the owner touches the freed context" ;;
	*'tdepth['*)			echo "P1: invariant MUTEX_OK, two tasks poll" ;;
	*'polls<=2'*)			echo "P2: the flush never stops polling (polls <= 2)" ;;
	*'wpend['*)			echo "P2: the flush returned before what it waits for" ;;
	*'xok'*)			echo "P3: X runs after cancel_sync for a schedule made before it returned" ;;
	*'cs_ret'*)			echo "P3: X's callback runs when cancel_sync returns (CANCEL_OK)" ;;
	*'owner_misuse'*)		echo "P4: the owner reports a misuse" ;;
	*'owp<='*)			echo "P6: the owner waits through more than 2 borrowed polls" ;;
	*:)				echo "no error reported" ;;
	*)				echo "${line#pan:*: }" ;;
	esac
}

# Fields of a pan log: "errors: N" and "N states, stored"; empty if pan
# did not finish.
errors_of() { sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$1" | tail -n 1; }
states_of() { sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$1" | tail -n 1; }

# Did the pan run of log $1 finish and explore everything?
complete() {
	[ -n "$(errors_of "$1")" ] && ! grep -q 'max search depth too small' "$1"
}

# build DIR NAME CFLAGS...: compile DIR/pan.c into DIR/pan-NAME.
build() {
	local dir=$1 name=$2
	shift 2
	(cd "$dir" && gcc -w "$@" -o "pan-$name" pan.c) >"$dir/gcc-$name.log" 2>&1 || {
		tail -n 20 "$dir/gcc-$name.log" >&2
		return 1
	}
}

# run DIR NAME PANFLAGS...: run DIR/pan-NAME, output in DIR/NAME.log.  pan
# writes the trail of an error, $model_file.trail, into DIR.
run() {
	local dir=$1 name=$2
	shift 2
	(cd "$dir" && "./pan-$name" -m"$depth" "$@") >"$dir/$name.log" 2>&1 || true
}

# replay DIR [SPIN_DEFINES...]: the error trail of DIR, step by step, into
# DIR/trail.txt; prints where it is and how to replay it again.
replay() {
	local dir=$1
	shift
	(cd "$dir" && spin "$@" -t -p -g "$model_file") >"$dir/trail.txt" 2>&1 || true
	printf '%s/trail.txt (cd %s && spin %s-t -p -g %s)' \
		"$dir" "$dir" "${*:+$* }" "$model_file"
}

# check NAME EXPECT [SPIN_DEFINES...]: verify one variant of the model.
# EXPECT is "hold" (no error in the safety run nor in the ltl run), "safe"
# (no error in the safety run) or "fail" (the safety run reports one).
check() {
	local name=$1 expect=$2 dir=$work/$1 start ltl_pid="" opt
	local errs states ltl_errs ltl_states
	shift 2
	start=$(now_ms)
	mkdir -p "$dir"
	# A copy beside the trail, so that "spin -t" replays what was checked.
	cp "$model" "$dir/"
	if ! (cd "$dir" && spin "$@" -a "$model_file") >"$dir/spin.log" 2>&1; then
		cat "$dir/spin.log" >&2
		result 0 "$name: spin -a failed"
		return 0
	fi
	# A broken variant's safety run stops at its first error, sooner than
	# pan.c is optimised: -O0.  The full searches, of millions of states,
	# get -O2; the ltl run's pan is built meanwhile.
	if [ "$expect" = hold ]; then
		build "$dir" ltl -O2 &
		ltl_pid=$!
	fi
	opt=-O2
	[ "$expect" != fail ] || opt=-O0
	build "$dir" safety "$opt" -DSAFETY -DNOCLAIM && run "$dir" safety
	errs=$(errors_of "$dir/safety.log")
	states=$(states_of "$dir/safety.log")
	if ! complete "$dir/safety.log"; then
		[ -z "$ltl_pid" ] || wait "$ltl_pid" || true
		tail -n 20 "$dir/safety.log" >&2
		result 0 "$name: the safety run did not complete: $(what_failed "$dir/safety.log")"
		return 0
	fi
	if [ "$expect" = fail ]; then
		if [ "$errs" -ge 1 ]; then
			result 1 "$name: fails as it must, $(what_failed "$dir/safety.log"); $states states ($(($(now_ms) - start)) ms)"
		else
			result 0 "$name: the broken variant shows no error; $states states"
		fi
		return 0
	fi
	if [ "$errs" -ne 0 ]; then
		[ -z "$ltl_pid" ] || wait "$ltl_pid" || true
		result 0 "$name: $errs error(s), first $(what_failed "$dir/safety.log"); $states states; trail: $(replay "$dir" "$@")"
		return 0
	fi
	if [ "$expect" = safe ]; then
		result 1 "$name: 0 errors; $states states ($(($(now_ms) - start)) ms)"
		return 0
	fi
	if ! wait "$ltl_pid"; then
		result 0 "$name: could not build pan for the ltl run"
		return 0
	fi
	run "$dir" ltl -a
	ltl_errs=$(errors_of "$dir/ltl.log")
	ltl_states=$(states_of "$dir/ltl.log")
	if ! complete "$dir/ltl.log" || [ "$ltl_errs" -ne 0 ]; then
		result 0 "$name: ltl run: ${ltl_errs:-?} error(s), first $(what_failed "$dir/ltl.log"); trail: $(replay "$dir" "$@")"
		return 0
	fi
	result 1 "$name: 0 errors; $states states (safety), $ltl_states states (ltl $ltl_name) ($(($(now_ms) - start)) ms)"
}

start=$(now_ms)
use_model "$protocol_model"
# The model of kmod/bhq_queue.c as it is (REREAD_AFTER_ADD=1 by default).
check bhq hold
# Without the coalescing fix, bhq_nonidle_while_adding().
check no-reread fail -DREREAD_AFTER_ADD=0
# Broken variants, on top of the fix so that each fails for its own bug.
check naive-clear fail -DREREAD_AFTER_ADD=1 -DNAIVE_CLEAR
# The same with A's callback as the only non-idle schedule: the review's
# case.  (A restriction of "reread": its runs are runs of "reread".)
check callback safe -DREREAD_AFTER_ADD=1 -DIDLE_SCHEDULERS
check naive-clear-callback fail -DREREAD_AFTER_ADD=1 -DIDLE_SCHEDULERS -DNAIVE_CLEAR
check late-state fail -DREREAD_AFTER_ADD=1 -DLATE_STATE
check no-flag-kick fail -DREREAD_AFTER_ADD=1 -DNO_FLAG_KICK
# The polling before the sleep: a thread that sleeps without the re-check
# after it, and one that releases the poll role after the re-check.
check spin-no-recheck fail -DREREAD_AFTER_ADD=1 -DSPIN_NO_RECHECK
check spin-late-release fail -DREREAD_AFTER_ADD=1 -DSPIN_LATE_RELEASE

use_model "$ownership_model"
# The model of kmod/bhq_poll.c and kmod/bhq_queue.c as they are: the
# destroy contract (no flush or cancel_sync under way, the owner polls no
# more), owner_waits kept until the owner has the role, cancel_sync's
# disable count.
check ownership hold
# One more flush, enough for own-owner-clears-waits-before-retry to fail:
# the bound on the owner's wait (P6) must still hold.
check own-two-flushes safe -DNFLUSH=2
# Broken variants, each a bug the C code once had or could have.
check own-loop-after-wait fail -DLOOP_AFTER_WAIT
check own-no-borrow-wake fail -DNO_BORROW_WAKE
check own-wake-without-mb fail -DWAKE_WITHOUT_MB
check own-cancel-sync-no-check-order fail -DCANCEL_SYNC_NO_CHECK_ORDER
check own-cancel-sync-no-backout fail -DCANCEL_SYNC_NO_BACKOUT
check own-barrier-in-nested fail -DBARRIER_IN_NESTED
check own-poll-without-ownership fail -DPOLL_WITHOUT_OWNERSHIP
check own-destroy-without-claim fail -DDESTROY_WITHOUT_CLAIM
check own-owner-clears-waits-before-retry fail -DOWNER_CLEARS_WAITS_BEFORE_RETRY -DNFLUSH=2
# Not bugs but limits: a schedule whose call overlaps cancel_sync's return
# may take effect after it; a schedule that coalesced onto another's add
# in progress is not waited for by a flush that starts before that add;
# a callback run by a flush must not start the destroy.
check own-late-at-call fail -DLATE_AT_CALL
check own-flush-waits-for-coalesced fail -DFLUSH_WAITS_FOR_COALESCED
check own-go-while-owner-waits fail -DGO_WHILE_OWNER_WAITS

say "spin-check: $(($(now_ms) - start)) ms"
printf '%d passed, %d failed\n' "$passed" "$failed"
if [ "$failed" -ne 0 ]; then
	say "logs and trails kept in $work"
	exit 1
fi
rm -rf "$work"
