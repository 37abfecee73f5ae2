#!/usr/bin/env bash
# Two overlapping renew runs never both order: the second exits 75 while
# the first holds the lock; lock released on exit (even on SIGKILL).
. "$(dirname "$0")/lib.sh"
kk_setup
kk_server_start
kk_token op1
out="$KK_TMP/out-a"
kk_enroll_approved host-a "$out"
before=$(kk_op list --status valid --json | grep -c '"id"' || true)

step "a held lock makes renew exit 75 without ordering"
exec 9>"$KAKUIN_STATE_DIR/lock"
flock -n 9 || fail "cannot take the lock in the test"
old=$(kk_serial "$out")
kk 75 renew --force
grep -q "another kakuin run" "$KK_TMP/err" || fail "75 without saying why"
[ "$(kk_serial "$out")" = "$old" ] || fail "renewed despite the lock"
[ ! -e "$KAKUIN_STATE_DIR/certs/host-a/pending.json" ] || fail "ordered despite the lock"
exec 9>&-

step "two renew --force started together: exactly one orders"
"$KAKUIN_CLIENT_BIN" renew --force >"$KK_TMP/r1" 2>&1 & p1=$!
"$KAKUIN_CLIENT_BIN" renew --force >"$KK_TMP/r2" 2>&1 & p2=$!
rc1=0; rc2=0
wait "$p1" || rc1=$?
wait "$p2" || rc2=$?
codes=$(printf '%s\n' "$rc1" "$rc2" | sort | tr '\n' ' ')
[ "$codes" = "0 75 " ] || fail "exit codes $rc1 and $rc2, expected 0 and 75"
[ "$(grep -c 'ordered a certificate' "$KK_TMP/r1" "$KK_TMP/r2" |
    awk -F: '{s += $2} END {print s}')" -eq 1 ] || fail "both runs ordered"
kk_pair_ok "$out"

step "a run killed while holding the lock does not leave it behind"
# The install steps run under the lock; SIGKILL there is the worst case.
rc=0
KAKUIN_TEST_CRASH_AT=files "$KAKUIN_CLIENT_BIN" renew --force \
    >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 137 ] || fail "expected SIGKILL (137) inside the lock, got $rc"
kk 0 renew
echo PASS
