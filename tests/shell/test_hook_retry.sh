#!/usr/bin/env bash
# The deploy hook is never lost: a failed hook is retried by the next renew
# (even with nothing due) until it succeeds; a hung hook is killed after
# --hook-timeout; the hook sees none of the client's secrets. The EAB HMAC
# key can come from a file or KAKUIN_EAB_HMAC_KEY (not the command line).
# After an operator refuses verification, renew does not queue it again
# for a day unless --force. --reuse-key with no key names the file.
. "$(dirname "$0")/lib.sh"
kk_setup
kk_server_start
kk_token op1
kk_enroll_approved host-a "$KK_TMP/out-a"

kk_op eab "$KK_ORG" >"$KK_TMP/eab"
kid=$(sed -n 's/^kid: //p' "$KK_TMP/eab")
hmac=$(sed -n 's/^hmac_key: //p' "$KK_TMP/eab")
[ -n "$kid" ] && [ -n "$hmac" ] || fail "no EAB key"

step "EAB HMAC key from KAKUIN_EAB_HMAC_KEY; the hook sees no secret"
export KAKUIN_STATE_DIR="$KK_TMP/state-b"
outb="$KK_TMP/out-b"
flag="$KK_TMP/hook-may-succeed"
log="$KK_TMP/hook.log"
# Fails until $flag exists; records its environment when it succeeds.
hook="test -e $flag && env >>$log"
KAKUIN_EAB_HMAC_KEY="$hmac" KAKUIN_P12_PASS=p12-secret-value \
    kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org "$KK_ORG" \
    --name host-b --out "$outb" --eab-kid "$kid" --deploy-hook "$hook"
grep -q "deploy hook failed" "$KK_TMP/err" || fail "hook failure not reported"
kk_pair_ok "$outb"
[ -e "$KAKUIN_STATE_DIR/certs/host-b/hook.pending" ] || fail "no hook.pending marker"

step "the failed hook is retried by the next renew, with nothing due"
kk 1 renew
[ -e "$KAKUIN_STATE_DIR/certs/host-b/hook.pending" ] || fail "marker dropped on failure"
touch "$flag"
KAKUIN_TOKEN=token-secret-value KAKUIN_EAB_HMAC_KEY=eab-secret-value \
    KAKUIN_P12_PASS=p12-secret-value KAKUIN_PKCS11_PIN=pin-secret-value \
    KAKUIN_CA_PIN=ca-pin-secret-value kk 0 renew
[ -s "$log" ] || fail "hook not retried"
grep -q "KAKUIN_NAME=host-b" "$log" || fail "hook environment wrong"
grep -q "secret-value" "$log" && fail "a secret reached the hook: $(grep secret-value "$log")"
[ ! -e "$KAKUIN_STATE_DIR/certs/host-b/hook.pending" ] || fail "marker kept after success"
n=$(grep -c "KAKUIN_NAME=host-b" "$log")
kk 0 renew
[ "$(grep -c "KAKUIN_NAME=host-b" "$log")" -eq "$n" ] || fail "hook ran again, nothing new"

step "a hung hook is killed after --hook-timeout: exit 1, certificate installed"
cfg="$KAKUIN_STATE_DIR/certs/host-b/config.json"
sed -i 's|"deploy_hook":[[:space:]]*"[^"]*"|"deploy_hook": "sleep 60"|' "$cfg"
old=$(kk_serial "$outb")
start=$(date +%s)
kk 1 renew --force --hook-timeout 1
[ $(($(date +%s) - start)) -lt 20 ] || fail "hung hook held the run"
grep -q "still running after 1 s" "$KK_TMP/err" || fail "timeout not reported: $(cat "$KK_TMP/err")"
[ "$(kk_serial "$outb")" != "$old" ] || fail "new certificate not kept"
kk_pair_ok "$outb"
kk 64 renew --hook-timeout 0

step "EAB HMAC key from --eab-hmac-key-file"
kk_op eab "$KK_ORG" >"$KK_TMP/eab2"
kid2=$(sed -n 's/^kid: //p' "$KK_TMP/eab2")
sed -n 's/^hmac_key: //p' "$KK_TMP/eab2" >"$KK_TMP/hmac2"
export KAKUIN_STATE_DIR="$KK_TMP/state-c"
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org "$KK_ORG" \
    --name host-c --out "$KK_TMP/out-c" --eab-kid "$kid2" \
    --eab-hmac-key-file "$KK_TMP/hmac2"
kk_pair_ok "$KK_TMP/out-c"
kk 64 enroll --server "$KK_URL" --org "$KK_ORG" --name host-x --eab-kid "$kid2"

step "--reuse-key with key.pem gone names the file"
rm "$KK_TMP/out-c/live/key.pem"
kk 1 renew --force --reuse-key
grep -q "$KK_TMP/out-c/key.pem" "$KK_TMP/err" || fail "missing key not named: $(cat "$KK_TMP/err")"

step "after a refusal, renew waits a day before queueing again (unless --force)"
export KAKUIN_STATE_DIR="$KK_TMP/state-r"
kk 75 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org NTRJP-7000012050002 \
    --name host-r --out "$KK_TMP/out-r"
kk_op reject "$(kk_pending_id)" --reason "not our customer" >/dev/null
kk 1 renew
grep -q "not our customer" "$KK_TMP/err" || fail "reason not shown"
queued=$(kk_op list --json | grep -c '"id"' || true)
kk 1 renew
grep -q "refused verification recently" "$KK_TMP/err" ||
    fail "no backoff message: $(cat "$KK_TMP/out" "$KK_TMP/err")"
[ ! -e "$KAKUIN_STATE_DIR/certs/host-r/pending.json" ] || fail "re-ordered within a day"
[ "$(kk_op list --json | grep -c '"id"' || true)" -eq "$queued" ] ||
    fail "verification queued again"
kk 75 renew --force
[ -e "$KAKUIN_STATE_DIR/certs/host-r/pending.json" ] || fail "--force did not re-order"
echo PASS
