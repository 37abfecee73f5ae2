#!/usr/bin/env bash
# Accounts that speak for no organization: names alone are refused under
# the default policy, and issued, with a subject of the CN alone, where the
# profile has dns_unbound_accounts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"
. "$(dirname "$0")/dnsva.sh"
kk_setup
python3 - "$KAKUIN_SOURCE_DIR/policy/default.json" "$KK_TMP/open.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["profiles"][0]["dns_unbound_accounts"] = True
json.dump(p, open(sys.argv[2], "w"))
PY

step "default policy: an unbound account's names are unauthorized"
kk_va_start
kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:u.test --challenge http-01 \
    --standalone "127.0.0.1:$KK_HTTP_PORT" --out "$KK_TMP/u"
grep -q "urn:ietf:params:acme:error:unauthorized.*no verified organization" \
    "$KK_TMP/err" || fail "$(cat "$KK_TMP/err")"
kk_server_stop

step "dns_unbound_accounts: a certificate with the CN alone"
rm -rf "$KAKUIN_STATE_DIR"
kk_server_start "$KK_TMP/open.json"
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:u.test --identifier dns:v.test --challenge http-01 \
    --standalone "127.0.0.1:$KK_HTTP_PORT" --out "$KK_TMP/u"
subj=$(openssl x509 -in "$KK_TMP/u/cert.pem" -noout -subject -nameopt RFC2253)
[ "$subj" = "subject=CN=u.test" ] || fail "subject is '$subj'"
openssl x509 -in "$KK_TMP/u/cert.pem" -noout -ext subjectAltName |
    grep -q "DNS:u.test, DNS:v.test" || fail "no SAN"
openssl verify -CAfile "$KK_CA" -untrusted "$KK_DATA/issuing.pem" \
    "$KK_TMP/u/cert.pem" >/dev/null || fail "does not verify"
echo "PASS"
