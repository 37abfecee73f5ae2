#!/usr/bin/env bash
# enroll -> 75; operator lists and approves; renew installs; the pair
# verifies for clientAuth, works in an mTLS handshake, and a certificate
# from another CA is refused; status shows it; --quiet renew is silent.
. "$(dirname "$0")/lib.sh"
kk_setup
kk_server_start
kk_token op1

step "enroll asks for verification and exits 75"
out="$KK_TMP/out-a"
kk 75 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org "$KK_ORG" \
    --name host-a --out "$out" --contact mailto:ops@example.jp
grep -q "operator must verify organization $KK_ORG" "$KK_TMP/out" ||
    fail "enroll did not say an operator must act"
grep -q "https://127.0.0.1:$KK_PORT/" "$KK_TMP/out" || fail "no href shown"
[ ! -e "$out/cert.pem" ] || fail "a certificate before approval"
[ -s "$KAKUIN_STATE_DIR/certs/host-a/pending.json" ] || fail "no pending order"
[ "$(stat -c %a "$KAKUIN_STATE_DIR/certs/host-a/pending.key")" = 600 ] ||
    fail "pending key not 0600"
[ "$(stat -c %a "$KAKUIN_STATE_DIR/account.key")" = 600 ] ||
    fail "account key not 0600"

step "renew before approval still waits (75)"
kk 75 renew

step "operator lists the queue and approves"
kk_op list >"$KK_TMP/list"
grep -q "$KK_ORG" "$KK_TMP/list" || fail "queue does not show the org"
id=$(kk_pending_id)
[ -n "$id" ] || fail "no id"
kk_op approve "$id" --method phone --legal-name "Example Power KK" \
    --evidence "called +81-3-0000-0000 from the company database" >/dev/null

step "operator show, audit; a wrong token is refused with the problem type"
kk_op show "$id" >"$KK_TMP/show"
grep -q '"status":[[:space:]]*"valid"' "$KK_TMP/show" || fail "op show: not valid"
grep -q '"operator":[[:space:]]*"op1"' "$KK_TMP/show" || fail "op show: no approval"
kk_op audit >"$KK_TMP/audit"
grep -q "op1" "$KK_TMP/audit" || fail "audit does not name the operator"
rc=0
KAKUIN_TOKEN=wrong-token kk_op list >/dev/null 2>"$KK_TMP/e" || rc=$?
[ "$rc" -eq 1 ] || fail "wrong token exited $rc"
grep -q "urn:ietf:params:acme:error:unauthorized" "$KK_TMP/e" ||
    fail "wrong token: no problem type: $(cat "$KK_TMP/e")"
rc=0
env -u KAKUIN_TOKEN "$KAKUIN_CLIENT_BIN" op list --server "$KK_URL" \
    --ca-bundle "$KK_CA" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 64 ] || fail "op without a token exited $rc"

step "renew installs"
kk 0 renew
grep -q "installed certificate" "$KK_TMP/out" || fail "no install message"
kk_pair_ok "$out"
[ "$(stat -Lc %a "$out/key.pem")" = 600 ] || fail "key.pem not 0600"
[ ! -e "$KAKUIN_STATE_DIR/certs/host-a/pending.json" ] ||
    fail "pending order kept after install"
subj=$(openssl x509 -in "$out/cert.pem" -noout -subject -nameopt RFC2253)
case "$subj" in
*"CN=host-a"*) ;;
*) fail "subject lacks CN: $subj" ;;
esac
openssl x509 -in "$out/cert.pem" -noout -ext extendedKeyUsage |
    grep -q "TLS Web Client Authentication" || fail "no clientAuth EKU"

step "mTLS handshake with openssl s_server -Verify 1"
srv="$KK_TMP/srv"
mkdir "$srv"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=localhost -days 1 -keyout "$srv/key.pem" -out "$srv/cert.pem" \
    2>/dev/null
cat "$KK_CA" >"$srv/clientca.pem"
openssl x509 -in "$out/chain.pem" >>"$srv/clientca.pem"
port=$((20000 + RANDOM % 20000))
for try in 1 2 3 4 5; do
	openssl s_server -accept "127.0.0.1:$port" -cert "$srv/cert.pem" \
	    -key "$srv/key.pem" -Verify 1 -verify_return_error \
	    -CAfile "$srv/clientca.pem" -naccept 2 -www \
	    >"$KK_TMP/s_server.log" 2>&1 &
	spid=$!
	KK_PIDS+=("$spid")
	# s_server says ACCEPT once it listens; it exits if the port is taken.
	for _ in $(seq 1 100); do
		grep -q ACCEPT "$KK_TMP/s_server.log" && break
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.05
	done
	grep -q ACCEPT "$KK_TMP/s_server.log" && break
	kill "$spid" 2>/dev/null || true
	port=$((20000 + RANDOM % 20000))
done
grep -q ACCEPT "$KK_TMP/s_server.log" || fail "openssl s_server did not start"
printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client -connect "127.0.0.1:$port" \
    -cert "$out/cert.pem" -key "$out/key.pem" -CAfile "$srv/cert.pem" -quiet \
    >"$KK_TMP/s_client.log" 2>&1 || true
grep -q "HTTP/1.0 200" "$KK_TMP/s_client.log" ||
    fail "no HTTP 200 over mTLS with the issued certificate: $(tail -5 "$KK_TMP/s_client.log")"
step "a certificate from another CA is refused"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=intruder -days 1 -keyout "$srv/ikey.pem" -out "$srv/icert.pem" \
    2>/dev/null
if printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client -connect "127.0.0.1:$port" \
    -cert "$srv/icert.pem" -key "$srv/ikey.pem" -CAfile "$srv/cert.pem" \
    -quiet >"$KK_TMP/s_client2.log" 2>&1 &&
    grep -q "HTTP/1.0 200" "$KK_TMP/s_client2.log"; then
	fail "server accepted a certificate from another CA"
fi

step "status shows the certificate"
kk 0 status --json
serial=$(kk_serial "$out" | tr A-F a-f | sed 's/^0*//')
grep -q "\"serial\":[[:space:]]*\"$serial\"" "$KK_TMP/out" ||
    fail "status --json lacks serial $serial"
grep -q '"pending_order":[[:space:]]*null' "$KK_TMP/out" ||
    fail "status shows a pending order"

step "renew --quiet with nothing due prints nothing and exits 0"
kk 0 renew --quiet
[ ! -s "$KK_TMP/out" ] && [ ! -s "$KK_TMP/err" ] ||
    fail "renew --quiet printed something"
kk 0 renew
grep -q "not due" "$KK_TMP/out" || fail "renew without --quiet is silent"
echo PASS
