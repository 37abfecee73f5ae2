#!/usr/bin/env bash
# Nothing gets stuck for good: an interrupted account key rollover is
# finished by the next run; a pending order the CA no longer knows, or one
# too old, is dropped and replaced; an unwritable --out or a missing --p12
# passphrase is found before anything is ordered; a corrupted cert.pem is
# replaced by renew; exit codes stay in the documented table.
. "$(dirname "$0")/lib.sh"
kk_setup
kk_server_start
kk_token op1
out="$KK_TMP/out-a"
kk_enroll_approved host-a "$out"
st="$KAKUIN_STATE_DIR"

step "rollover killed after the server switched keys: the next run adopts the new key"
kk 0 account show
acct=$(head -n1 "$KK_TMP/out" | sed -n 's/^account //p')
old=$(sha256sum <"$st/account.key")
KAKUIN_TEST_CRASH_AT=keychange kk 137 account rollover
[ -s "$st/account.key.new" ] || fail "account.key.new not kept"
[ "$(sha256sum <"$st/account.key")" = "$old" ] || fail "account.key changed early"
kk 0 account show
grep -q "^account $acct\$" "$KK_TMP/out" || fail "account lost after the crash"
grep -q "interrupted account key rollover" "$KK_TMP/err" || fail "adoption not reported"
[ ! -e "$st/account.key.new" ] || fail "account.key.new left behind"
[ "$(sha256sum <"$st/account.key")" != "$old" ] || fail "new key not adopted"
[ "$(stat -c %a "$st/account.key")" = 600 ] || fail "adopted key not 0600"

step "a leftover key the server does not know is dropped, the account kept"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$st/account.key.new" 2>/dev/null
cur=$(sha256sum <"$st/account.key")
kk 0 account show
grep -q "^account $acct\$" "$KK_TMP/out" || fail "account changed"
[ ! -e "$st/account.key.new" ] || fail "unknown account.key.new kept"
[ "$(sha256sum <"$st/account.key")" = "$cur" ] || fail "account.key replaced"

step "a pending order the CA does not know (404) is dropped and replaced"
pj="$st/certs/host-a/pending.json"
serial=$(kk_serial "$out")
printf '{"order": "%s/acme/order/nonexistent", "created": %s}' "$KK_URL" \
    "$(date +%s)" >"$pj"
kk 0 renew --force
grep -q "dropping the pending order.*404" "$KK_TMP/out" ||
    fail "stale order not reported: $(cat "$KK_TMP/out" "$KK_TMP/err")"
[ ! -e "$pj" ] || fail "stale order kept"
[ "$(kk_serial "$out")" != "$serial" ] || fail "no new certificate"
kk_pair_ok "$out"

step "a pending order older than 8 days is dropped; not due, nothing ordered"
serial=$(kk_serial "$out")
printf '{"order": "%s/acme/order/old", "created": 1000}' "$KK_URL" >"$pj"
kk 0 renew
grep -q "dropping the pending order (older" "$KK_TMP/out" || fail "old order kept"
[ ! -e "$pj" ] || fail "old order not dropped"
[ "$(kk_serial "$out")" = "$serial" ] || fail "certificate changed"

step "unwritable --out at renew: 73 naming it, nothing ordered"
cfg="$st/certs/host-a/config.json"
cp "$cfg" "$KK_TMP/cfg.bak"
: >"$KK_TMP/plainfile"
sed -i "s|\"out\":[[:space:]]*\"[^\"]*\"|\"out\": \"$KK_TMP/plainfile/out\"|" "$cfg"
kk 73 renew --force
grep -q "$KK_TMP/plainfile" "$KK_TMP/err" || fail "path not named: $(cat "$KK_TMP/err")"
[ ! -e "$pj" ] || fail "ordered despite an unwritable --out"
cp "$KK_TMP/cfg.bak" "$cfg"

step "corrupted cert.pem: status says so, renew replaces it"
echo garbage >"$out/live/cert.pem"
kk 1 status
grep -q "unreadable" "$KK_TMP/out" || fail "status does not say: $(cat "$KK_TMP/out")"
grep -q "$out/cert.pem" "$KK_TMP/err" || fail "status does not name the file"
kk 0 renew
kk_pair_ok "$out"

step "--p12 with KAKUIN_P12_PASS only: cron renewals (no env) still work"
export KAKUIN_STATE_DIR="$KK_TMP/state-p"
outp="$KK_TMP/out-p"
KAKUIN_P12_PASS="env pass" kk 75 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --org "$KK_ORG" --name host-p --out "$outp" --p12
[ "$(stat -c %a "$KAKUIN_STATE_DIR/certs/host-p/p12.pass")" = 600 ] ||
    fail "kept passphrase not 0600"
id=$(kk_pending_id)
kk_op approve "$id" --method phone --legal-name "Example Power KK" \
    --evidence "called the number in the company database" >/dev/null
kk 0 renew
openssl pkcs12 -in "$outp/bundle.p12" -passin "pass:env pass" -nodes \
    -out /dev/null 2>/dev/null || fail "bundle.p12 does not open"
kk 0 renew --force
step "--p12 passphrase gone: 78 before ordering"
rm "$KAKUIN_STATE_DIR/certs/host-p/p12.pass"
kk 78 renew --force
grep -q "p12.pass" "$KK_TMP/err" || fail "passphrase file not named"
[ ! -e "$KAKUIN_STATE_DIR/certs/host-p/pending.json" ] ||
    fail "ordered without a passphrase"

step "--jitter sleeps without holding the lock"
export KAKUIN_STATE_DIR="$st"
"$KAKUIN_CLIENT_BIN" renew --force --quiet --jitter 40 >/dev/null 2>&1 &
jpid=$!
KK_PIDS+=("$jpid")
sleep 0.5
if kill -0 "$jpid" 2>/dev/null; then
	# Still jittering: another run may take the lock meanwhile.
	kk 0 account show
fi
kill "$jpid" 2>/dev/null || true
wait "$jpid" 2>/dev/null || true

step "a relative KAKUIN_CA_BUNDLE is remembered as an absolute path"
export KAKUIN_STATE_DIR="$KK_TMP/state-rel"
cp "$KK_CA" "$KK_TMP/rel-ca.pem"
(cd "$KK_TMP" && KAKUIN_CA_BUNDLE=rel-ca.pem kk 75 enroll --server "$KK_URL" \
    --org NTRJP-7000012050002 --name host-rel --out "$KK_TMP/out-rel")
grep -q "\"ca_bundle\":[[:space:]]*\"$KK_TMP/rel-ca.pem\"" \
    "$KAKUIN_STATE_DIR/config.json" || fail "relative bundle remembered as is"

step "an http:// server is a usage error (64)"
export KAKUIN_STATE_DIR="$KK_TMP/state-h"
kk 64 enroll --server "http://127.0.0.1:$KK_PORT" --org "$KK_ORG" --name host-h
kk 64 op list --server "http://127.0.0.1:$KK_PORT"
echo PASS
