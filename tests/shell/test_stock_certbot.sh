#!/usr/bin/env bash
# certbot 2.1, unchanged, gets a certificate from kakuin-server: an EAB key
# of a verified organization, standalone http-01 validated by the server.
# The certificate names the organization (C, O, organizationIdentifier)
# and the host; the profile adds serverAuth.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"
. "$(dirname "$0")/dnsva.sh"
kk_need certbot pebble-challtestsrv python3
kk_setup
kk_server_profile_policy "$KK_TMP/policy.json"
kk_va_start "$KK_TMP/policy.json"
kk_verified_org

step "certbot certonly --standalone with EAB"
cb=$KK_TMP/certbot
REQUESTS_CA_BUNDLE=$KK_CA certbot certonly --non-interactive \
    --server "$KK_URL/acme/directory" --agree-tos -m ops@example.jp \
    --eab-kid "$KK_EAB_KID" --eab-hmac-key "$KK_EAB_HMAC" \
    --standalone --http-01-address 127.0.0.1 \
    --http-01-port "$KK_HTTP_PORT" -d cb.test -d www.cb.test \
    --config-dir "$cb/config" --work-dir "$cb/work" --logs-dir "$cb/logs" \
    >"$KK_TMP/certbot.out" 2>&1 ||
    fail "certbot: $(tail -n 30 "$KK_TMP/certbot.out")"
kk_dns_cert_ok "$cb/config/live/cb.test/cert.pem" \
    "TLS Web Server Authentication, TLS Web Client Authentication" \
    cb.test www.cb.test

step "the issuance is audited"
kk_op audit --json >"$KK_TMP/audit"
grep -q '"cert.issue"' "$KK_TMP/audit" || fail "no cert.issue audited"
echo "PASS"
