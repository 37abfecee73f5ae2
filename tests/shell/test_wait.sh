#!/usr/bin/env bash
# enroll --wait=SECONDS polls (honouring Retry-After within the bound) and
# completes once an operator approves; with nobody approving it gives up
# with 75 after the bound and keeps the order for renew.
. "$(dirname "$0")/lib.sh"
kk_setup
kk_server_start
kk_token op1

step "enroll --wait=60 completes when the operator approves meanwhile"
out="$KK_TMP/out-w"
"$KAKUIN_CLIENT_BIN" enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --org "$KK_ORG" --name host-w --out "$out" --wait=60 \
    >"$KK_TMP/w.out" 2>"$KK_TMP/w.err" &
pid=$!
KK_PIDS+=("$pid")
id=""
for _ in $(seq 1 100); do
	id=$(kk_pending_id)
	[ -n "$id" ] && break
	sleep 0.1
done
[ -n "$id" ] || fail "no verification queued by enroll --wait"
kk_op approve "$id" --method document --legal-name "Example Power KK" \
    --evidence "registry certificate no. 123" >/dev/null
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || fail "enroll --wait exited $rc: $(cat "$KK_TMP/w.err")"
kk_pair_ok "$out"

step "enroll --wait=2 with nobody approving: 75 after the bound, order kept"
export KAKUIN_STATE_DIR="$KK_TMP/state-2"
start=$(date +%s)
kk 75 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org NTRJP-7000012050002 \
    --name host-x --out "$KK_TMP/out-x" --wait=2
el=$(($(date +%s) - start))
[ "$el" -ge 2 ] && [ "$el" -lt 20 ] || fail "--wait=2 took ${el}s"
[ -s "$KAKUIN_STATE_DIR/certs/host-x/pending.json" ] || fail "order not kept"
echo PASS
