#!/usr/bin/env bash
# A failed renewal is told to the failure hook (name, exit code, the
# server's problem, through the environment and "$1" "$2", never through
# a shell string made of server text, nothing appended to the command) and backs off: the next renew does not
# ask the CA before the recorded next attempt (exit 0, nothing due),
# --force does, a success resets it. status shows the last error and the
# next attempt. The failure hook can come from config.json.
. "$(dirname "$0")/lib.sh"
kk_setup
kk_server_start
kk_token op1
out="$KK_TMP/out-a"
kk_enroll_approved host-a "$out"
state="$KAKUIN_STATE_DIR/certs/host-a"

log="$KK_TMP/hook.log"
# Records its arguments (CMD NAME EXIT) and the variables, one per line.
hook="$KK_TMP/notify"
cat >"$hook" <<EOF
#!/bin/sh
printf 'args=%s\n' "\$*" >>$log
env | grep '^KAKUIN_' >>$log
EOF
chmod 0755 "$hook"
# Nothing is appended to the command: it passes "$1" "$2" on itself.
hookcmd="$hook \"\$1\" \"\$2\""

restart_server() {
	"$KAKUIN_SERVER_BIN" --data-dir "$KK_DATA" --listen "127.0.0.1:$KK_PORT" \
	    serve >/dev/null 2>"$KK_TMP/server2.log" &
	KK_SERVER_PID=$!
	KK_PIDS+=("$KK_SERVER_PID")
	for i in $(seq 1 100); do
		grep -q "listening on" "$KK_TMP/server2.log" && break
		sleep 0.1
	done
	grep -q "listening on" "$KK_TMP/server2.log" || fail "server did not restart"
}

step "server down: 69, the failure hook gets name and exit code"
kk_server_stop
rm "$out/cert.pem" # due now: a missing certificate is replaced
kk 69 renew --failure-hook "$hookcmd"
grep -q '^args=host-a 69$' "$log" || fail "hook arguments wrong: $(cat "$log")"
grep -q '^KAKUIN_NAME=host-a$' "$log" || fail "no KAKUIN_NAME: $(cat "$log")"
grep -q '^KAKUIN_EXIT=69$' "$log" || fail "no KAKUIN_EXIT=69: $(cat "$log")"
grep -q '^KAKUIN_FAILURES=1$' "$log" || fail "no KAKUIN_FAILURES=1"
grep -q '^KAKUIN_NEXT_ATTEMPT=20' "$log" || fail "no KAKUIN_NEXT_ATTEMPT"
grep -q "^KAKUIN_MESSAGE=.*127.0.0.1:$KK_PORT" "$log" || fail "no KAKUIN_MESSAGE"
[ -s "$state/failure.json" ] || fail "no failure.json"
[ "$(stat -c %a "$state/failure.json")" = 600 ] || fail "failure.json not 0600"

step "status shows the last error and the next attempt"
kk 0 status
grep -q "last error: .*exit 69, 1 failed attempt" "$KK_TMP/out" ||
    fail "no last error: $(cat "$KK_TMP/out")"
grep -q "next attempt: 20" "$KK_TMP/out" || fail "no next attempt: $(cat "$KK_TMP/out")"
kk 0 status --json
grep -q '"exit":[[:space:]]*69' "$KK_TMP/out" || fail "no exit in JSON"
grep -q '"next_attempt":[[:space:]]*"20' "$KK_TMP/out" || fail "no next_attempt in JSON"

step "backoff: a second renew does not try, exits 0 at once, no hook"
: >"$log"
start=$(date +%s%N)
kk 0 renew --failure-hook "$hookcmd"
ms=$((($(date +%s%N) - start) / 1000000))
echo "backed-off renew took $ms ms"
[ "$ms" -lt 2000 ] || fail "backed-off renew took $ms ms"
grep -q "backing off after 1 failed attempt (last exit 69)" "$KK_TMP/out" ||
    fail "backoff not said: $(cat "$KK_TMP/out")"
[ ! -s "$log" ] || fail "hook ran without an attempt"
kk 0 renew --quiet
[ ! -s "$KK_TMP/out" ] || fail "--quiet backoff printed: $(cat "$KK_TMP/out")"

step "--force tries anyway (and doubles the backoff)"
kk 69 renew --force --failure-hook "$hookcmd"
grep -q '^KAKUIN_FAILURES=2$' "$log" || fail "second failure not counted"
grep -q '"failures":[[:space:]]*2' "$state/failure.json" || fail "count not 2"

step "server back: --force succeeds and resets the backoff"
restart_server
kk 0 renew --force --failure-hook "$hookcmd"
kk_pair_ok "$out"
[ ! -e "$state/failure.json" ] || fail "success kept failure.json"
kk 0 status
grep -q "last error" "$KK_TMP/out" && fail "status still shows an error"

step "an operator's refusal: the problem type and detail, hostile text inert"
export KAKUIN_STATE_DIR="$KK_TMP/state-b"
kk 75 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org NTRJP-7000012050002 \
    --name host-b --out "$KK_TMP/out-b"
# The hook is in config.json (by hand), not on the command line.
cfg="$KAKUIN_STATE_DIR/config.json"
python3 - "$cfg" "$hookcmd" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["failure_hook"] = sys.argv[2]
json.dump(c, open(sys.argv[1], "w"))
EOF
id=$(kk_pending_id)
reason='no such person $(touch '"$KK_TMP"'/pwned) `touch '"$KK_TMP"'/pwned2`; "quoted"'
kk_op reject "$id" --reason "$reason" >/dev/null
: >"$log"
kk 1 renew
grep -q '^args=host-b 1$' "$log" || fail "hook arguments wrong: $(cat "$log")"
grep -q '^KAKUIN_PROBLEM_TYPE=urn:ietf:params:acme:error:' "$log" ||
    fail "no problem type: $(cat "$log")"
grep -q "^KAKUIN_PROBLEM_DETAIL=.*no such person" "$log" && grep -qF "$reason" "$log" ||
    fail "detail not verbatim: $(cat "$log")"
[ ! -e "$KK_TMP/pwned" ] && [ ! -e "$KK_TMP/pwned2" ] ||
    fail "the server's text was run by a shell"
kk 0 status
grep -qF "$reason" "$KK_TMP/out" || fail "status lacks the detail: $(cat "$KK_TMP/out")"
# enroll's save of config.json keeps the hand-written hook.
grep -q failure_hook "$cfg" || fail "failure_hook dropped from config.json"

step "a server problem (a deactivated account): its type and detail"
export KAKUIN_STATE_DIR="$KK_TMP/state"
kk 0 account deactivate
: >"$log"
kk 1 renew --force --failure-hook "$hookcmd"
grep -q '^args=host-a 1$' "$log" || fail "hook arguments wrong: $(cat "$log")"
grep -q '^KAKUIN_PROBLEM_TYPE=urn:ietf:params:acme:error:unauthorized$' "$log" ||
    fail "no problem type: $(cat "$log")"
grep -q '^KAKUIN_PROBLEM_DETAIL=..*' "$log" || fail "no problem detail: $(cat "$log")"
kk 0 status
grep -q "last error: .*exit 1, 1 failed attempt.*urn:ietf:params:acme:error:unauthorized" \
    "$KK_TMP/out" || fail "status: $(cat "$KK_TMP/out")"

step "a failing failure hook is reported and changes nothing"
kk_server_stop
kk 69 renew --force --failure-hook "exit 3"
grep -q "failure hook failed with exit status 3" "$KK_TMP/err" ||
    fail "hook failure not reported: $(cat "$KK_TMP/err")"

step "nothing is appended to the hook's command (mail -s ... root stays so)"
: >"$log"
kk 69 renew --force --failure-hook "printf 'plain:%s\n' \"\$#\" >>$log"
[ "$(cat "$log")" = "plain:2" ] || fail "arguments appended: $(cat "$log")"

step "rate limited (75, Retry-After 600 s): no failure, no hook, but no try before"
python3 - "$KAKUIN_SOURCE_DIR/policy/default.json" "$KK_TMP/policy.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["rate_limits"]["orders_per_account_per_hour"] = 1
json.dump(p, open(sys.argv[2], "w"))
PY
kk_server_start "$KK_TMP/policy.json"
kk_token op2
export KAKUIN_STATE_DIR="$KK_TMP/state-c"
kk_enroll_approved host-c "$KK_TMP/out-c"
rm "$KK_TMP/out-c/cert.pem"
: >"$log"
kk 75 renew --failure-hook "$hookcmd"
grep -q "come back in 600 s" "$KK_TMP/err" || fail "not rate limited: $(cat "$KK_TMP/err")"
[ ! -s "$log" ] || fail "the failure hook ran for a 75: $(cat "$log")"
state_c="$KAKUIN_STATE_DIR/certs/host-c/failure.json"
grep -q '"failures":[[:space:]]*0' "$state_c" || fail "a 75 counted: $(cat "$state_c")"
kk 0 renew --failure-hook "$hookcmd"
grep -q "host-c: the server asked to come back from 20" "$KK_TMP/out" ||
    fail "Retry-After not honoured: $(cat "$KK_TMP/out")"
kk 0 status --name host-c
grep -q "next attempt: 20" "$KK_TMP/out" || fail "status: $(cat "$KK_TMP/out")"
grep -q "last error" "$KK_TMP/out" && fail "a 75 shown as an error"
echo PASS
