#!/usr/bin/env bash
# The issuing CA key in a PKCS#11 token (SoftHSM2): init generates it there
# (sensitive, never extractable) and writes only its URI; the server
# issues and revokes with it and the CRL it signs verifies; the server
# refuses to start, naming the URI, when the token or the key is missing
# or the PIN is wrong.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/p11.sh"
kk_setup
kk_p11_token kakuin-ca
uri="pkcs11:token=kakuin-ca;object=issuing?module-path=$KK_P11_MODULE"
data="$KK_TMP/server"

step "init generates the issuing key in the token; no key file"
"$KAKUIN_SERVER_BIN" --data-dir "$data" --ca-key "$uri" \
    --ca-pin-file "$KK_P11_PIN_FILE" init >"$KK_TMP/init.out" 2>&1 ||
    fail "init: $(cat "$KK_TMP/init.out")"
[ ! -e "$data/private/issuing.key" ] || fail "issuing.key written"
[ -s "$data/issuing.pem" ] || fail "no issuing.pem"
grep -q "^pkcs11:token=kakuin-ca;object=issuing;id=" "$data/private/issuing.uri" ||
    fail "issuing.uri: $(cat "$data/private/issuing.uri")"
grep -q "$KK_P11_PIN" "$data/private/issuing.uri" && fail "PIN in issuing.uri"
pkcs11-tool --module "$KK_P11_MODULE" --token-label kakuin-ca --login \
    --pin "$KK_P11_PIN" --list-objects --type privkey >"$KK_TMP/objs" 2>&1
grep -q "never extractable" "$KK_TMP/objs" || fail "key extractable: $(cat "$KK_TMP/objs")"
grep -q "sensitive" "$KK_TMP/objs" || fail "key not sensitive"
kk_p11_matches "$(cat "$data/private/issuing.uri")" "$data/issuing.pem" ||
    fail "token key does not match issuing.pem"
openssl verify -CAfile "$data/root.pem" "$data/issuing.pem" >/dev/null ||
    fail "issuing.pem does not chain to root.pem"

step "init refuses a second time"
rc=0
"$KAKUIN_SERVER_BIN" --data-dir "$data" --ca-key "$uri" init \
    >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 78 ] || fail "second init exited $rc"

step "serve signs with the token key (PIN from KAKUIN_CA_PIN)"
KAKUIN_CA_PIN=$KK_P11_PIN kk_p11_server_start "$data"
kk_token op1
out="$KK_TMP/out-a"
kk_enroll_approved host-a "$out"
openssl verify -CAfile "$KK_CA" -untrusted "$out/chain.pem" "$out/cert.pem" \
    >/dev/null || fail "leaf does not verify"

step "revocation; the CRL is signed by the token key and verifies"
serial=$(kk_serial "$out" | tr A-F a-f)
kk_op revoke "$serial" --reason keyCompromise >/dev/null
crl=$(openssl x509 -in "$out/cert.pem" -noout -ext crlDistributionPoints |
    sed -n 's/.*URI://p' | head -n1)
curl -sf --cacert "$KK_CA" -o "$KK_TMP/crl.der" "$crl" || fail "cannot fetch $crl"
openssl crl -inform DER -in "$KK_TMP/crl.der" -out "$KK_TMP/crl.pem"
openssl crl -in "$KK_TMP/crl.pem" -CAfile "$data/issuing.pem" -noout -verify \
    2>&1 | grep -q "verify OK" || fail "CRL signature does not verify"
openssl crl -in "$KK_TMP/crl.pem" -noout -text |
    grep -qi "Serial Number: *$serial" || fail "revoked serial not in the CRL"
cat "$data/root.pem" "$data/issuing.pem" >"$KK_TMP/chain-crl.pem"
rc=0
openssl verify -crl_check -CAfile "$KK_TMP/chain-crl.pem" \
    -CRLfile "$KK_TMP/crl.pem" "$out/cert.pem" >"$KK_TMP/v" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q "certificate revoked" "$KK_TMP/v" ||
    fail "verify -crl_check did not find the revocation: $(cat "$KK_TMP/v")"
kk_server_stop

# kk_refused WHAT ARGS...: serve must exit 78 naming the token URI.
kk_refused() {
	local what=$1 rc=0
	shift
	"$KAKUIN_SERVER_BIN" --data-dir "$data" --listen 127.0.0.1:0 "$@" \
	    serve >/dev/null 2>"$KK_TMP/refused" || rc=$?
	[ "$rc" -eq 78 ] || fail "$what: serve exited $rc: $(cat "$KK_TMP/refused")"
	grep -q "pkcs11:token=" "$KK_TMP/refused" ||
	    fail "$what: the URI is not named: $(cat "$KK_TMP/refused")"
	grep -q "$KK_P11_PIN" "$KK_TMP/refused" && fail "$what: the PIN is shown"
	echo "  $what: $(head -n1 "$KK_TMP/refused")"
}

step "the server refuses to start without the PIN, or with a wrong one"
kk_refused "no PIN"
printf '0000\n' >"$KK_TMP/badpin"
chmod 600 "$KK_TMP/badpin"
kk_refused "wrong PIN" --ca-pin-file "$KK_TMP/badpin"
grep -q "refused the PIN" "$KK_TMP/refused" || fail "no PIN message"

step "the server refuses to start when the token is missing"
kk_refused "token missing" --ca-pin-file "$KK_P11_PIN_FILE" \
    --ca-key "pkcs11:token=elsewhere;object=issuing?module-path=$KK_P11_MODULE"
grep -q "no token elsewhere" "$KK_TMP/refused" || fail "token not named"
mv "$KK_TMP/tokens" "$KK_TMP/tokens.away"
mkdir "$KK_TMP/tokens"
kk_refused "token removed" --ca-pin-file "$KK_P11_PIN_FILE"
rmdir "$KK_TMP/tokens"
mv "$KK_TMP/tokens.away" "$KK_TMP/tokens"

step "the server refuses to start when the key is gone from the token"
pkcs11-tool --module "$KK_P11_MODULE" --token-label kakuin-ca --login \
    --pin "$KK_P11_PIN" --delete-object --type privkey --label issuing \
    >/dev/null 2>&1 || fail "cannot delete the key"
kk_refused "key missing" --ca-pin-file "$KK_P11_PIN_FILE"
grep -q "no private key issuing" "$KK_TMP/refused" || fail "key not named"
echo PASS
