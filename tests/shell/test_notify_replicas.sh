#!/usr/bin/env bash
# Two server replicas on one PostgreSQL database, both delivering
# notifications from the shared outbox to one webhook receiver: every
# event arrives exactly once and every outbox item has exactly one
# attempt (the replicas claim disjoint items), and the 30-day expiry
# reminder, swept by both every second, is sent once per expiry the
# approvals gave the organization. Needs the test
# cluster (KAKUIN_TEST_STORAGE, the @pg registration); skipped otherwise.
. "$(dirname "$0")/lib.sh"
case ${KAKUIN_TEST_STORAGE:-} in
postgres*://*/) ;;
*) echo "SKIP: needs KAKUIN_TEST_STORAGE (a PostgreSQL cluster URL)"; exit 77 ;;
esac
command -v psql >/dev/null || { echo "SKIP: no psql"; exit 77; }
kk_setup
storage=$KK_STORAGE # the test's own database, made by kk_setup
[ -n "$storage" ] || fail "kk_setup made no database"
here=$(dirname "$0")
secret="replica-secret-$$-$RANDOM-0123456789"
hooks="$KK_TMP/hooks.jsonl"
: >"$hooks"

# Each answer takes 1.5 s, longer than a poll: a replica that took an
# item another one is still delivering would deliver it again.
python3 "$here/webhook_sink.py" "$secret" 0 "$hooks" "$KK_TMP/hook.port" 1.5 \
    2>"$KK_TMP/hook.log" &
KK_PIDS+=($!)
for _ in $(seq 1 100); do
	[ -s "$KK_TMP/hook.port" ] && break
	sleep 0.1
done
[ -s "$KK_TMP/hook.port" ] || fail "webhook sink did not start"

python3 - "$KAKUIN_SOURCE_DIR/policy/default.json" >"$KK_TMP/policy.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["verification"]["lifetime_days"] = 20
print(json.dumps(p))
PY
data="$KK_TMP/data"
"$KAKUIN_SERVER_BIN" init --data-dir "$data" --storage "$storage" \
    >/dev/null 2>&1 || fail "init"
cat >"$data/notify.json" <<EOF2
{"webhooks": [{"url": "http://127.0.0.1:$(cat "$KK_TMP/hook.port")/hook",
               "secret": "$secret"}],
 "retry_seconds": 1, "poll_seconds": 1, "reminder_check_seconds": 1}
EOF2
chmod 0600 "$data/notify.json"

# replica NAME: starts one more server on the database; sets URL_NAME.
replica() {
	local name=$1 port pid i
	: >"$KK_TMP/$name.log"
	"$KAKUIN_SERVER_BIN" --data-dir "$data" --storage "$storage" \
	    --policy "$KK_TMP/policy.json" --listen 127.0.0.1:0 serve \
	    >/dev/null 2>>"$KK_TMP/$name.log" &
	pid=$!
	KK_PIDS+=("$pid")
	for i in $(seq 1 100); do
		port=$(sed -n 's|.*listening on https://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' \
		    "$KK_TMP/$name.log" | head -n1)
		[ -n "$port" ] && break
		kill -0 "$pid" 2>/dev/null || fail "$name died: $(cat "$KK_TMP/$name.log")"
		sleep 0.1
	done
	[ -n "$port" ] || fail "$name did not listen"
	eval "URL_$name=https://127.0.0.1:$port"
}
replica a
replica b
KK_CA="$data/root.pem"
KAKUIN_TOKEN=$("$KAKUIN_SERVER_BIN" --data-dir "$data" --storage "$storage" \
    token create --name op1 --role operator 2>/dev/null)
export KAKUIN_TOKEN

step "six hosts ask through replica a, replica b approves them"
ids=()
for i in 1 2 3 4 5 6; do
	export KAKUIN_STATE_DIR="$KK_TMP/state-$i"
	kk 75 enroll --server "$URL_a" --ca-bundle "$KK_CA" --org "$KK_ORG" \
	    --name "host-$i" --out "$KK_TMP/out-$i" --contact mailto:ops@example.jp
done
KK_URL=$URL_b
mapfile -t ids < <(kk_op list --json |
    sed -n 's/.*"id":[[:space:]]*"\([^"]*\)".*/\1/p')
[ "${#ids[@]}" -eq 6 ] || fail "queue: ${#ids[@]} verifications"
for id in "${ids[@]}"; do
	kk_op approve "$id" --method phone --legal-name "Example Power KK" \
	    --evidence "called the number in the company database" >/dev/null ||
	    fail "approve $id"
done

step "every event once, every outbox item attempted once"
for i in $(seq 1 300); do
	n=$(grep -c '"status": 204' "$hooks" || true)
	[ "$n" -ge 13 ] && break
	sleep 0.2
done
sleep 3 # both replicas poll three more times: nothing more may come
# The sink writes a delivery down before it answers, the server only
# after: wait for the server's side too.
for i in $(seq 1 50); do
	[ "$(psql -qAt "$storage" -c "SELECT count(*) FROM outbox \
	    WHERE state <> 'done'")" = 0 ] && break
	sleep 0.2
done
total=$(python3 - "$hooks" "$KK_ORG" <<'PY'
import collections, datetime, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert all(r["status"] == 204 and r["signature_ok"] for r in rows), rows
ids = collections.Counter(r["body"]["id"] for r in rows)
assert all(n == 1 for n in ids.values()), "delivered twice: %s" % ids
ev = collections.Counter(r["event"] for r in rows)
# A reminder is for one expiry: each approval restarts the 20-day
# verification, so approvals that straddle a second give the org a new
# expiry, and a sweep that sees it before the next approval reminds of
# it too. So: 30-day reminders only, each of an expiry an approval gave
# (decided_at + 20 days), the last one's among them, never two of one
# expiry (one per replica).
assert ev["verification.queued"] == 6 and \
    ev["verification.approved"] == 6 and len(ev) == 3, ev
day = datetime.timedelta(days=1)
when = lambda t: datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ")
given = {when(r["body"]["data"]["decided_at"]) + 20 * day
         for r in rows if r["event"] == "verification.approved"}
rem = [r["body"]["data"] for r in rows if r["event"] == "org.expiring"]
assert all(d["days"] == 30 and d["org"] == sys.argv[2]
           for d in rem), rem
exp = collections.Counter(when(d["expires"]) for d in rem)
assert all(n == 1 for n in exp.values()), "reminded twice: %s" % exp
assert set(exp) <= given and max(given) in exp, (sorted(exp), sorted(given))
print(len(rows))
PY
) || fail "deliveries: $(cat "$hooks")"
out=$(psql -qAt "$storage" -c "SELECT count(*), count(DISTINCT outbox_id), \
    max(attempt) FROM deliveries")
[ "$out" = "$total|$total|1" ] || fail "deliveries table: $out"
out=$(psql -qAt "$storage" -c "SELECT state, count(*) FROM outbox GROUP BY state")
[ "$out" = "done|$total" ] || fail "outbox: $out"
grep -q "notifications: 1 webhooks" "$KK_TMP/a.log" || fail "a sends none"
grep -q "notifications: 1 webhooks" "$KK_TMP/b.log" || fail "b sends none"
echo "PASS"
