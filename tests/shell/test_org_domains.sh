#!/usr/bin/env bash
# Organization domains with the real client: an operator records
# example.jp for a verified organization; a host with an EAB key of that
# organization gets a certificate for a name under it with no challenge
# validated (the standalone responder listens where the server never
# looks), naming the organization. A name outside the domains still needs
# a real http-01 validation; a name under another organization's domain
# (even a subdomain of ours that the other one recorded) is not granted.
# The account that proved a name reuses that authorization in its next
# order; another account does not. renew of such a certificate sends "replaces" (ARI with dns orders).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"
. "$(dirname "$0")/dnsva.sh"
kk_setup
sed 's/"order_lifetime_hours": 168,/"order_lifetime_hours": 168,\n\t"renewal_info_retry_after": 1,/' \
    "$KAKUIN_SOURCE_DIR/policy/default.json" >"$KK_TMP/policy.json"
grep -q renewal_info_retry_after "$KK_TMP/policy.json" || fail "policy not edited"
kk_va_start "$KK_TMP/policy.json"
kk_verified_org
client="TLS Web Client Authentication"
OTHER=NTRJP-7000012050002

step "a second verified organization"
KAKUIN_STATE_DIR="$KK_TMP/other" kk 75 enroll --server "$KK_URL" \
    --ca-bundle "$KK_CA" --org "$OTHER" --name other-host \
    --out "$KK_TMP/other-host"
id=$(kk_pending_id)
[ -n "$id" ] || fail "no verification in the queue"
kk_op approve "$id" --method phone --legal-name "Other Grid KK" \
    --evidence "called the number in the company database" >/dev/null

step "the operator records domains"
kk_op domains "$KK_ORG" --add example.jp >"$KK_TMP/dom" ||
    fail "domains --add: $(cat "$KK_TMP/dom")"
kk_op domains "$OTHER" --add other.jp --add grid.example.jp >"$KK_TMP/dom" ||
    fail "domains --add: $(cat "$KK_TMP/dom")"
grep -q '"added":[[:space:]]*2' "$KK_TMP/dom" || fail "$(cat "$KK_TMP/dom")"
kk 1 op --server "$KK_URL" --ca-bundle "$KK_CA" domains "$OTHER" \
    --add example.jp

validations() {
	kk_op audit --json >"$KK_TMP/audit"
	grep -c '"challenge.validate"' "$KK_TMP/audit" || true
}

step "a host with an EAB key of the organization: host1.example.jp at once"
export KAKUIN_STATE_DIR="$KK_TMP/host"
printf '%s' "$KK_EAB_HMAC" >"$KK_TMP/hmac"
chmod 600 "$KK_TMP/hmac"
# Nothing listens where the server would validate: a challenge would fail.
idle=$(kk_free_port)
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --eab-kid "$KK_EAB_KID" --eab-hmac-key-file "$KK_TMP/hmac" \
    --identifier dns:host1.example.jp --challenge http-01 \
    --standalone "127.0.0.1:$idle" --out "$KK_TMP/h1"
kk_dns_cert_ok "$KK_TMP/h1/cert.pem" "$client" host1.example.jp
[ "$(validations)" -eq 0 ] || fail "a challenge was validated: $(cat "$KK_TMP/audit")"

step "a name outside the domains needs a real http-01 validation"
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:host2.example.net --challenge http-01 \
    --standalone "127.0.0.1:$KK_HTTP_PORT" --out "$KK_TMP/h2"
kk_dns_cert_ok "$KK_TMP/h2/cert.pem" "$client" host2.example.net
[ "$(validations)" -eq 1 ] || fail "expected one validation: $(cat "$KK_TMP/audit")"
grep -q '"dns":[[:space:]]*"host2.example.net"' "$KK_TMP/audit" ||
    fail "the validation is not of host2.example.net"

step "the same account orders host2.example.net again: its authorization is reused"
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:host2.example.net --challenge http-01 \
    --standalone "127.0.0.1:$idle" --out "$KK_TMP/h2b"
kk_dns_cert_ok "$KK_TMP/h2b/cert.pem" "$client" host2.example.net
[ "$(validations)" -eq 1 ] || fail "validated again: $(cat "$KK_TMP/audit")"

step "another account cannot reuse it"
KAKUIN_STATE_DIR="$KK_TMP/other" kk 1 enroll --server "$KK_URL" \
    --ca-bundle "$KK_CA" --identifier dns:host2.example.net \
    --challenge http-01 --standalone "127.0.0.1:$idle" --out "$KK_TMP/h2o"
grep -q "urn:ietf:params:acme:error:connection.*host2.example.net" \
    "$KK_TMP/err" || fail "$(cat "$KK_TMP/err")"

step "names under another organization's domains are not granted"
for n in x.other.jp h.grid.example.jp; do
	kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
	    --identifier "dns:$n" --challenge http-01 \
	    --standalone "127.0.0.1:$idle" --out "$KK_TMP/$n"
	grep -q "urn:ietf:params:acme:error:connection.*$n" "$KK_TMP/err" ||
	    fail "$n: $(cat "$KK_TMP/err")"
	[ ! -e "$KK_TMP/$n/cert.pem" ] || fail "a certificate for $n"
done

step "renew host1 after a window move: replaces, still no challenge"
old=$(kk_serial "$KK_TMP/h1")
oldhex=$(echo "$old" | tr 'A-F' 'a-f')
kk 0 renew --name host1.example.jp
grep -q "host1.example.jp: not due" "$KK_TMP/out" || fail "$(cat "$KK_TMP/out")"
kk_op renewal-window --serial "$oldhex" \
    --start "$(date -u -d '-2 min' +%Y-%m-%dT%H:%M:%SZ)" \
    --end "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$KK_TMP/drill" ||
    fail "renewal-window: $(cat "$KK_TMP/drill")"
grep -q '"moved":[[:space:]]*1' "$KK_TMP/drill" || fail "$(cat "$KK_TMP/drill")"
sleep 1.2
before=$(validations)
kk 0 renew --name host1.example.jp
new=$(kk_serial "$KK_TMP/h1")
[ "$new" != "$old" ] || fail "not renewed: $(cat "$KK_TMP/out")"
kk_dns_cert_ok "$KK_TMP/h1/cert.pem" "$client" host1.example.jp
[ "$(validations)" -eq "$before" ] || fail "the renewal validated a challenge"
grep -q "\"replaces\":[[:space:]]*\"$oldhex\"" "$KK_TMP/audit" ||
    fail "no order.create replacing $oldhex in the audit log"
echo PASS
