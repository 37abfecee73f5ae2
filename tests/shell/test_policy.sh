#!/usr/bin/env bash
# Against a server whose policy requires EAB and two approvals: enroll
# without an EAB key is refused before any order (64, saying what to give);
# with dual control (another server) one approval keeps renew waiting (75) and the second
# operator's approval lets it install.
. "$(dirname "$0")/lib.sh"
kk_setup
policy="$KK_TMP/policy.json"
sed -e 's/"eab_required": false/"eab_required": true/' \
    -e 's/"approvals_required": 1/"approvals_required": 2/' \
    "$KAKUIN_SOURCE_DIR/policy/default.json" >"$policy"
grep -q '"eab_required": true' "$policy" || fail "could not write the policy"
grep -q '"approvals_required": 2' "$policy" || fail "could not write the policy"
kk_server_start "$policy"

step "EAB required: enroll without a key says so (64), nothing ordered"
kk 64 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org "$KK_ORG" \
    --name host-a --out "$KK_TMP/out-a"
grep -q -- "--eab-kid" "$KK_TMP/err" || fail "no hint about --eab-kid"
[ ! -e "$KAKUIN_STATE_DIR/certs/host-a/pending.json" ] || fail "ordered anyway"
kk_server_stop

step "dual control: one approval is not enough, the second completes it"
sed -e 's/"approvals_required": 1/"approvals_required": 2/' \
    "$KAKUIN_SOURCE_DIR/policy/default.json" >"$policy"
kk_server_start "$policy"
export KAKUIN_STATE_DIR="$KK_TMP/state-dual"
kk 75 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org "$KK_ORG" \
    --name host-d --out "$KK_TMP/out-d"
kk_token op1
id=$(kk_pending_id)
[ -n "$id" ] || fail "nothing queued"
kk_op approve "$id" --method phone --legal-name "Example Power KK" \
    --evidence "first call" >/dev/null
kk 75 renew
[ ! -e "$KK_TMP/out-d/cert.pem" ] || fail "installed after one approval"
kk_token op2
kk_op approve "$id" --method document --legal-name "Example Power KK" \
    --evidence "registry certificate" >/dev/null
kk 0 renew
kk_pair_ok "$KK_TMP/out-d"
echo PASS
