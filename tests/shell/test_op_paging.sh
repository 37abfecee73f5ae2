#!/usr/bin/env bash
# kakuin op audit reads a log larger than one answer may be (JSON_MAX_LEN,
# 64 KiB): the server answers in pages and the client follows "next" to
# the end, losing and repeating nothing.
. "$(dirname "$0")/lib.sh"
kk_setup
kk_server_start
kk_token op1

n=450
step "$n EAB keys: $n audit events, over 64 KiB of log"
for i in $(seq 1 "$n"); do
	kk_op eab "$KK_ORG" >/dev/null || fail "eab key $i"
done

step "op audit --json reads every page"
kk_op audit --json >"$KK_TMP/audit.json" 2>"$KK_TMP/audit.err" ||
    fail "op audit: $(cat "$KK_TMP/audit.err")"
size=$(wc -c <"$KK_TMP/audit.json")
[ "$size" -gt 65536 ] || fail "the log is only $size bytes: too small a test"
keys=$(grep -c '"action":[[:space:]]*"eab.create"' "$KK_TMP/audit.json" || true)
[ "$keys" -eq "$n" ] || fail "$keys eab.create events, expected $n"
# Each event once: its sequence numbers are all different.
dups=$(sed -n 's/.*"seq":[[:space:]]*\([0-9]*\).*/\1/p' "$KK_TMP/audit.json" |
    sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] || fail "$dups events repeated"
! grep -q '"next"' "$KK_TMP/audit.json" || fail "a cursor left in the output"

step "op audit --since keeps its filter across pages"
kk_op audit --since 2000-01-01T00:00:00Z >"$KK_TMP/since.json" ||
    fail "op audit --since"
keys=$(grep -c '"action":[[:space:]]*"eab.create"' "$KK_TMP/since.json" || true)
[ "$keys" -eq "$n" ] || fail "--since: $keys eab.create events"
kk_op audit --since 2099-01-01T00:00:00Z >"$KK_TMP/none.json" ||
    fail "op audit --since (future)"
! grep -q 'eab.create' "$KK_TMP/none.json" || fail "--since ignored"
echo PASS
