# Helpers for the interoperability tests against Pebble, Let's Encrypt's
# test ACME server, sourced after lib.sh. Each test starts its own Pebble
# (and pebble-challtestsrv as Pebble's DNS) on free loopback ports: Pebble
# handles little concurrent load well, so nothing is shared.

# kk_need_pebble: skips the test (ctest's SKIP_RETURN_CODE 77) when the
# peer is not installed; scripts/deps.sh installs it.
kk_need_pebble() {
	local p
	for p in pebble pebble-challtestsrv python3; do
		if ! command -v "$p" >/dev/null; then
			echo "SKIP: $p is not installed (scripts/deps.sh installs it)"
			exit 77
		fi
	done
}

# kk_free_port: a TCP port nobody listens on right now on 127.0.0.1.
kk_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# kk_wait_port PORT PID WHAT: until something accepts on PORT.
kk_wait_port() {
	local i
	for i in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || fail "$3 died"
		sleep 0.1
	done
	fail "$3 did not listen on port $1"
}

# kk_pebble_start [NONCE_REJECT_PERCENT]: Pebble with real validation
# (PEBBLE_VA_ALWAYS_VALID=0, no authorization reuse: every order is
# validated) and challtestsrv as its DNS (every name is
# 127.0.0.1). Sets KK_URL (the directory), KK_CA (Pebble's listener
# certificate, for --ca-bundle), KK_ROOT (the root that issues),
# KK_HTTP_PORT and KK_TLS_PORT (where Pebble validates http-01 and
# tls-alpn-01) and KK_DNS_MGMT (challtestsrv's management API).
kk_pebble_start() {
	local reject=${1:-0} dir=$KK_TMP/pebble port mgmt dns
	mkdir -p "$dir"
	port=$(kk_free_port)
	mgmt=$(kk_free_port)
	dns=$(kk_free_port)
	KK_DNS_MGMT=$(kk_free_port)
	KK_HTTP_PORT=$(kk_free_port)
	KK_TLS_PORT=$(kk_free_port)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 \
	    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	    2>/dev/null || fail "cannot make Pebble's listener certificate"
	cat >"$dir/config.json" <<JSON
{"pebble": {
  "listenAddress": "127.0.0.1:$port",
  "managementListenAddress": "127.0.0.1:$mgmt",
  "certificate": "$dir/cert.pem",
  "privateKey": "$dir/key.pem",
  "httpPort": $KK_HTTP_PORT,
  "tlsPort": $KK_TLS_PORT,
  "ocspResponderURL": "",
  "externalAccountBindingRequired": false
}}
JSON
	# Only its DNS: the challenges are answered by kakuin itself.
	pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
	    -dns01 "127.0.0.1:$dns" -management "127.0.0.1:$KK_DNS_MGMT" \
	    -http01 "" -https01 "" -tlsalpn01 "" >"$dir/challtestsrv.log" 2>&1 &
	KK_PIDS+=($!)
	kk_wait_port "$KK_DNS_MGMT" $! pebble-challtestsrv
	PEBBLE_VA_ALWAYS_VALID=0 PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0 \
	    PEBBLE_WFE_NONCEREJECT=$reject \
	    pebble -config "$dir/config.json" -dnsserver "127.0.0.1:$dns" \
	    >"$dir/pebble.log" 2>&1 &
	KK_PIDS+=($!)
	kk_wait_port "$port" $! pebble
	KK_URL="https://127.0.0.1:$port/dir"
	KK_CA=$dir/cert.pem
	KK_ROOT=$dir/root.pem
	curl -sf --cacert "$KK_CA" "https://127.0.0.1:$mgmt/roots/0" \
	    >"$KK_ROOT" || fail "cannot fetch Pebble's root"
}

# kk_pebble_cert_ok OUT NAME...: cert.pem in OUT chains to Pebble's root
# and its SAN holds exactly the given dns names.
kk_pebble_cert_ok() {
	local out=$1 want got
	shift
	[ -s "$out/cert.pem" ] || fail "$out/cert.pem missing"
	openssl verify -CAfile "$KK_ROOT" -untrusted "$out/chain.pem" \
	    "$out/cert.pem" >/dev/null || fail "$out/cert.pem does not verify"
	want=$(printf 'DNS:%s\n' "$@" | sort | paste -sd,)
	got=$(openssl x509 -in "$out/cert.pem" -noout -ext subjectAltName |
	    tail -n +2 | tr -d ' ' | tr , '\n' | sort | paste -sd,)
	[ "$got" = "$want" ] || fail "SAN is '$got', expected '$want'"
}
