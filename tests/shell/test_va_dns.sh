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

step "the org identifier with a name in one order (the profile is mixed)"
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org "$KK_ORG" --name mx \
    --identifier dns:mx.test --challenge http-01 \
    --standalone "127.0.0.1:$KK_HTTP_PORT" --out "$KK_TMP/mx"
kk_dns_cert_ok "$KK_TMP/mx/cert.pem" "$client" mx.test

step "the audit log has each validation"
kk_op audit --json >"$KK_TMP/audit"
for t in http-01 dns-01 tls-alpn-01; do
	grep -q "\"type\":[[:space:]]*\"$t\"" "$KK_TMP/audit" ||
	    fail "no $t validation in the audit log"
done
grep -q '"challenge.validate"' "$KK_TMP/audit" ||
    fail "no challenge.validate in the audit log"

step "nothing answers http-01: the order is invalid (connection)"
kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:n.test --challenge http-01 \
    --standalone "127.0.0.1:$(kk_free_port)" --out "$KK_TMP/n"
grep -q "urn:ietf:params:acme:error:connection" "$KK_TMP/err" ||
    fail "$(cat "$KK_TMP/err")"

step "a wrong key authorization over http-01: incorrectResponse"
mkdir "$KK_TMP/www"
python3 - "$KK_HTTP_PORT" >"$KK_TMP/wrong.log" 2>&1 <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"not-the-token.not-the-thumbprint"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
wrong=$!
KK_PIDS+=($wrong)
kk_wait_port "$KK_HTTP_PORT" $wrong "the wrong responder"
kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:w.test --challenge http-01 --webroot "$KK_TMP/www" \
    --out "$KK_TMP/w"
grep -q "urn:ietf:params:acme:error:incorrectResponse" "$KK_TMP/err" ||
    fail "$(cat "$KK_TMP/err")"
[ ! -e "$KK_TMP/w/cert.pem" ] || fail "a certificate for a wrong answer"

step "a redirect to a port that is not allowed: connection"
kill $wrong
wait $wrong 2>/dev/null || true
python3 - "$KK_HTTP_PORT" >"$KK_TMP/redir.log" 2>&1 <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(302)
        self.send_header("Location", "http://r.test:22" + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
redir=$!
KK_PIDS+=($redir)
kk_wait_port "$KK_HTTP_PORT" $redir "the redirecting responder"
kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:r.test --challenge http-01 --webroot "$KK_TMP/www" \
    --out "$KK_TMP/r"
grep -q "urn:ietf:params:acme:error:connection.*redirect to port 22" \
    "$KK_TMP/err" || fail "$(cat "$KK_TMP/err")"
kill $redir
wait $redir 2>/dev/null || true

step "endless redirects: connection after 10"
python3 - "$KK_HTTP_PORT" >"$KK_TMP/loop.log" 2>&1 <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(302)
        self.send_header("Location", self.path + "x")
        self.send_header("Content-Length", "0")
        self.end_headers()
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
loop=$!
KK_PIDS+=($loop)
kk_wait_port "$KK_HTTP_PORT" $loop "the looping responder"
kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:l.test --challenge http-01 --webroot "$KK_TMP/www" \
    --out "$KK_TMP/l"
grep -q "urn:ietf:params:acme:error:connection.*more than 10 redirects" \
    "$KK_TMP/err" || fail "$(cat "$KK_TMP/err")"
[ "$(grep -c '"GET ' "$KK_TMP/loop.log")" -eq 11 ] ||
    fail "$(grep -c '"GET ' "$KK_TMP/loop.log") requests, expected 11"
kill $loop
wait $loop 2>/dev/null || true

step "a host that accepts and never answers: connection, within --va-timeout"
python3 - "$KK_HTTP_PORT" >"$KK_TMP/mute.log" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
PY
mute=$!
KK_PIDS+=($mute)
kk_wait_port "$KK_HTTP_PORT" $mute "the mute responder"
t0=$(date +%s)
kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:m.test --challenge http-01 --webroot "$KK_TMP/www" \
    --out "$KK_TMP/m"
t=$(($(date +%s) - t0))
grep -q "urn:ietf:params:acme:error:connection.*m.test" "$KK_TMP/err" ||
    fail "$(cat "$KK_TMP/err")"
# --va-timeout 5 (kk_va_start): the worker is back well before 10 s.
[ "$t" -le 9 ] || fail "the validation took $t s"
echo "mute host: the order failed after $t s"
kill $mute
wait $mute 2>/dev/null || true

step "tls-alpn-01 answered with a wrong certificate: incorrectResponse, unauthorized"
zeros=$(printf '00%.0s' $(seq 32))
tls_fake() { # NAME SAN CRITICAL: openssl s_server on KK_TLS_PORT
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$KK_TMP/$1.key" -out "$KK_TMP/$1.pem" -days 1 -subj "/CN=$2" \
	    -addext "subjectAltName=DNS:$2" \
	    -addext "1.3.6.1.5.5.7.1.31=${3}DER:0420$zeros" 2>/dev/null ||
	    fail "cannot make $1.pem"
	openssl s_server -quiet -accept "127.0.0.1:$KK_TLS_PORT" -alpn acme-tls/1 \
	    -cert "$KK_TMP/$1.pem" -key "$KK_TMP/$1.key" </dev/null \
	    >"$KK_TMP/$1.log" 2>&1 &
	fake=$!
	KK_PIDS+=($fake)
	kk_wait_port "$KK_TLS_PORT" $fake "openssl s_server"
}
tls_fake z z.test critical,
kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:z.test --challenge tls-alpn-01 \
    --standalone "127.0.0.1:$(kk_free_port)" --out "$KK_TMP/z"
grep -q "urn:ietf:params:acme:error:incorrectResponse.*tls-alpn-01" \
    "$KK_TMP/err" || fail "$(cat "$KK_TMP/err")"
kill $fake
wait $fake 2>/dev/null || true
tls_fake o other.test critical,
kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:o.test --challenge tls-alpn-01 \
    --standalone "127.0.0.1:$(kk_free_port)" --out "$KK_TMP/o"
grep -q "urn:ietf:params:acme:error:unauthorized.*subjectAltName" \
    "$KK_TMP/err" || fail "$(cat "$KK_TMP/err")"
kill $fake
wait $fake 2>/dev/null || true
tls_fake c c.test ""
kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:c.test --challenge tls-alpn-01 \
    --standalone "127.0.0.1:$(kk_free_port)" --out "$KK_TMP/c"
grep -q "urn:ietf:params:acme:error:unauthorized.*not critical" \
    "$KK_TMP/err" || fail "$(cat "$KK_TMP/err")"
kill $fake
wait $fake 2>/dev/null || true

step "a wrong TXT record: incorrectResponse; none at all: refused"
cat >"$KK_TMP/badhook" <<HOOK
#!/bin/sh
[ "\$1" = add ] || exit 0
exec curl -sf -d "{\"host\":\"\$2.\",\"value\":\"wrong-value\"}" \
    http://127.0.0.1:$KK_DNS_MGMT/set-txt
HOOK
chmod +x "$KK_TMP/badhook"
kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:x.test --challenge dns-01 --dns-hook "$KK_TMP/badhook" \
    --out "$KK_TMP/x"
grep -q "urn:ietf:params:acme:error:incorrectResponse" "$KK_TMP/err" ||
    fail "$(cat "$KK_TMP/err")"
kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:y.test --challenge dns-01 --dns-hook true \
    --out "$KK_TMP/y"
# challtestsrv's empty answer (NOERROR, no records) is one glibc's
# resolver does not take as "no data": either problem names the record.
grep -Eq "urn:ietf:params:acme:error:(unauthorized|dns).*_acme-challenge.y.test" \
    "$KK_TMP/err" || fail "$(cat "$KK_TMP/err")"
echo "PASS"
