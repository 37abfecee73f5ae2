#!/usr/bin/env bash
# Without --va-allow-private, kakuin-server does not connect to loopback
# (or any other non-public address) to validate http-01 or tls-alpn-01:
# every name resolves to 127.0.0.1 here, so both fail with a connection
# problem and nothing is fetched; dns-01 needs no connection and works.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"
. "$(dirname "$0")/dnsva.sh"
kk_setup
KK_VA_PRIVATE="" kk_va_start
kk_verified_org

step "http-01 for a name at 127.0.0.1: refused, nothing fetched"
mkdir "$KK_TMP/www"
python3 - "$KK_HTTP_PORT" >"$KK_TMP/www.log" 2>&1 <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
www=$!
KK_PIDS+=($www)
kk_wait_port "$KK_HTTP_PORT" $www "the responder"
kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:p.test --challenge http-01 --webroot "$KK_TMP/www" \
    --out "$KK_TMP/p"
grep -q "urn:ietf:params:acme:error:connection.*127.0.0.1, not a public address" \
    "$KK_TMP/err" || fail "$(cat "$KK_TMP/err")"
[ ! -e "$KK_TMP/p/cert.pem" ] || fail "a certificate for a loopback name"
! grep -q '"GET ' "$KK_TMP/www.log" || fail "the server fetched: $(cat "$KK_TMP/www.log")"

step "tls-alpn-01 for a name at 127.0.0.1: refused"
kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:q.test --challenge tls-alpn-01 \
    --standalone "127.0.0.1:$KK_TLS_PORT" --out "$KK_TMP/q"
grep -q "urn:ietf:params:acme:error:connection.*not a public address" \
    "$KK_TMP/err" || fail "$(cat "$KK_TMP/err")"

step "dns-01 connects to nothing: still valid"
kk_dns_hook "$KK_TMP/hook"
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:d.test --challenge dns-01 --dns-hook "$KK_TMP/hook" \
    --out "$KK_TMP/d"
kk_dns_cert_ok "$KK_TMP/d/cert.pem" "TLS Web Client Authentication" d.test

step "the server still serves"
curl -sf --cacert "$KK_CA" "$KK_URL/acme/directory" >/dev/null ||
    fail "no directory after the refusals"
echo "PASS"
