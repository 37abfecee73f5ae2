#!/usr/bin/env bash
# The corporate-number registry: tests/data/nta_registry.csv (the NTA's
# 30-column CSV, with quoted commas, doubled quotes and a newline in a
# field, a number twice) imports with its bad rows named by line, and
# again changes nothing; a file that is not CSV stops with exit 65. The
# verification of a registered corporate number shows the registry's name
# and address in GET verifications/ID, the list, the organization's page
# and `kakuin op show`; an approval under another legal name, or of a
# closed corporation, is refused (409) unless it gives an
# override_reason, which the approval's audit event records.
. "$(dirname "$0")/lib.sh"
kk_setup
csv="$KAKUIN_SOURCE_DIR/tests/data/nta_registry.csv"
data="$KK_TMP/data"
"$KAKUIN_SERVER_BIN" init --data-dir "$data" >/dev/null 2>&1 || fail "init"

step "import: counts, and each rejected row by line"
rc=0
"$KAKUIN_SERVER_BIN" --data-dir "$data" registry import "$csv" \
    >"$KK_TMP/imp.out" 2>"$KK_TMP/imp.err" || rc=$?
[ "$rc" -eq 0 ] || fail "import exited $rc: $(cat "$KK_TMP/imp.err")"
grep -qx "8 records: 3 stored, 1 already up to date, 1 not the latest, 3 rejected" \
    "$KK_TMP/imp.out" || fail "import counts: $(cat "$KK_TMP/imp.out")"
grep -q "line 5: column 2 is not a 13-digit corporate number with a correct check digit" \
    "$KK_TMP/imp.err" || fail "bad check digit not reported: $(cat "$KK_TMP/imp.err")"
grep -q "line 7: the record does not have 30 columns" "$KK_TMP/imp.err" ||
    fail "short row not reported"
grep -q "line 8: column 5 (update date)" "$KK_TMP/imp.err" ||
    fail "bad date not reported"
[ "$(grep -c 'registry: line' "$KK_TMP/imp.err")" -eq 3 ] ||
    fail "more rows rejected than the three bad ones: $(cat "$KK_TMP/imp.err")"

step "the same file again changes nothing"
"$KAKUIN_SERVER_BIN" --data-dir "$data" registry import "$csv" \
    >"$KK_TMP/imp.out" 2>/dev/null || fail "second import"
grep -qx "8 records: 0 stored, 4 already up to date, 1 not the latest, 3 rejected" \
    "$KK_TMP/imp.out" || fail "second import: $(cat "$KK_TMP/imp.out")"

step "a file that is not CSV: exit 65 naming the line"
printf '1,9234567890123,01\n2,92345"67890123,01\n' >"$KK_TMP/bad.csv"
rc=0
"$KAKUIN_SERVER_BIN" --data-dir "$data" registry import "$KK_TMP/bad.csv" \
    >/dev/null 2>"$KK_TMP/bad.err" || rc=$?
[ "$rc" -eq 65 ] || fail "broken CSV exited $rc"
grep -q "line 2: not CSV" "$KK_TMP/bad.err" ||
    fail "broken CSV: $(cat "$KK_TMP/bad.err")"
rc=0
"$KAKUIN_SERVER_BIN" --data-dir "$data" registry import "$KK_TMP/none.csv" \
    >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 66 ] || fail "missing file exited $rc"

kk_server_start "" "$data"
kk_token op1

step "a verification shows the registry's entry"
kk 75 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org "$KK_ORG" \
    --name host-a --out "$KK_TMP/a" --contact mailto:ops@example.jp
id=$(kk_pending_id)
[ -n "$id" ] || fail "no verification queued"
curl -sf --cacert "$KK_CA" -H "Authorization: Bearer $KAKUIN_TOKEN" \
    "$KK_URL/operator/v1/verifications/$id" >"$KK_TMP/v.json" ||
    fail "GET verification"
python3 - "$KK_TMP/v.json" <<'PY' || fail "registry object: $(cat "$KK_TMP/v.json")"
import json, sys
r = json.load(open(sys.argv[1]))["registry"]
assert r["corporateNumber"] == "9234567890123", r
assert r["name"] == "ＥＸＡＭＰＬＥ　ＰＯＷＥＲ株式会社", r
assert r["address"] == '東京都千代田区丸の内１丁目１－１, "本館"', r
assert r["kind"] == "301" and r["kindName"] == "株式会社", r
assert r["englishName"] == "Example Power Co., Ltd.", r
assert "closed" not in r, r
PY
kk_op show "$id" >"$KK_TMP/show"
grep -q '"corporateNumber":[[:space:]]*"9234567890123"' "$KK_TMP/show" ||
    fail "op show has no registry: $(cat "$KK_TMP/show")"

step "another legal name is refused with 409 and stays in the queue"
code=$(curl -s -o "$KK_TMP/p.json" -w '%{http_code}' --cacert "$KK_CA" \
    -H "Authorization: Bearer $KAKUIN_TOKEN" -H 'Content-Type: application/json' \
    -d '{"method":"phone","legal_name":"Other Power KK","country":"JP","evidence":"called"}' \
    "$KK_URL/operator/v1/verifications/$id/approve")
[ "$code" = 409 ] || fail "mismatch answered $code: $(cat "$KK_TMP/p.json")"
grep -q "corporate-number registry" "$KK_TMP/p.json" ||
    fail "the problem does not name the registry: $(cat "$KK_TMP/p.json")"
rc=0
kk_op approve "$id" --method phone --legal-name "Other Power KK" \
    --evidence called >/dev/null 2>"$KK_TMP/e" || rc=$?
[ "$rc" -ne 0 ] || fail "kakuin op approve with another name succeeded"
kk_op show "$id" | grep -q '"status":[[:space:]]*"processing"' ||
    fail "a refused approval changed the verification"

step "the registered name matches in half-width, any case"
kk_op approve "$id" --method phone --legal-name "Example Power株式会社" \
    --evidence "called the number in the registry" >/dev/null ||
    fail "approval with the registered name refused"
kk_op show "$id" | grep -q '"status":[[:space:]]*"valid"' || fail "not valid"

step "a second host's verification: another name with an override_reason"
export KAKUIN_STATE_DIR="$KK_TMP/state-b"
kk 75 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org "$KK_ORG" \
    --name host-b --out "$KK_TMP/b" --contact mailto:ops@example.jp
id2=$(kk_pending_id)
[ -n "$id2" ] && [ "$id2" != "$id" ] || fail "no second verification"
kk_op approve "$id2" --method document --legal-name "Example Power KK" \
    --evidence "seal certificate" \
    --override-reason "renamed last week; the registry is behind" >/dev/null ||
    fail "approval with override_reason refused"
kk_op audit --json >"$KK_TMP/audit"
python3 - "$KK_TMP/audit" "$id2" <<'PY' || fail "audit: $(cat "$KK_TMP/audit")"
import json, sys
events = json.load(open(sys.argv[1]))["events"]
ev = [e for e in events
      if e["action"] == "verification.approve" and e["object"] == sys.argv[2]]
assert len(ev) == 1, ev
d = ev[0]["detail"]
assert d["override_reason"] == "renamed last week; the registry is behind", d
assert d["registry"]["name"] == "ＥＸＡＭＰＬＥ　ＰＯＷＥＲ株式会社", d
assert d["registry"]["name_matches"] is False, d
PY

step "a closed corporation needs an override_reason"
export KAKUIN_STATE_DIR="$KK_TMP/state-c"
kk 75 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org NTRJP-5010001008771 \
    --name host-c --out "$KK_TMP/c" --contact mailto:ops@example.jp
id3=$(kk_pending_id)
kk_op show "$id3" | grep -q '"closed":[[:space:]]*true' ||
    fail "closed corporation not shown closed"
rc=0
kk_op approve "$id3" --method phone --legal-name "閉鎖商事株式会社" \
    --evidence called >/dev/null 2>"$KK_TMP/e" || rc=$?
[ "$rc" -ne 0 ] || fail "a closed corporation was approved"
grep -q "closed" "$KK_TMP/e" || fail "refusal does not say closed: $(cat "$KK_TMP/e")"
kk_op approve "$id3" --method phone --legal-name "閉鎖商事株式会社" \
    --evidence called --override-reason "reopened; court record seen" \
    >/dev/null || fail "override of a closed corporation refused"

step "an identifier the registry does not have is not held up"
export KAKUIN_STATE_DIR="$KK_TMP/state-d"
kk 75 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org NTRJP-1011101012345 \
    --name host-d --out "$KK_TMP/d" --contact mailto:ops@example.jp
id4=$(kk_pending_id)
kk_op show "$id4" | grep -q '"registry"' && fail "registry shown for an unknown number"
kk_op approve "$id4" --method phone --legal-name "Unlisted KK" \
    --evidence called >/dev/null || fail "unlisted corporation refused"

step "the list and the organization show each verification's entry"
# The list reads the entries of a page at once: each must still land on
# its own verification, twice for two of one organization, none for the
# number the registry does not have.
curl -sf --cacert "$KK_CA" -H "Authorization: Bearer $KAKUIN_TOKEN" \
    "$KK_URL/operator/v1/verifications" >"$KK_TMP/list.json" ||
    fail "GET verifications"
curl -sf --cacert "$KK_CA" -H "Authorization: Bearer $KAKUIN_TOKEN" \
    "$KK_URL/operator/v1/orgs/$KK_ORG" >"$KK_TMP/org.json" ||
    fail "GET orgs/$KK_ORG"
python3 - "$KK_TMP/list.json" "$KK_TMP/org.json" "$id" "$id2" "$id3" \
    "$id4" <<'PY' || fail "list: $(cat "$KK_TMP/list.json")"
import json, sys
vs = {v["id"]: v for v in json.load(open(sys.argv[1]))["verifications"]}
a, b, c, d = sys.argv[3:7]
assert set(vs) == {a, b, c, d}, list(vs)
for i in (a, b):
    assert vs[i]["registry"]["corporateNumber"] == "9234567890123", vs[i]
assert vs[c]["registry"]["corporateNumber"] == "5010001008771", vs[c]
assert vs[c]["registry"]["closed"] is True, vs[c]
assert "registry" not in vs[d], vs[d]
for v in vs.values():
    assert v["contacts"] == ["mailto:ops@example.jp"], v
org = {v["id"]: v for v in json.load(open(sys.argv[2]))["verifications"]}
assert set(org) == {a, b}, list(org)
for v in org.values():
    assert v["registry"]["corporateNumber"] == "9234567890123", v
    assert v["contacts"] == ["mailto:ops@example.jp"], v
PY
echo "PASS"
