#!/usr/bin/env bash
# ARI (RFC 9773) drives kakuin renew: a certificate that is not due stays
# put and status shows the server's window; an operator moves the window
# of the organization's certificates to now (a mass-renewal drill); the
# next renew renews at once, sending "replaces", so that the server
# records that the new certificate replaced the old one. The policy asks
# clients to come back after 1 s, so that the drill is seen at once.
. "$(dirname "$0")/lib.sh"
kk_setup
sed 's/"order_lifetime_hours": 168,/"order_lifetime_hours": 168,\n\t"renewal_info_retry_after": 1,/' \
    "$KAKUIN_SOURCE_DIR/policy/default.json" >"$KK_TMP/policy.json"
grep -q renewal_info_retry_after "$KK_TMP/policy.json" || fail "policy not edited"
kk_server_start "$KK_TMP/policy.json"
kk_token drill

step "enroll a host and install its certificate"
kk_enroll_approved host-a "$KK_TMP/certs"
old=$(kk_serial "$KK_TMP/certs")

step "before renew has asked, status shows the lifetime rule"
kk 0 status --name host-a
grep -q "renewal window: .* (lifetime)" "$KK_TMP/out" || fail "$(cat "$KK_TMP/out")"

step "renew: not due; the window comes from the server"
kk 0 renew --name host-a
grep -q "host-a: not due" "$KK_TMP/out" || fail "$(cat "$KK_TMP/out")"
[ -s "$KAKUIN_STATE_DIR/certs/host-a/ari.json" ] || fail "no ari.json"
kk 0 status --name host-a
grep -q "renewal window: .* (ari)" "$KK_TMP/out" || fail "$(cat "$KK_TMP/out")"
kk 0 status --name host-a --json
grep -q '"source":[[:space:]]*"ari"' "$KK_TMP/out" || fail "$(cat "$KK_TMP/out")"
pick=$(sed -n 's/.*"pick":[[:space:]]*\([0-9]*\).*/\1/p' \
    "$KAKUIN_STATE_DIR/certs/host-a/ari.json")
[ -n "$pick" ] || fail "no moment chosen: $(cat "$KAKUIN_STATE_DIR/certs/host-a/ari.json")"
sleep 1.2
kk 0 renew --name host-a
grep -q "host-a: not due" "$KK_TMP/out" || fail "$(cat "$KK_TMP/out")"
pick2=$(sed -n 's/.*"pick":[[:space:]]*\([0-9]*\).*/\1/p' \
    "$KAKUIN_STATE_DIR/certs/host-a/ari.json")
[ "$pick" = "$pick2" ] || fail "the chosen moment changed ($pick, $pick2) for the same window"
[ "$(kk_serial "$KK_TMP/certs")" = "$old" ] || fail "renewed though not due"

step "the operator moves the organization's window to now"
# A window that has just closed: every client renews at its next look.
kk_op renewal-window --org "$KK_ORG" --reason "mass-renewal drill" \
    --start "$(date -u -d '-2 min' +%Y-%m-%dT%H:%M:%SZ)" \
    --end "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    >"$KK_TMP/drill" || fail "renewal-window: $(cat "$KK_TMP/drill")"
grep -q '"moved":[[:space:]]*1' "$KK_TMP/drill" || fail "$(cat "$KK_TMP/drill")"
sleep 1.2

step "the next renew renews at once and the new certificate replaces the old"
kk 0 renew --name host-a
new=$(kk_serial "$KK_TMP/certs")
[ "$new" != "$old" ] || fail "not renewed after the drill: $(cat "$KK_TMP/out")"
kk_pair_ok "$KK_TMP/certs"
kk_op audit --json >"$KK_TMP/audit"
oldhex=$(echo "$old" | tr 'A-F' 'a-f')
grep -q "\"replaces\":[[:space:]]*\"$oldhex\"" "$KK_TMP/audit" ||
    fail "no order.create replacing $oldhex in the audit log"
grep -q '"cert.renewal_window"' "$KK_TMP/audit" || fail "drill not audited"

step "kakuin op domains and renewal-window by serial"
kk_op domains "$KK_ORG" --add Example.JP --add grid.example.com >"$KK_TMP/dom" ||
    fail "domains --add: $(cat "$KK_TMP/dom")"
grep -q '"added":[[:space:]]*2' "$KK_TMP/dom" || fail "$(cat "$KK_TMP/dom")"
kk_op domains "$KK_ORG" >"$KK_TMP/dom" || fail "domains: $(cat "$KK_TMP/dom")"
grep -q '"example.jp"' "$KK_TMP/dom" || fail "$(cat "$KK_TMP/dom")"
newhex=$(echo "$new" | tr 'A-F' 'a-f')
kk_op renewal-window --serial "$newhex" --start 2030-01-01T00:00:00Z \
    --end 2030-01-02T00:00:00Z >"$KK_TMP/drill" ||
    fail "renewal-window --serial: $(cat "$KK_TMP/drill")"
grep -q '"moved":[[:space:]]*1' "$KK_TMP/drill" || fail "$(cat "$KK_TMP/drill")"
kk 64 op renewal-window --org "$KK_ORG" --serial "$newhex"
sleep 1.2

step "renew again: the new certificate is not due"
kk 0 renew --name host-a
grep -q "host-a: not due" "$KK_TMP/out" || fail "$(cat "$KK_TMP/out")"
[ "$(kk_serial "$KK_TMP/certs")" = "$new" ] || fail "renewed twice"
grep -q "renews from 2030-01-" "$KK_TMP/out" || fail "the moved window is not followed: $(cat "$KK_TMP/out")"
echo PASS
