#!/usr/bin/env bash
# kakuin account show|update|rollover|deactivate, --jitter only before
# network work, proxies from the environment (HTTPS_PROXY, NO_PROXY), and
# a server certificate that does not verify (78).
. "$(dirname "$0")/lib.sh"
kk_setup
kk_server_start
kk_token op1
out="$KK_TMP/out-a"
kk_enroll_approved host-a "$out"

step "account show"
kk 0 account show
acct=$(head -n1 "$KK_TMP/out" | sed -n 's/^account //p')
case "$acct" in
"$KK_URL"/*) ;;
*) fail "account show gave no account URL: $(cat "$KK_TMP/out")" ;;
esac
grep -q '"status":[[:space:]]*"valid"' "$KK_TMP/out" || fail "account not valid"

step "account update --contact"
kk 0 account update --contact mailto:new-ops@example.jp
grep -q "mailto:new-ops@example.jp" "$KK_TMP/out" || fail "contact not updated"
kk 64 account update

step "account rollover: the new key signs from now on"
before=$(sha256sum <"$KAKUIN_STATE_DIR/account.key")
kk 0 account rollover
[ "$(sha256sum <"$KAKUIN_STATE_DIR/account.key")" != "$before" ] ||
    fail "account.key unchanged after rollover"
[ "$(stat -c %a "$KAKUIN_STATE_DIR/account.key")" = 600 ] || fail "new key not 0600"
[ ! -e "$KAKUIN_STATE_DIR/account.key.new" ] || fail "account.key.new left behind"
kk 0 account show
grep -q "^account $acct\$" "$KK_TMP/out" || fail "rollover changed the account"
kk 0 renew --force
kk_pair_ok "$out"

step "--jitter does not delay a run with nothing due"
start=$(date +%s)
kk 0 renew --quiet --jitter 600
[ $(($(date +%s) - start)) -lt 5 ] || fail "--jitter slept with nothing due"
kk 64 renew --jitter soon

step "HTTPS_PROXY is honoured; NO_PROXY bypasses it"
HTTPS_PROXY=http://127.0.0.1:9 kk 69 renew --force
grep -qi "proxy\|127.0.0.1:9\|connect" "$KK_TMP/err" || fail "proxy failure not explained"
HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1 kk 0 renew --force
kk_pair_ok "$out"

step "a server certificate that does not verify: 78, nothing changed"
serial=$(kk_serial "$out")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=other -days 1 -keyout "$KK_TMP/o.key" -out "$KK_TMP/other.pem" 2>/dev/null
kk 78 --ca-bundle "$KK_TMP/other.pem" renew --force
[ "$(kk_serial "$out")" = "$serial" ] || fail "certificate changed"

step "account deactivate: later orders are refused with the server's problem"
kk 0 account deactivate
grep -q '"status":[[:space:]]*"deactivated"' "$KK_TMP/out" || fail "not deactivated"
kk 1 renew --force
grep -q "urn:ietf:params:acme:error:" "$KK_TMP/err" ||
    fail "no problem type shown: $(cat "$KK_TMP/err")"
kk_pair_ok "$out"
[ "$(kk_serial "$out")" = "$serial" ] || fail "certificate changed"
echo PASS
