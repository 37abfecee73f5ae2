#!/usr/bin/env bash
# The operator issues an EAB key; host B enrolls with it and is done at
# once; the deploy hook runs with its environment only when a certificate
# was installed; a failing hook gives exit 1 but keeps the new certificate;
# --p12 writes a bundle; revocation by the client and by the operator
# shows in the CRL.
. "$(dirname "$0")/lib.sh"
kk_setup
kk_server_start
kk_token op1

step "host A verified by an operator"
outa="$KK_TMP/out-a"
kk_enroll_approved host-a "$outa"

step "operator issues an EAB key for the organization"
kk_op eab "$KK_ORG" >"$KK_TMP/eab"
kid=$(sed -n 's/^kid: //p' "$KK_TMP/eab")
hmac=$(sed -n 's/^hmac_key: //p' "$KK_TMP/eab")
[ -n "$kid" ] && [ -n "$hmac" ] || fail "no EAB key: $(cat "$KK_TMP/eab")"

step "host B enrolls with it: done at once, hook runs, p12 written"
export KAKUIN_STATE_DIR="$KK_TMP/state-b"
outb="$KK_TMP/out-b"
echo "s3cret pass" >"$KK_TMP/p12pass"
hooklog="$KK_TMP/hook.log"
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org "$KK_ORG" \
    --name host-b --out "$outb" --eab-kid "$kid" --eab-hmac-key "$hmac" \
    --key-type ec-p384 --p12 --p12-pass-file "$KK_TMP/p12pass" \
    --deploy-hook "echo \"\$KAKUIN_NAME \$KAKUIN_CERT \$KAKUIN_KEY \$KAKUIN_FULLCHAIN\" >>$hooklog"
kk_pair_ok "$outb"
openssl x509 -in "$outb/cert.pem" -noout -text | grep -q "384 bit" ||
    fail "--key-type ec-p384 not honoured"
[ "$(wc -l <"$hooklog")" -eq 1 ] || fail "hook did not run once"
grep -qx "host-b $outb/cert.pem $outb/key.pem $outb/fullchain.pem" "$hooklog" ||
    fail "hook environment wrong: $(cat "$hooklog")"
openssl pkcs12 -in "$outb/bundle.p12" -passin "pass:s3cret pass" -nodes \
    -out "$KK_TMP/p12.pem" 2>/dev/null || fail "bundle.p12 does not open"
grep -q "PRIVATE KEY" "$KK_TMP/p12.pem" || fail "no key in bundle.p12"
[ "$(kk_op list | grep -c "$KK_ORG" || true)" -eq 0 ] ||
    fail "EAB enrollment queued a verification"

step "renew with nothing due: the hook does not run"
kk 0 renew
[ "$(wc -l <"$hooklog")" -eq 1 ] || fail "hook ran without a new certificate"

step "renew --force: new certificate and key, hook runs again"
oldkey=$(openssl pkey -in "$outb/key.pem" -pubout | sha256sum)
old=$(kk_serial "$outb")
kk 0 renew --force
[ "$(kk_serial "$outb")" != "$old" ] || fail "no new certificate"
[ "$(openssl pkey -in "$outb/key.pem" -pubout | sha256sum)" != "$oldkey" ] ||
    fail "key reused without --reuse-key"
[ "$(wc -l <"$hooklog")" -eq 2 ] || fail "hook did not run after renewal"
kk_pair_ok "$outb"

step "renew --force --reuse-key keeps the key"
oldkey=$(openssl pkey -in "$outb/key.pem" -pubout | sha256sum)
kk 0 renew --force --reuse-key
[ "$(openssl pkey -in "$outb/key.pem" -pubout | sha256sum)" = "$oldkey" ] ||
    fail "--reuse-key made a new key"

step "a failing hook: exit 1, reported, new certificate installed"
cfg="$KAKUIN_STATE_DIR/certs/host-b/config.json"
sed -i 's|"deploy_hook":[^,]*,|"deploy_hook": "exit 3",|' "$cfg"
grep -q '"exit 3"' "$cfg" || fail "could not set the failing hook"
old=$(kk_serial "$outb")
kk 1 renew --force
grep -q "deploy hook failed with exit status 3" "$KK_TMP/err" ||
    fail "hook failure not reported: $(cat "$KK_TMP/err")"
[ "$(kk_serial "$outb")" != "$old" ] || fail "new certificate not kept"
kk_pair_ok "$outb"

step "host B revokes its previous certificate; it appears in the CRL"
prev="$outb/previous/cert.pem"
pserial=$(openssl x509 -in "$prev" -noout -serial | cut -d= -f2)
kk 0 revoke --name host-b --cert "$prev" --reason superseded
crl=$(openssl x509 -in "$outb/cert.pem" -noout -ext crlDistributionPoints |
    sed -n 's/.*URI://p' | head -n1)
[ -n "$crl" ] || fail "no CRL distribution point"
curl -sf --cacert "$KK_CA" -o "$KK_TMP/crl.der" "$crl" || fail "cannot fetch $crl"
openssl crl -inform DER -in "$KK_TMP/crl.der" -noout -text >"$KK_TMP/crl.txt"
grep -qi "Serial Number: *$pserial" "$KK_TMP/crl.txt" ||
    fail "revoked serial $pserial not in the CRL"

step "operator revokes host A's certificate; it appears in the CRL"
aserial=$(kk_serial "$outa" | tr A-F a-f)
kk_op revoke "$aserial" --reason keyCompromise >/dev/null
curl -sf --cacert "$KK_CA" -o "$KK_TMP/crl.der" "$crl" || fail "cannot fetch $crl"
openssl crl -inform DER -in "$KK_TMP/crl.der" -noout -text |
    grep -qi "Serial Number: *$aserial" || fail "operator revocation not in CRL"
echo PASS
