#!/usr/bin/env bash
# --va-resolver [IPv6]:PORT: the server's DNS (pebble-challtestsrv) listens
# on [::1] only, so both validations below get their answers over IPv6 or
# not at all: http-01 (the A record of the name) and dns-01 (the TXT
# record a hook sets). Malformed values are refused at start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"
. "$(dirname "$0")/dnsva.sh"
kk_setup
python3 -c 'import socket
socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))' \
    2>/dev/null || {
	echo "SKIP: no ::1 here"
	exit 77
}

step "malformed --va-resolver values exit 64"
for bad in "::1:53" "[::1]" "[::1]53" "[127.0.0.1]:53" "[::1]:0" "[]:53" \
    "[::1:53" "::1]:53"; do
	"$KAKUIN_SERVER_BIN" --va-resolver "$bad" --help >/dev/null 2>&1 &&
	    fail "--va-resolver $bad accepted"
	[ $? -eq 64 ] || fail "--va-resolver $bad: not 64"
done

KK_DNS_HOST=::1 kk_va_start
kk_verified_org
client="TLS Web Client Authentication"

step "http-01, the name resolved through [::1]"
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:six.test --challenge http-01 \
    --standalone "127.0.0.1:$KK_HTTP_PORT" --out "$KK_TMP/h"
kk_dns_cert_ok "$KK_TMP/h/cert.pem" "$client" six.test

step "dns-01, the TXT record read through [::1]"
kk_dns_hook "$KK_TMP/hook"
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:txt6.test --challenge dns-01 --dns-hook "$KK_TMP/hook" \
    --out "$KK_TMP/d"
kk_dns_cert_ok "$KK_TMP/d/cert.pem" "$client" txt6.test
echo "PASS"
