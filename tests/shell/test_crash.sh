#!/usr/bin/env bash
# SIGKILL during a renewal at every installation step (KAKUIN_TEST_CRASH_AT,
# honoured only by the install code) and at random moments leaves a
# matching, verifying key and certificate installed, and the next run
# completes.
. "$(dirname "$0")/lib.sh"
kk_setup
kk_server_start
kk_token op1
out="$KK_TMP/out-a"
kk_enroll_approved host-a "$out"

for at in files set previous live links; do
	step "killed after step '$at'"
	old=$(kk_serial "$out")
	rc=0
	KAKUIN_TEST_CRASH_AT=$at "$KAKUIN_CLIENT_BIN" renew --force \
	    >"$KK_TMP/out" 2>&1 || rc=$?
	[ "$rc" -eq 137 ] || fail "expected SIGKILL (137) at $at, got $rc"
	kk_pair_ok "$out"
	case $at in
	files | set | previous) [ "$(kk_serial "$out")" = "$old" ] ||
	    fail "new certificate live before the live link moved ($at)" ;;
	*) [ "$(kk_serial "$out")" != "$old" ] ||
	    fail "old certificate still live after the live link moved ($at)" ;;
	esac
	[ -s "$KAKUIN_STATE_DIR/certs/host-a/pending.json" ] ||
	    fail "pending order lost at $at"
	step "next run completes"
	kk 0 renew
	kk_pair_ok "$out"
	[ ! -e "$KAKUIN_STATE_DIR/certs/host-a/pending.json" ] ||
	    fail "pending order not finished after $at"
	[ "$(kk_serial "$out")" != "$old" ] || fail "no new certificate after $at"
	[ -z "$(ls -A "$out/.sets" | grep '^\.tmp-' || true)" ] ||
	    fail "temporary set left behind after $at"
done

step "killed at random moments"
for delay in 0.05 0.1 0.15 0.2 0.3 0.4; do
	"$KAKUIN_CLIENT_BIN" renew --force >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	kk_pair_ok "$out"
	kk 0 renew
	kk_pair_ok "$out"
done
[ "$(ls "$out/.sets" | wc -l)" -le 2 ] || fail "old sets not pruned: $(ls "$out/.sets")"
echo PASS
