#!/usr/bin/env bash
# The operator API's paged lists with ROWS certificates, verifications and
# audit events in the database:
#   bench/oper_pages.sh [-r ROWS] [-l LIMIT] [-s sqlite|postgresql]
# Defaults: 100,000 rows of each, pages of 100, SQLite.
#
# A data directory is made with `kakuin-server init`, then filled
# directly through SQLite or psql (one transaction, rows as the server
# writes them: the certificates all carry one real PEM, spread over 10
# organizations, one in ten revoked; every verification has its own
# account, authorization and challenge, one in ten still processing, the
# others decided with an approval; the audit events are those an
# enrollment writes). The server is then started on it and each list is
# walked to its end through HTTPS (one kept-alive connection, following
# "next"), timing every page. Prints per list: the first page, the last
# page, the median and the slowest page, in milliseconds of wall time as
# the client sees them.
. "$(dirname "$0")/lib.sh"

rows=100000
limit=100
storage=sqlite
while getopts r:l:s: opt; do
	case $opt in
	r) rows=$OPTARG ;;
	l) limit=$OPTARG ;;
	s) storage=$OPTARG ;;
	*) exit 64 ;;
	esac
done
bench_need "$BENCH_SERVER"
dir=$BENCH_TMP/srv
mkdir -p "$dir"
bench_policy "$dir/policy.json"
url=
sopt=()
case $storage in
sqlite) ;;
postgresql)
	bench_pg_start
	url=$(bench_pg_db pages)
	sopt=(--storage "$url")
	;;
*) die "-s sqlite or postgresql" ;;
esac
"$BENCH_SERVER" init --data-dir "$dir/data" --policy "$dir/policy.json" \
    "${sopt[@]}" >/dev/null 2>&1 || die "kakuin-server init failed"
tok=$(bench_token "$dir" "$url")

t0=$(date +%s%N)
if [ "$storage" = postgresql ]; then
	# The same rows as the SQLite script below.
	"$PG_BIN/psql" -q -X -v ON_ERROR_STOP=1 -h "$BENCH_PG_DIR" -U kakuin \
	    -d pages -v rows="$rows" -v now="$(date +%s)" \
	    -v pem="$(cat "$dir/data/root.pem")" <<'SQL' || die "psql failed"
BEGIN;
CREATE TEMP TABLE g AS SELECT i, lpad(i::text, 7, '0') AS k,
    'NTRJP-' || (9234567890000 + i % 10) AS org,
    :now - :rows + i AS t FROM generate_series(0, :rows - 1) AS i;
INSERT INTO accounts (id, status, jwk, thumbprint, contacts, org, eab_kid,
    created_ip, created_at, tos_agreed)
  SELECT 'acc' || k, 'valid', '{"kty":"EC"}', 'tp' || k, '[]', org, NULL,
    '127.0.0.1', t, 1 FROM g;
INSERT INTO authzs (id, account_id, id_type, id_value, status, expires,
    created_at)
  SELECT 'az' || k, 'acc' || k, 'org', org,
    CASE WHEN i % 10 > 0 THEN 'valid' ELSE 'pending' END, :now + 86400, t
  FROM g;
INSERT INTO challenges (id, authz_id, type, status, token, error, validated)
  SELECT 'ch' || k, 'az' || k, 'oob-01',
    CASE WHEN i % 10 > 0 THEN 'valid' ELSE 'processing' END, 'tok' || k,
    NULL, CASE WHEN i % 10 > 0 THEN t ELSE 0 END FROM g;
INSERT INTO orders (id, account_id, status, org, authz_id, profile, error,
    cert_serial, created_at, expires)
  SELECT 'ord' || k, 'acc' || k, 'valid', org, 'az' || k, 'client', NULL,
    lpad(to_hex(i), 32, '0'), t, :now + 86400 FROM g;
INSERT INTO verifications (id, org, account_id, authz_id, challenge_id,
    status, reason, requested_at, decided_at)
  SELECT 'ver' || k, org, 'acc' || k, 'az' || k, 'ch' || k,
    CASE WHEN i % 10 > 0 THEN 'valid' ELSE 'processing' END, NULL, t,
    CASE WHEN i % 10 > 0 THEN t + 60 ELSE 0 END FROM g;
INSERT INTO approvals (verification_id, operator_name, method, legal_name,
    country, evidence, at)
  SELECT 'ver' || k, 'alice', 'phone', 'Bench Power K.K.', 'JP',
    'called the number in the company database', t + 60
  FROM g WHERE i % 10 > 0;
INSERT INTO certs (serial, account_id, order_id, org, cn, pem, spki_sha256,
    status, not_before, not_after, revoked_at, reason)
  SELECT lpad(to_hex(i), 32, '0'), 'acc' || k, 'ord' || k, org,
    'host-' || i || '.example.jp', :'pem', lpad(to_hex(i), 64, '0'),
    CASE WHEN i % 10 = 3 THEN 'revoked' ELSE 'valid' END, t,
    t + 90 * 86400, CASE WHEN i % 10 = 3 THEN :now ELSE 0 END,
    CASE WHEN i % 10 = 3 THEN 1 ELSE 0 END FROM g;
INSERT INTO audit (at, actor, action, object, detail)
  SELECT :now - :rows + i / 3, 'acme:acc' || lpad((i / 3)::text, 7, '0'),
    (ARRAY['account.create', 'order.create', 'cert.issue'])[i % 3 + 1],
    'obj' || k, '{"org":"' || org || '"}' FROM g ORDER BY i;
COMMIT;
ANALYZE;
SQL
else
python3 - "$dir/data/kakuin.db" "$rows" "$dir/data/root.pem" <<'PY'
import sqlite3, sys, time
db, rows, pem_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
pem = open(pem_path).read()
now = int(time.time())
c = sqlite3.connect(db)
c.execute("PRAGMA foreign_keys = ON")
c.execute("BEGIN")
orgs = ["NTRJP-%013d" % (9234567890000 + i) for i in range(10)]
def account(i):
    return ("acc%07d" % i, "valid", '{"kty":"EC"}', "tp%07d" % i, "[]",
            orgs[i % 10], None, "127.0.0.1", now - rows + i, 1)
c.executemany("INSERT INTO accounts VALUES (?,?,?,?,?,?,?,?,?,?)",
              (account(i) for i in range(rows)))
c.executemany("INSERT INTO authzs (id, account_id, id_type, id_value, "
              "status, expires, created_at) VALUES (?,?,?,?,?,?,?)",
              (("az%07d" % i, "acc%07d" % i, "org", orgs[i % 10],
                "valid" if i % 10 else "pending", now + 86400, now - rows + i)
               for i in range(rows)))
c.executemany("INSERT INTO challenges VALUES (?,?,?,?,?,?,?)",
              (("ch%07d" % i, "az%07d" % i, "oob-01",
                "valid" if i % 10 else "processing", "tok%07d" % i, None,
                now - rows + i if i % 10 else 0) for i in range(rows)))
c.executemany("INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?,?)",
              (("ord%07d" % i, "acc%07d" % i, "valid", orgs[i % 10],
                "az%07d" % i, "client", None, "%032x" % i, now - rows + i,
                now + 86400) for i in range(rows)))
c.executemany("INSERT INTO verifications VALUES (?,?,?,?,?,?,?,?,?)",
              (("ver%07d" % i, orgs[i % 10], "acc%07d" % i, "az%07d" % i,
                "ch%07d" % i, "valid" if i % 10 else "processing", None,
                now - rows + i, now - rows + i + 60 if i % 10 else 0)
               for i in range(rows)))
c.executemany("INSERT INTO approvals VALUES (?,?,?,?,?,?,?)",
              (("ver%07d" % i, "alice", "phone", "Bench Power K.K.", "JP",
                "called the number in the company database", now - rows + i + 60)
               for i in range(rows) if i % 10))
c.executemany("INSERT INTO certs VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
              (("%032x" % i, "acc%07d" % i, "ord%07d" % i, orgs[i % 10],
                "host-%d.example.jp" % i, pem, "%064x" % i,
                "revoked" if i % 10 == 3 else "valid", now - rows + i,
                now - rows + i + 90 * 86400,
                now if i % 10 == 3 else 0, 1 if i % 10 == 3 else 0)
               for i in range(rows)))
actions = ["account.create", "order.create", "cert.issue"]
c.executemany("INSERT INTO audit (at, actor, action, object, detail) VALUES (?,?,?,?,?)",
              ((now - rows + i // 3, "acme:acc%07d" % (i // 3), actions[i % 3],
                "obj%07d" % i, '{"org":"%s"}' % orgs[i % 10])
               for i in range(rows)))
c.execute("COMMIT")
c.close()
PY
fi
t1=$(date +%s%N)
echo "filled: $rows certificates, verifications and audit events in $(( (t1 - t0) / 1000000 )) ms"

bench_kakuin_start "$dir" 1 "$url"
echo "$storage: pages of $limit through HTTPS, wall time per page as the client sees it:"
python3 - "$SRV_URL" "$SRV_CA" "$tok" "$limit" "$SRV_PID" "${BENCH_KV:-}" <<'PY'
import http.client, json, os, ssl, sys, time
base, ca, tok, limit, pid, kv = sys.argv[1:7]
host = base.split("//")[1]
ctx = ssl.create_default_context(cafile=ca)
conn = http.client.HTTPSConnection(host.split(":")[0], int(host.split(":")[1]),
                                   context=ctx)
hz = os.sysconf("SC_CLK_TCK")
def cpu():
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / hz
def get(path):
    t = time.perf_counter()
    conn.request("GET", "/operator/v1/" + path,
                 headers={"Authorization": "Bearer " + tok})
    r = conn.getresponse()
    body = r.read()
    dt = (time.perf_counter() - t) * 1000
    if r.status != 200:
        sys.exit("%s: HTTP %d %s" % (path, r.status, body[:200]))
    return json.loads(body), dt
lists = [("certificates", "certificates", ""),
         ("certificates?org=ORG", "certificates", "org=NTRJP-9234567890003&"),
         ("certificates?status=revoked", "certificates", "status=revoked&"),
         ("verifications", "verifications", ""),
         ("verifications?status=processing", "verifications", "status=processing&"),
         ("audit", "events", "")]
worst = 0
for name, member, filt in lists:
    times, n, cursor = [], 0, None
    c0 = cpu()
    while True:
        q = "%s?%slimit=%s" % (name.split("?")[0], filt, limit)
        if cursor:
            q += "&cursor=" + cursor
        j, dt = get(q)
        times.append(dt)
        n += len(j[member])
        cursor = j.get("next")
        if not cursor:
            break
    c1 = cpu()
    s = sorted(times)
    worst = max(worst, s[-1])
    print("  %-32s %6d rows, %4d pages: first %6.1f ms, last %6.1f ms, "
          "median %6.1f ms, slowest %6.1f ms; server CPU %.2f ms/page"
          % (name, n, len(times), times[0], times[-1], s[len(s) // 2], s[-1],
             1000 * (c1 - c0) / len(times)))
    if kv:
        print("label=pages list=%s rows=%d pages=%d first_ms=%.1f last_ms=%.1f "
              "median_ms=%.1f max_ms=%.1f" % (name.replace("=", ":"), n,
              len(times), times[0], times[-1], s[len(s) // 2], s[-1]))
print("slowest page of all: %.1f ms" % worst)
PY
