#!/usr/bin/env bash
# After a full TLS 1.3 handshake the server sends one session ticket (not
# OpenSSL's default two: each costs an encoding, an encryption and a
# record), and a client can resume its session with it. The chain sent is
# the one in tls.pem, no more (the server does not build one on each
# handshake): the certificate alone when the root signed it, the issuing
# CA after it when the root's key is offline.
. "$(dirname "$0")/lib.sh"
kk_setup
kk_server_start

# s_tls OUT [s_client options...]: one request over a new connection,
# s_client's report in OUT.
s_tls() {
	local out=$1
	shift
	printf 'GET /acme/directory HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' |
	    timeout 20 openssl s_client -connect "127.0.0.1:$KK_PORT" \
	    -CAfile "$KK_CA" -tls1_3 -ign_eof -verify_return_error \
	    -showcerts "$@" >"$out" 2>&1 ||
	    fail "openssl s_client failed: $(cat "$out")"
}

step "a full handshake brings one session ticket"
s_tls "$KK_TMP/full" -sess_out "$KK_TMP/sess"
grep -q '"newAccount"' "$KK_TMP/full" || fail "no directory: $(cat "$KK_TMP/full")"
n=$(grep -c 'Post-Handshake New Session Ticket arrived' "$KK_TMP/full" || true)
[ "$n" -eq 1 ] || fail "$n session tickets, want 1"
grep -q '^New, TLSv1.3' "$KK_TMP/full" || fail "not a new TLS 1.3 session"

step "the ticket resumes the session"
s_tls "$KK_TMP/resumed" -sess_in "$KK_TMP/sess"
grep -q '^Reused, TLSv1.3' "$KK_TMP/resumed" ||
    fail "session not resumed: $(grep -E '^(New|Reused)' "$KK_TMP/resumed")"
grep -q '"newAccount"' "$KK_TMP/resumed" || fail "no directory when resumed"

# sent OUT: how many certificates the server sent.
sent() {
	grep -c -- '-----BEGIN CERTIFICATE-----' "$1" || true
}

step "signed by the root: the certificate alone"
[ "$(sent "$KK_TMP/full")" -eq 1 ] ||
    fail "$(sent "$KK_TMP/full") certificates sent, want 1"

step "root key offline: the issuing CA follows the certificate"
kk_server_stop
rm "$KK_DATA/private/root.key" "$KK_DATA/private/tls.pem"
kk_server_start "" "$KK_DATA"
s_tls "$KK_TMP/chain"
grep -q '"newAccount"' "$KK_TMP/chain" || fail "no directory: $(cat "$KK_TMP/chain")"
[ "$(sent "$KK_TMP/chain")" -eq 2 ] ||
    fail "$(sent "$KK_TMP/chain") certificates sent, want 2"
grep -q 'Verify return code: 0 (ok)' "$KK_TMP/chain" ||
    fail "chain not verified from root.pem"
echo OK
