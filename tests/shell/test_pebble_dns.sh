#!/usr/bin/env bash
# kakuin against Pebble with real dns-01 validation: the hook publishes
# the TXT record through pebble-challtestsrv's management API, which is
# Pebble's DNS, and removes it afterwards.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"
kk_need_pebble
kk_setup
kk_pebble_start

cat >"$KK_TMP/hook" <<HOOK
#!/bin/sh
# kakuin's dns hook convention: ACTION NAME VALUE.
echo "\$* \$KAKUIN_DNS_ACTION" >>"$KK_TMP/hook.log"
case "\$1" in
add) exec curl -sf -d "{\"host\":\"\$2.\",\"value\":\"\$3\"}" \
    http://127.0.0.1:$KK_DNS_MGMT/set-txt ;;
remove) exec curl -sf -d "{\"host\":\"\$2.\"}" \
    http://127.0.0.1:$KK_DNS_MGMT/clear-txt ;;
esac
exit 2
HOOK
chmod +x "$KK_TMP/hook"

step "a failing hook: no certificate, exit 1"
kk 1 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:x.test --challenge dns-01 --dns-hook false \
    --out "$KK_TMP/x"
grep -q "dns hook (add _acme-challenge.x.test) failed" "$KK_TMP/err" ||
    fail "$(cat "$KK_TMP/err")"

step "dns-01 for two names"
kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
    --identifier dns:d.test --identifier dns:e.test \
    --challenge dns-01 --dns-hook "$KK_TMP/hook" --out "$KK_TMP/d"
kk_pebble_cert_ok "$KK_TMP/d" d.test e.test
[ "$(grep -c '^add _acme-challenge\.[de]\.test [A-Za-z0-9_-]\{43\} add$' \
    "$KK_TMP/hook.log")" = 2 ] || fail "hook calls: $(cat "$KK_TMP/hook.log")"
[ "$(grep -c '^remove _acme-challenge\.[de]\.test .* remove$' \
    "$KK_TMP/hook.log")" = 2 ] || fail "records not removed"

step "renew --force repeats dns-01 with the remembered hook"
: >"$KK_TMP/hook.log"
kk 0 renew --force --name d.test
grep -q "validated by dns-01" "$KK_TMP/out" || fail "renew did not validate"
# Pebble reuses a valid authorization one time in a hundred even with
# PEBBLE_AUTHZREUSE=0 (a new one is made when rand.Intn(100) > 0), and a
# name whose authorization it reused has no challenge to answer. So:
# every name the client answered went through the remembered hook, and
# there was at least one.
answered=$(sed -n 's/^\([a-z.]*\): answering dns-01$/\1/p' "$KK_TMP/out")
[ -n "$answered" ] ||
    fail "renew answered no challenge: $(cat "$KK_TMP/out" "$KK_TMP/err")"
for name in $answered; do
	grep -q "^add _acme-challenge\.$name " "$KK_TMP/hook.log" &&
	    grep -q "^remove _acme-challenge\.$name " "$KK_TMP/hook.log" ||
	    fail "renew did not run the hook for $name: $(cat "$KK_TMP/hook.log" "$KK_TMP/out" "$KK_TMP/err")"
done
kk_pebble_cert_ok "$KK_TMP/d" d.test e.test
echo "PASS"
