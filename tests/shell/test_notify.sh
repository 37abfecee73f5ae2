#!/usr/bin/env bash
# Notifications against a local webhook receiver (which checks the HMAC
# signature and fails its first two requests) and a local SMTP sink, both
# started here: a real `kakuin enroll` queues a verification -> webhook
# and mail; the failed webhook attempts are retried with backoff and
# every attempt is recorded; approval and rejection are announced; an
# organization whose verification expires within 30 days (policy
# lifetime 20 days) is reminded once, and one within 7 days (lifetime 5
# days, after a restart) gets the 7-day reminder only; after that restart
# mail goes through a relay that requires STARTTLS. A notify file others
# may read is refused. No token or secret is ever in a notification.
. "$(dirname "$0")/lib.sh"
kk_setup
command -v sqlite3 >/dev/null || fail "sqlite3 is needed (scripts/deps.sh)"
here=$(dirname "$0")
secret="s3cret-for-the-hook-$$-$RANDOM"
hooks="$KK_TMP/hooks.jsonl"
mails="$KK_TMP/mails.jsonl"
: >"$hooks"
: >"$mails"

python3 "$here/webhook_sink.py" "$secret" 2 "$hooks" "$KK_TMP/hook.port" \
    2>"$KK_TMP/hook.log" &
KK_PIDS+=($!)
python3 "$here/smtp_sink.py" "$mails" "$KK_TMP/smtp.port" 2>"$KK_TMP/smtp.log" &
KK_PIDS+=($!)
for _ in $(seq 1 100); do
	[ -s "$KK_TMP/hook.port" ] && [ -s "$KK_TMP/smtp.port" ] && break
	sleep 0.1
done
[ -s "$KK_TMP/hook.port" ] || fail "webhook sink did not start: $(cat "$KK_TMP/hook.log")"
[ -s "$KK_TMP/smtp.port" ] || fail "SMTP sink did not start: $(cat "$KK_TMP/smtp.log")"

# policy LIFETIME: the default policy with that verification lifetime.
policy() {
	python3 - "$KAKUIN_SOURCE_DIR/policy/default.json" "$1" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["verification"]["lifetime_days"] = int(sys.argv[2])
print(json.dumps(p))
PY
}
policy 20 >"$KK_TMP/policy20.json"
policy 5 >"$KK_TMP/policy5.json"

data="$KK_TMP/data"
"$KAKUIN_SERVER_BIN" init --data-dir "$data" >/dev/null 2>&1 || fail "init"
cat >"$data/notify.json" <<EOF2
{"webhooks": [{"url": "http://127.0.0.1:$(cat "$KK_TMP/hook.port")/hook",
               "secret": "$secret"}],
 "mail": {"relay": "smtp://127.0.0.1:$(cat "$KK_TMP/smtp.port")",
          "from": "kakuin@ca.example.jp",
          "to": ["ops@example.jp", "desk@example.jp"]},
 "retry_seconds": 1, "max_attempts": 5, "poll_seconds": 1,
 "reminder_check_seconds": 1}
EOF2

step "a notify file others may read is refused"
chmod 0644 "$data/notify.json"
rc=0
"$KAKUIN_SERVER_BIN" --data-dir "$data" --listen 127.0.0.1:0 serve \
    >/dev/null 2>"$KK_TMP/e" || rc=$?
[ "$rc" -eq 78 ] || fail "a 0644 notify file: exit $rc"
grep -q "0600" "$KK_TMP/e" || fail "no reason given: $(cat "$KK_TMP/e")"
chmod 0600 "$data/notify.json"

kk_server_start "$KK_TMP/policy20.json" "$data"
kk_token op1

# wait_for FILE PYTHON-CONDITION: until the condition on the JSON lines
# of FILE (a list named `rows`) holds, at most 30 s.
wait_for() {
	local file=$1 cond=$2 i
	for i in $(seq 1 150); do
		python3 - "$file" "$cond" <<'PY' && return 0
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
		sleep 0.2
	done
	echo "rows in $file:" >&2
	cat "$file" >&2
	tail -n 20 "$KK_DATA.log" >&2
	fail "timed out waiting for: $cond"
}

step "enroll queues a verification: webhook (after two 500s) and mail"
kk 75 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org "$KK_ORG" \
    --name host-a --out "$KK_TMP/a" --contact mailto:ops@example.jp
id=$(kk_pending_id)
[ -n "$id" ] || fail "nothing queued"
wait_for "$hooks" "[r for r in rows if r['status'] == 204 and r['event'] == 'verification.queued']"
wait_for "$mails" "[m for m in rows if 'verification.queued' in m['data']]"
python3 - "$hooks" "$mails" "$id" <<'PY' || fail "queued notification content"
import json, sys
hooks = [json.loads(l) for l in open(sys.argv[1])]
mails = [json.loads(l) for l in open(sys.argv[2])]
q = [h for h in hooks if h["event"] == "verification.queued"]
assert [h["status"] for h in q] == [500, 500, 204], q
assert all(h["signature_ok"] for h in q), "bad signature"
# The same event each time: one id to deduplicate by.
assert len({h["body"]["id"] for h in q}) == 1, q
b = q[-1]["body"]
assert b["event"] == "verification.queued", b
assert b["data"]["verification"] == sys.argv[3], b
assert b["data"]["org"] == "NTRJP-9234567890123", b
assert b["data"]["status"] == "processing", b
m = [m for m in mails if "verification.queued" in m["data"]]
assert len(m) == 1, m
m = m[0]
assert m["from"] == "kakuin@ca.example.jp", m
assert m["to"] == ["ops@example.jp", "desk@example.jp"], m
assert "Subject: [kakuin] verification.queued NTRJP-9234567890123" in m["data"], m
assert "verification: " + sys.argv[3] in m["data"], m
PY

step "each attempt is recorded: 500, 500, then 204; mail 250"
sqlite3 "$data/kakuin.db" "SELECT attempt, status FROM deliveries \
    WHERE event = 'verification.queued' AND target LIKE 'webhook:%' \
    ORDER BY attempt" >"$KK_TMP/att"
[ "$(tr '\n' ' ' <"$KK_TMP/att")" = "1|500 2|500 3|204 " ] ||
    fail "webhook attempts: $(cat "$KK_TMP/att")"
sqlite3 "$data/kakuin.db" "SELECT o.state, d.attempt, d.status FROM outbox o \
    JOIN deliveries d ON d.outbox_id = o.id \
    WHERE o.event = 'verification.queued' AND o.target = 'mail'" >"$KK_TMP/att"
[ "$(cat "$KK_TMP/att")" = "done|1|250" ] || fail "mail attempt: $(cat "$KK_TMP/att")"
# Backoff: the third attempt came at least 1 + 2 seconds after the first.
gap=$(sqlite3 "$data/kakuin.db" "SELECT max(at) - min(at) FROM deliveries \
    WHERE event = 'verification.queued' AND target LIKE 'webhook:%'")
[ "$gap" -ge 3 ] || fail "no backoff between attempts: ${gap}s"

step "approval: decided notification, then one 30-day expiry reminder"
kk_op approve "$id" --method phone --legal-name "Example Power KK" \
    --evidence "called the number in the company database" >/dev/null
wait_for "$hooks" "[r for r in rows if r['status'] == 204 and r['event'] == 'verification.approved' and r['body']['data']['legal_name'] == 'Example Power KK' and r['body']['data']['operator'] == 'op1']"
wait_for "$mails" "[m for m in rows if 'verification.approved' in m['data']]"
wait_for "$hooks" "[r for r in rows if r['status'] == 204 and r['event'] == 'org.expiring' and r['body']['data']['days'] == 30 and r['body']['data']['org'] == 'NTRJP-9234567890123']"
wait_for "$mails" "[m for m in rows if 'org.expiring' in m['data'] and 'days: 30' in m['data']]"
sleep 3 # three more reminder checks: nothing new
n=$(grep -c '"org.expiring"' "$hooks" || true)
[ "$n" -eq 1 ] || fail "the 30-day reminder came $n times"
kk_op audit >"$KK_TMP/audit"
grep -q "org.expiry_reminder" "$KK_TMP/audit" || fail "reminder not audited"

step "rejection is announced with its reason"
export KAKUIN_STATE_DIR="$KK_TMP/state-b"
kk 75 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org NTRJP-7000012050002 \
    --name host-b --out "$KK_TMP/b" --contact mailto:ops@example.jp
id2=$(kk_pending_id)
kk_op reject "$id2" --reason "nobody at the number knew of it" >/dev/null
wait_for "$hooks" "[r for r in rows if r['status'] == 204 and r['event'] == 'verification.rejected' and r['body']['data']['reason'] == 'nobody at the number knew of it']"
wait_for "$mails" "[m for m in rows if 'verification.rejected' in m['data']]"

step "after a restart with a 5-day lifetime: the 7-day reminder only, once"
step "and mail through a relay that requires STARTTLS"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$KK_TMP/relay.key" -out "$KK_TMP/relay.pem" -days 1 \
    -subj /CN=relay -addext subjectAltName=IP:127.0.0.1 2>/dev/null ||
    fail "relay certificate"
tlsmails="$KK_TMP/tlsmails.jsonl"
: >"$tlsmails"
python3 "$here/smtp_sink.py" "$tlsmails" "$KK_TMP/smtps.port" \
    "$KK_TMP/relay.pem" "$KK_TMP/relay.key" 2>"$KK_TMP/smtps.log" &
KK_PIDS+=($!)
for _ in $(seq 1 100); do
	[ -s "$KK_TMP/smtps.port" ] && break
	sleep 0.1
done
[ -s "$KK_TMP/smtps.port" ] || fail "STARTTLS sink did not start"
python3 - "$data/notify.json" "$(cat "$KK_TMP/smtps.port")" "$KK_TMP/relay.pem" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["mail"].update(relay="smtp://127.0.0.1:" + sys.argv[2], starttls=True,
                 ca_file=sys.argv[3])
open(sys.argv[1], "w").write(json.dumps(c))
PY
kk_server_stop
kk_server_start "$KK_TMP/policy5.json" "$data"
export KAKUIN_STATE_DIR="$KK_TMP/state-c"
kk 75 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org NTRJP-5010001008771 \
    --name host-c --out "$KK_TMP/c" --contact mailto:ops@example.jp
id3=$(kk_pending_id)
kk_op approve "$id3" --method document --legal-name "Closing KK" \
    --evidence "seal certificate" >/dev/null
wait_for "$hooks" "[r for r in rows if r['status'] == 204 and r['event'] == 'org.expiring' and r['body']['data']['org'] == 'NTRJP-5010001008771']"
wait_for "$tlsmails" "[m for m in rows if 'org.expiring' in m['data'] and 'days: 7' in m['data']]"
python3 - "$tlsmails" <<'PY' || fail "mail without TLS: $(cat "$tlsmails")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows and all(m["tls"] for m in rows), rows
PY
sleep 3
python3 - "$hooks" <<'PY' || fail "reminders: $(grep org.expiring "$hooks")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
r = [(x["body"]["data"]["org"], x["body"]["data"]["days"])
     for x in rows if x["event"] == "org.expiring"]
assert sorted(r) == [("NTRJP-5010001008771", 7), ("NTRJP-9234567890123", 30)], r
PY

step "no token or secret in any notification"
for f in "$hooks" "$mails"; do
	! grep -qF "$KAKUIN_TOKEN" "$f" || fail "an operator token in $f"
	! grep -qF "$secret" "$f" || fail "the webhook secret in $f"
done
! grep -qF "$secret" "$KK_DATA.log" || fail "the webhook secret in the log"
echo "PASS"
