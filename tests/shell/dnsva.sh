# Helpers for the tests of kakuin-server's own validation of dns
# identifiers, sourced after lib.sh and pebble.sh (for kk_free_port and
# kk_wait_port): pebble-challtestsrv as the server's DNS (every name is
# 127.0.0.1; TXT records set through its management API), and a server
# whose validation looks at free loopback ports instead of 80 and 443.

# kk_va_start [policy-file]: challtestsrv and the server, which may
# validate at loopback addresses (--va-allow-private) unless KK_VA_PRIVATE
# is set and empty; its DNS listens on KK_DNS_HOST (127.0.0.1, or an
# IPv6 address such as ::1). Sets KK_DNS_PORT,
# KK_DNS_MGMT, KK_HTTP_PORT, KK_TLS_PORT, and what kk_server_start sets.
kk_va_start() {
	command -v pebble-challtestsrv >/dev/null || {
		echo "SKIP: pebble-challtestsrv is not installed"
		exit 77
	}
	KK_DNS_PORT=$(kk_free_port)
	KK_DNS_MGMT=$(kk_free_port)
	KK_HTTP_PORT=$(kk_free_port)
	KK_TLS_PORT=$(kk_free_port)
	local dns=${KK_DNS_HOST:-127.0.0.1}:$KK_DNS_PORT
	case ${KK_DNS_HOST:-} in *:*) dns="[$KK_DNS_HOST]:$KK_DNS_PORT" ;; esac
	# Only its DNS; -defaultIPv6 "": no AAAA answers pointing at [::1].
	pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
	    -dns01 "$dns" -management "127.0.0.1:$KK_DNS_MGMT" \
	    -http01 "" -https01 "" -tlsalpn01 "" >"$KK_TMP/challtestsrv.log" 2>&1 &
	KK_PIDS+=($!)
	kk_wait_port "$KK_DNS_MGMT" $! pebble-challtestsrv
	KK_SERVER_ARGS=(--va-resolver "$dns"
	    --va-http-port "$KK_HTTP_PORT" --va-tls-port "$KK_TLS_PORT"
	    --va-timeout 5 ${KK_VA_PRIVATE---va-allow-private})
	kk_server_start "${1:-}"
}

# kk_dns_hook FILE: a kakuin --dns-hook (ACTION NAME VALUE) that sets and
# clears TXT records in challtestsrv.
kk_dns_hook() {
	cat >"$1" <<HOOK
#!/bin/sh
case "\$1" in
add) exec curl -sf -d "{\"host\":\"\$2.\",\"value\":\"\$3\"}" \
    http://127.0.0.1:$KK_DNS_MGMT/set-txt ;;
remove) exec curl -sf -d "{\"host\":\"\$2.\"}" \
    http://127.0.0.1:$KK_DNS_MGMT/clear-txt ;;
esac
exit 2
HOOK
	chmod +x "$1"
}

# kk_verified_org: the organization KK_ORG verified by an operator (the
# client's account is bound to it), and an EAB key of it in KK_EAB_KID and
# KK_EAB_HMAC for stock clients.
kk_verified_org() {
	kk_token op1
	kk_enroll_approved org-host "$KK_TMP/org-host"
	kk_op eab "$KK_ORG" >"$KK_TMP/eab"
	KK_EAB_KID=$(sed -n 's/^kid: //p' "$KK_TMP/eab")
	KK_EAB_HMAC=$(sed -n 's/^hmac_key: //p' "$KK_TMP/eab")
	[ -n "$KK_EAB_KID" ] && [ -n "$KK_EAB_HMAC" ] ||
	    fail "no EAB key: $(cat "$KK_TMP/eab")"
}

# kk_dns_cert_ok CERT EKU NAME...: the certificate chains to the server's
# root, names the verified organization (C, O, organizationIdentifier),
# has CN = the first name, exactly the names as dNSName SANs, and the
# extended key usage EKU ("TLS Web Client Authentication" or both).
kk_dns_cert_ok() {
	local cert=$1 eku=$2 want got text
	shift 2
	[ -s "$cert" ] || fail "$cert missing"
	openssl verify -CAfile "$KK_CA" -untrusted "$KK_DATA/issuing.pem" \
	    "$cert" >/dev/null || fail "$cert does not verify"
	text=$(openssl x509 -in "$cert" -noout -text)
	subj=$(openssl x509 -in "$cert" -noout -subject -nameopt RFC2253)
	case "$subj" in
	*"CN=$1,"*"organizationIdentifier=$KK_ORG"*"O=Example Power KK"*"C=JP"* | \
	*"CN=$1,"*"2.5.4.97=$KK_ORG"*"O=Example Power KK"*"C=JP"*) ;;
	*) fail "subject is '$subj'" ;;
	esac
	want=$(printf 'DNS:%s\n' "$@" | sort | paste -sd,)
	got=$(openssl x509 -in "$cert" -noout -ext subjectAltName |
	    tail -n +2 | tr -d ' ' | tr , '\n' | sort | paste -sd,)
	[ "$got" = "$want" ] || fail "SAN is '$got', expected '$want'"
	got=$(openssl x509 -in "$cert" -noout -ext extendedKeyUsage |
	    tail -n +2 | sed 's/^ *//')
	[ "$got" = "$eku" ] || fail "EKU is '$got', expected '$eku'"
	: "$text"
}

# kk_server_profile_policy FILE: the default policy, its profile giving
# serverAuth besides clientAuth (what hosts running certbot or lego want).
kk_server_profile_policy() {
	python3 - "$KAKUIN_SOURCE_DIR/policy/default.json" "$1" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["profiles"][0]["eku"] = ["serverAuth", "clientAuth"]
json.dump(p, open(sys.argv[2], "w"), indent=1)
PY
}

# kk_need TOOL...: skips the test when a peer is not installed.
kk_need() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null || {
			echo "SKIP: $p is not installed (scripts/deps.sh installs it)"
			exit 77
		}
	done
}
