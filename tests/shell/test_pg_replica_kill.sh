#!/usr/bin/env bash
# Two replicas on one PostgreSQL database; clients enroll through both, as
# behind a load balancer. One replica is SIGKILLed under load: the other
# carries on (clients that lose a request exit 69 and try again through
# it), and every certificate any client received is in the database.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pgfault.sh"
kk_need_pg
kk_setup
kk_pg_private
policy=$KK_TMP/policy.json
sed 's/"new_accounts_per_ip_per_hour": [0-9]*/"new_accounts_per_ip_per_hour": 100000/' \
    "$KAKUIN_SOURCE_DIR/policy/default.json" >"$policy"
kk_server_start "$policy"
kk_replica_start
kk_token op1
kk_load_eab

clients=4 per=12
step "$clients clients enroll $per hosts each through both; one is killed"
kk_load_start "$clients" "$per" "$KK_URL" "$KK_URL2"
kk_load_started 4
kill -KILL "$KK_SERVER2_PID"
wait "$KK_SERVER2_PID" 2>/dev/null || true

step "the other carries on; nothing any client received is lost"
kk_load_wait "$clients" "$per"
grep -qx 69 "$KK_LOAD/codes" ||
    fail "no client lost a request to the killed replica: the test proves nothing"
kill -0 "$KK_SERVER_PID" || fail "the surviving replica died"
kk_load_in_db
KAKUIN_STATE_DIR=$KK_TMP/state-after kk 0 enroll --server "$KK_URL" \
    --ca-bundle "$KK_CA" --org "$KK_ORG" --name host-after \
    --out "$KK_TMP/out-after" --eab-kid "$KK_EAB_KID" \
    --eab-hmac-key-file "$KK_EAB_HMAC"
kk_pair_ok "$KK_TMP/out-after"
echo PASS
