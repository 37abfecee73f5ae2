#!/usr/bin/env bash
# PostgreSQL restarted while clients enroll: meanwhile the server answers
# 503 with Retry-After (newNonce included), which clients sleep through
# (or exit 69 or 75 and are run again); the server reconnects by itself,
# never dies, and every certificate a client received is in the database
# afterwards.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pgfault.sh"
kk_need_pg
kk_setup
kk_pg_private
policy=$KK_TMP/policy.json
# Every attempt is a new account from 127.0.0.1.
sed 's/"new_accounts_per_ip_per_hour": [0-9]*/"new_accounts_per_ip_per_hour": 100000/' \
    "$KAKUIN_SOURCE_DIR/policy/default.json" >"$policy"
kk_server_start "$policy"
kk_token op1
kk_load_eab

clients=4 per=12
step "$clients clients enroll $per hosts each; PostgreSQL stops for 3 s"
kk_load_start "$clients" "$per" "$KK_URL"
kk_load_started 4
kk_pg_halt
sleep 0.5
code=$(curl -s -o /dev/null -D "$KK_TMP/hdr" -w '%{http_code}' \
    --cacert "$KK_CA" "$KK_URL/acme/new-nonce")
[ "$code" = 503 ] || fail "newNonce without the database: $code, not 503"
grep -qi '^retry-after: [1-9]' "$KK_TMP/hdr" || fail "503 without Retry-After"
grep -qi '^replay-nonce:' "$KK_TMP/hdr" && fail "a nonce the store did not keep"
sleep 2.5
kill -0 "$KK_SERVER_PID" || fail "the server died with its database"
kk_pg_resume

step "the clients finish; nothing they received is lost"
kk_load_wait "$clients" "$per"
kill -0 "$KK_SERVER_PID" || fail "the server died"
kk_load_in_db
grep -q "connection to PostgreSQL was lost\|cannot connect to PostgreSQL" \
    "$KK_DATA.log" || fail "the server log does not tell of the outage"

step "and it serves as before"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$KK_CA" \
    "$KK_URL/acme/new-nonce")
[ "$code" = 204 ] || fail "newNonce after the restart: $code"
KAKUIN_STATE_DIR=$KK_TMP/state-after kk 0 enroll --server "$KK_URL" \
    --ca-bundle "$KK_CA" --org "$KK_ORG" --name host-after \
    --out "$KK_TMP/out-after" --eab-kid "$KK_EAB_KID" \
    --eab-hmac-key-file "$KK_EAB_HMAC"
kk_pair_ok "$KK_TMP/out-after"
echo PASS
