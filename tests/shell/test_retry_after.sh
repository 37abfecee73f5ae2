#!/usr/bin/env bash
# The client leaves at once (exit 75, order kept) when the server's
# Retry-After asks it to come back later than --wait allows, instead of
# sleeping out the rest of its bound: the server says 30 s while an
# operator is awaited, so enroll --wait=20 leaves after its first 10 s
# poll, not after 20 s.
. "$(dirname "$0")/lib.sh"
kk_setup
kk_server_start

step "enroll --wait=20, server asks for 30 s: 75 before the bound"
start=$(date +%s)
kk 75 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org "$KK_ORG" \
    --name host-r --out "$KK_TMP/out" --wait=20
el=$(($(date +%s) - start))
[ "$el" -lt 18 ] || fail "enroll slept out its bound (${el}s) against Retry-After"
grep -q "waiting for an operator" "$KK_TMP/err" || fail "$(cat "$KK_TMP/err")"
[ -s "$KAKUIN_STATE_DIR/certs/host-r/pending.json" ] || fail "order not kept"
echo PASS
