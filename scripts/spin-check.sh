#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Model-check the schedule / poll / non-idle flag / sleep / wakeup protocol
# of kmod/bhq_queue.c and kmod/bhq_ctx.c with spin: kmod/bhq_protocol.pml
# and its variants, each against its expected outcome.  A model that must
# hold gets a safety run (assertions, invariants, end states) and a run of
# its ltl claim (pan -a); a broken variant must make the safety run report
# an error.  Takes a few seconds.  Ends with "N passed, N failed", where
# passed means "as expected", and exits non-zero on any surprise.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ensure_pkgs spin gcc

model=$BHQ_TOP/kmod/bhq_protocol.pml
[ -f "$model" ] || die "no model at $model"
mkdir -p "$BHQ_CACHE/spin"
work=$(mktemp -d "$BHQ_CACHE/spin/run.XXXXXX")
depth=100000

passed=0
failed=0

# Nanoseconds since the epoch.
now() { date +%s%N; }

# Which property the first error of a pan log is about.
what_failed() {
	local line
	line=$(grep -m 1 -E '^pan:[0-9]+: ' "$1" || true)
	case $line in
	*'max search depth too small'*)	echo "search depth $depth too small" ;;
	*'invalid end state'*)		echo "P2: the thread is stuck (invalid end state)" ;;
	*'acceptance cycle'*)		echo "P1: ltl no_lost_bh (acceptance cycle)" ;;
	*in_carve*)			echo "P3: invariant FLAG_OK" ;;
	*'tsleep!=3'*)			echo "P2: invariant SLEEP_INF_OK" ;;
	*'tsleep==0'*)			echo "P3: invariant SLEEP_IDLE_OK" ;;
	*'owed==0'*)			echo "P1: a BH is left in the quiescent state" ;;
	'')				echo "no error line" ;;
	*)				echo "${line#pan:*: }" ;;
	esac
}

# The count of a "NAME: N" or "N NAME" field of a pan log.
errors_of() { sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$1" | tail -n 1; }
states_of() { sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$1" | tail -n 1; }

# pan_run DIR NAME CFLAGS -- PANFLAGS: compile pan.c of DIR and run it;
# its output is in DIR/NAME.log.  pan.c takes longer to optimise than the
# safety runs take without it, so only the ltl run passes -O2.
pan_run() {
	local dir=$1 name=$2 cflags=() arg
	shift 2
	while [ "$#" -gt 0 ]; do
		arg=$1; shift
		[ "$arg" = -- ] && break
		cflags+=("$arg")
	done
	(cd "$dir" && gcc -w "${cflags[@]}" -o "pan-$name" pan.c) \
		>"$dir/gcc-$name.log" 2>&1 || {
		tail -n 20 "$dir/gcc-$name.log" >&2
		return 1
	}
	# pan writes its trail, bhq_protocol.pml.trail, into DIR.
	(cd "$dir" && "./pan-$name" -m"$depth" "$@") >"$dir/$name.log" 2>&1
}

# replay DIR [SPIN_DEFINES...]: the error trail of DIR, step by step, into
# DIR/trail.txt; prints how to see it.
replay() {
	local dir=$1
	shift
	(cd "$dir" && spin "$@" -t -p -g bhq_protocol.pml) >"$dir/trail.txt" 2>&1 || true
	printf '%s/trail.txt (cd %s && spin %s-t -p -g bhq_protocol.pml)' \
		"$dir" "$dir" "${*:+$* }"
}

# check NAME EXPECT [SPIN_DEFINES...]: verify one variant of the model.
# EXPECT is "hold" (no error in either run) or "fail" (the safety run
# reports at least one).
check() {
	local name=$1 expect=$2 dir=$work/$1 start errs states ltl_states what
	shift 2
	start=$(now)
	mkdir -p "$dir"
	# A copy beside the trail, so that "spin -t" replays what was checked.
	cp "$model" "$dir/"
	if ! (cd "$dir" && spin "$@" -a bhq_protocol.pml) >"$dir/spin.log" 2>&1; then
		cat "$dir/spin.log" >&2
		printf 'FAIL %s: spin -a failed\n' "$name"
		failed=$((failed + 1))
		return 0
	fi

	pan_run "$dir" safety -O0 -DSAFETY -DNOCLAIM -- || true
	errs=$(errors_of "$dir/safety.log")
	states=$(states_of "$dir/safety.log")
	what=$(what_failed "$dir/safety.log")
	if grep -q 'max search depth too small' "$dir/safety.log"; then
		errs=${errs:-0}
		printf 'FAIL %s: %s\n' "$name" "$what"
		failed=$((failed + 1))
		return 0
	fi
	if [ -z "$errs" ]; then
		tail -n 20 "$dir/safety.log" >&2
		printf 'FAIL %s: pan did not finish\n' "$name"
		failed=$((failed + 1))
		return 0
	fi

	case $expect in
	fail)
		if [ "$errs" -ge 1 ]; then
			printf 'PASS %s: fails as it must: %s; %s states (%d ms)\n' \
				"$name" "$what" "$states" $((($(now) - start) / 1000000))
			passed=$((passed + 1))
		else
			printf 'FAIL %s: broken variant shows no error; %s states\n' \
				"$name" "$states"
			failed=$((failed + 1))
		fi
		return 0
		;;
	esac

	if [ "$errs" -ne 0 ]; then
		printf 'FAIL %s: %s error(s), first: %s; %s states; trail: %s\n' \
			"$name" "$errs" "$what" "$states" "$(replay "$dir" "$@")"
		failed=$((failed + 1))
		return 0
	fi
	pan_run "$dir" ltl -O2 -- -a || true
	errs=$(errors_of "$dir/ltl.log")
	ltl_states=$(states_of "$dir/ltl.log")
	if [ "${errs:-x}" != 0 ] || grep -q 'max search depth too small' "$dir/ltl.log"; then
		printf 'FAIL %s: ltl run: %s error(s), first: %s; trail: %s\n' \
			"$name" "${errs:-?}" "$(what_failed "$dir/ltl.log")" \
			"$(replay "$dir" "$@")"
		failed=$((failed + 1))
		return 0
	fi
	printf 'PASS %s: 0 errors; %s states (safety), %s states (ltl no_lost_bh) (%d ms)\n' \
		"$name" "$states" "$ltl_states" $((($(now) - start) / 1000000))
	passed=$((passed + 1))
}

say "spin $(spin -V | sed -n 's/^Spin Version \([^ ]*\).*/\1/p'): $model (work dir $work)"
# The model as kmod/bhq_queue.c is: must hold.
check bhq hold
# The coalescing fix (see REREAD_AFTER_ADD in the model) on and off.  Once
# bhq_queue.c has the fix and the model's default follows, "bhq" is the
# first of these two.
check reread hold -DREREAD_AFTER_ADD=1
check no-reread fail -DREREAD_AFTER_ADD=0
# Broken variants, on top of the fix so that each fails for its own bug.
check naive-clear fail -DREREAD_AFTER_ADD=1 -DNAIVE_CLEAR
# The same with only A's callback scheduling non-idle: the review's case.
check callback hold -DREREAD_AFTER_ADD=1 -DIDLE_SCHEDULERS
check naive-clear-callback fail -DREREAD_AFTER_ADD=1 -DIDLE_SCHEDULERS -DNAIVE_CLEAR
check late-state fail -DREREAD_AFTER_ADD=1 -DLATE_STATE
check no-flag-kick fail -DREREAD_AFTER_ADD=1 -DNO_FLAG_KICK

printf '%d passed, %d failed\n' "$passed" "$failed"
if [ "$failed" -ne 0 ]; then
	say "logs and trails kept in $work"
	exit 1
fi
rm -rf "$work"
