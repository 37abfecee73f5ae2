# Helpers for the PKCS#11 shell tests (sourced after lib.sh): a SoftHSM2
# token of the test's own, under $KK_TMP, and checks that a token key and
# a certificate belong together. Tests skip (exit 0, saying why) when
# SoftHSM2 or OpenSSL's pkcs11 engine is missing; scripts/deps.sh installs
# them.

KK_P11_MODULE=/usr/lib/softhsm/libsofthsm2.so
KK_P11_PIN=1234

kk_p11_skip() {
	echo "SKIP: $*"
	exit 0
}

# kk_p11_token LABEL: a fresh token; sets SOFTHSM2_CONF, KK_P11_PIN_FILE.
kk_p11_token() {
	[ -r "$KK_P11_MODULE" ] || kk_p11_skip "SoftHSM2 is not installed ($KK_P11_MODULE)"
	command -v softhsm2-util >/dev/null || kk_p11_skip "softhsm2-util is missing"
	command -v pkcs11-tool >/dev/null || kk_p11_skip "pkcs11-tool (opensc) is missing"
	openssl engine pkcs11 >/dev/null 2>&1 ||
	    kk_p11_skip "OpenSSL's pkcs11 engine (libengine-pkcs11-openssl) is missing"
	mkdir -p "$KK_TMP/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
	    "$KK_TMP/tokens" >"$KK_TMP/softhsm2.conf"
	export SOFTHSM2_CONF="$KK_TMP/softhsm2.conf"
	softhsm2-util --init-token --free --label "$1" --so-pin 5678 \
	    --pin "$KK_P11_PIN" >/dev/null || fail "cannot make token $1"
	KK_P11_PIN_FILE="$KK_TMP/pin"
	printf '%s\n' "$KK_P11_PIN" >"$KK_P11_PIN_FILE"
	chmod 600 "$KK_P11_PIN_FILE"
}

# kk_p11_objects TOKEN TYPE LABEL: how many objects of TYPE (privkey,
# pubkey) carry LABEL in TOKEN.
kk_p11_objects() {
	pkcs11-tool --module "$KK_P11_MODULE" --token-label "$1" --login \
	    --pin "$KK_P11_PIN" --list-objects --type "$2" 2>/dev/null |
	    grep -c "label: *$3\$" || true
}

# kk_p11_has URI: the token (kakuin-host or whichever URI names) still
# holds a private key with URI's id (kakuin writes ids fully %-escaped).
kk_p11_has() {
	local hex tok
	hex=$(printf '%s' "$1" | sed -n 's/.*;id=\([^;?]*\).*/\1/p' | tr -d %)
	tok=$(printf '%s' "$1" | sed -n 's/.*token=\([^;?]*\).*/\1/p')
	[ -n "$hex" ] || fail "no id in $1"
	pkcs11-tool --module "$KK_P11_MODULE" --token-label "$tok" --login \
	    --pin "$KK_P11_PIN" --list-objects --type privkey 2>/dev/null |
	    grep -qi "ID: *$hex\$"
}

# kk_p11_sign URI FILE SIG: signs FILE with the token key URI names, through
# OpenSSL's pkcs11 engine (which takes the module from the environment,
# not from the URI's query).
kk_p11_sign() {
	PKCS11_MODULE_PATH=$KK_P11_MODULE openssl pkeyutl -engine pkcs11 \
	    -keyform engine -inkey "${1%%\?*}?pin-value=$KK_P11_PIN" -sign \
	    -rawin -digest sha256 -in "$2" -out "$3" >/dev/null 2>&1
}

# kk_p11_matches URI CERT: the private key in the token signs what CERT's
# public key verifies.
kk_p11_matches() {
	local d=$KK_TMP/p11sig
	mkdir -p "$d"
	echo "kakuin $RANDOM" >"$d/msg"
	rm -f "$d/sig"
	kk_p11_sign "$1" "$d/msg" "$d/sig" || return 1
	openssl x509 -in "$2" -noout -pubkey >"$d/pub.pem" || return 1
	openssl pkeyutl -verify -pubin -inkey "$d/pub.pem" -rawin \
	    -digest sha256 -in "$d/msg" -sigfile "$d/sig" >/dev/null 2>&1
}

# kk_p11_pair_ok OUT: OUT holds key.uri (no key.pem), its token key matches
# cert.pem, and the chain verifies for clientAuth.
kk_p11_pair_ok() {
	local out=$1
	[ -s "$out/key.uri" ] || fail "$out/key.uri missing"
	[ ! -e "$out/key.pem" ] || fail "$out/key.pem exists for a token key"
	grep -q '^pkcs11:.*;id=' "$out/key.uri" || fail "$out/key.uri: $(cat "$out/key.uri")"
	grep -q pin-value "$out/key.uri" && fail "$out/key.uri holds a PIN"
	kk_p11_matches "$(cat "$out/key.uri")" "$out/cert.pem" ||
	    fail "the token key $(cat "$out/key.uri") does not match $out/cert.pem"
	openssl verify -CAfile "$KK_CA" -untrusted "$out/chain.pem" \
	    -purpose sslclient "$out/cert.pem" >/dev/null ||
	    fail "certificate in $out does not verify"
}

# kk_p11_server_start DATA ARGS...: like kk_server_start, on data
# directory DATA with more server options.
kk_p11_server_start() {
	local i
	KK_DATA=$1
	shift
	"$KAKUIN_SERVER_BIN" --data-dir "$KK_DATA" --listen 127.0.0.1:0 "$@" \
	    serve >"$KK_DATA.out" 2>"$KK_DATA.log" &
	KK_SERVER_PID=$!
	KK_PIDS+=("$KK_SERVER_PID")
	KK_PORT=
	for i in $(seq 1 100); do
		KK_PORT=$(sed -n 's|.*listening on https://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' \
		    "$KK_DATA.log" | head -n1)
		[ -n "$KK_PORT" ] && break
		kill -0 "$KK_SERVER_PID" 2>/dev/null ||
		    fail "server died: $(cat "$KK_DATA.log")"
		sleep 0.1
	done
	[ -n "$KK_PORT" ] || fail "server did not listen: $(cat "$KK_DATA.log")"
	KK_URL="https://127.0.0.1:$KK_PORT"
	KK_CA="$KK_DATA/root.pem"
}
