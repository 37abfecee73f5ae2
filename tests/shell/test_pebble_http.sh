#!/usr/bin/env bash
# kakuin against Pebble (any RFC 8555 server) with real http-01
# validation: the standalone server for two names, then a webroot served
# by python3's http.server, renewal from the remembered choices, and the
# directory URL taken as given (or an error naming both URLs tried).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"
kk_need_pebble
kk_setup
kk_pebble_start

step "a wrong path: exit 78 naming both URLs tried"
kk 78 enroll --server "${KK_URL%/dir}/nope" --ca-bundle "$KK_CA" \
    --identifier dns:a.test --challenge http-01 --standalone 1
grep -q "/nope (HTTP 404)" "$KK_TMP/err" || fail "$(cat "$KK_TMP/err")"
grep -q "/nope/acme/directory (HTTP 404)" "$KK_TMP/err" ||
    fail "$(cat "$KK_TMP/err")"

step "usage: a challenge needs its settings"
kk 64 enroll --server "$KK_URL" --identifier dns:a.test --challenge http-01
kk 64 enroll --server "$KK_URL" --identifier dns:a.test
kk 64 enroll --server "$KK_URL" --identifier dns:a.test \
    --challenge dns-01 --webroot /tmp
kk 64 enroll --server "$KK_URL" --identifier dns:a.test \
    --challenge http-01 --standalone 127.0.0.1:99999
kk 64 enroll --server "$KK_URL" --identifier dns:a_b --challenge dns-01 \
    --dns-hook true

step "standalone http-01 for two names"
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:a.test --identifier dns:b.test \
    --challenge http-01 --standalone "127.0.0.1:$KK_HTTP_PORT" \
    --out "$KK_TMP/a"
grep -q "validated by http-01" "$KK_TMP/out" || fail "no validation"
kk_pebble_cert_ok "$KK_TMP/a" a.test b.test
# The name defaults to the first dns name; the server stopped after use.
[ -f "$KAKUIN_STATE_DIR/certs/a.test/solve.json" ] || fail "no solve.json"
(exec 3<>"/dev/tcp/127.0.0.1/$KK_HTTP_PORT") 2>/dev/null &&
    fail "the standalone server still listens"

step "renew --force validates again with the remembered standalone server"
serial=$(openssl x509 -in "$KK_TMP/a/cert.pem" -noout -serial)
kk 0 renew --force --name a.test
grep -q "validated by http-01" "$KK_TMP/out" || fail "renew did not validate"
kk_pebble_cert_ok "$KK_TMP/a" a.test b.test
[ "$serial" != "$(openssl x509 -in "$KK_TMP/a/cert.pem" -noout -serial)" ] ||
    fail "renew kept the old certificate"

step "webroot http-01 behind python3's http.server"
mkdir "$KK_TMP/www"
(cd "$KK_TMP/www" && exec python3 -m http.server --bind 127.0.0.1 \
    "$KK_HTTP_PORT") >"$KK_TMP/www.log" 2>&1 &
KK_PIDS+=($!)
kk_wait_port "$KK_HTTP_PORT" $! http.server
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:w.test --name web --challenge http-01 \
    --webroot "$KK_TMP/www" --out "$KK_TMP/w"
kk_pebble_cert_ok "$KK_TMP/w" w.test
grep -q "GET /.well-known/acme-challenge/.* 200" "$KK_TMP/www.log" ||
    fail "Pebble did not fetch the token from the webroot"
[ -z "$(ls -A "$KK_TMP/www/.well-known/acme-challenge")" ] ||
    fail "token files left in the webroot"
echo "PASS"
