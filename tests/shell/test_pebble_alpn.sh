#!/usr/bin/env bash
# kakuin against Pebble with real tls-alpn-01 validation (RFC 8737): the
# standalone TLS server with the acmeIdentifier certificate.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"
kk_need_pebble
kk_setup
kk_pebble_start

step "tls-alpn-01 for one name"
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:t.test --challenge tls-alpn-01 \
    --standalone "127.0.0.1:$KK_TLS_PORT" --out "$KK_TMP/t"
grep -q "validated by tls-alpn-01" "$KK_TMP/out" || fail "no validation"
kk_pebble_cert_ok "$KK_TMP/t" t.test
(exec 3<>"/dev/tcp/127.0.0.1/$KK_TLS_PORT") 2>/dev/null &&
    fail "the standalone server still listens"

step "nothing listens where Pebble looks: the order fails, exit 1"
kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:u.test --challenge tls-alpn-01 \
    --standalone "127.0.0.1:$(kk_free_port)" --out "$KK_TMP/u"
grep -q "tls-alpn-01 validation failed" "$KK_TMP/err" ||
    fail "$(cat "$KK_TMP/err")"
[ ! -e "$KAKUIN_STATE_DIR/certs/u.test/pending.json" ] ||
    fail "the invalid order was kept"
echo "PASS"
