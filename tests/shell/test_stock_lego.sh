#!/usr/bin/env bash
# lego 4.9, unchanged, gets certificates from kakuin-server with an EAB key
# of a verified organization: http-01 with its own server, and dns-01
# through its "exec" provider setting the TXT record in
# pebble-challtestsrv, the server's DNS. The certificates name the
# organization and the hosts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"
. "$(dirname "$0")/dnsva.sh"
kk_need lego pebble-challtestsrv python3 curl
kk_setup
kk_server_profile_policy "$KK_TMP/policy.json"
kk_va_start "$KK_TMP/policy.json"
kk_verified_org
both="TLS Web Server Authentication, TLS Web Client Authentication"
export LEGO_CA_CERTIFICATES=$KK_CA

# lego LOG ARGS...: lego against the test server with the EAB key.
lego_run() {
	local log=$1
	shift
	lego --server "$KK_URL/acme/directory" --accept-tos \
	    --email ops@example.jp --eab --kid "$KK_EAB_KID" \
	    --hmac "$KK_EAB_HMAC" --path "$KK_TMP/lego" "$@" run \
	    >"$log" 2>&1 || fail "lego: $(tail -n 30 "$log")"
}

step "lego http-01"
lego_run "$KK_TMP/lego-http.log" --http --http.port "127.0.0.1:$KK_HTTP_PORT" \
    -d lh.test
kk_dns_cert_ok "$KK_TMP/lego/certificates/lh.test.crt" "$both" lh.test

step "lego dns-01 (exec provider)"
cat >"$KK_TMP/exec" <<HOOK
#!/bin/sh
# lego's exec convention: present|cleanup FQDN VALUE.
case "\$1" in
present) exec curl -sf -d "{\"host\":\"\$2\",\"value\":\"\$3\"}" \
    http://127.0.0.1:$KK_DNS_MGMT/set-txt ;;
cleanup) exec curl -sf -d "{\"host\":\"\$2\"}" \
    http://127.0.0.1:$KK_DNS_MGMT/clear-txt ;;
esac
HOOK
chmod +x "$KK_TMP/exec"
# The exec provider solves names one at a time, 60 s apart by default.
EXEC_PATH=$KK_TMP/exec EXEC_PROPAGATION_TIMEOUT=10 EXEC_POLLING_INTERVAL=1 \
    EXEC_SEQUENCE_INTERVAL=1 \
    lego_run "$KK_TMP/lego-dns.log" --dns exec --dns.disable-cp \
    --dns.resolvers "127.0.0.1:$KK_DNS_PORT" -d ld.test -d www.ld.test
kk_dns_cert_ok "$KK_TMP/lego/certificates/ld.test.crt" "$both" \
    ld.test www.ld.test
echo "PASS"
