#!/usr/bin/env bash
# The cron cost on every host, every day: `kakuin renew --all` over COUNT
# installed certificates of which none is due, so no network is touched.
#   bench/renew_cron.sh [COUNT [RUNS]]
# Defaults: 10000 certificates, 5 runs, the kakuin of build-release/ (or
# of $BENCH_BUILD).
#
# The state directory and the --out directories are laid out as `kakuin
# enroll` leaves them (certs/CN/config.json; in --out a .sets/ set, the
# live link and the fixed links to it), with one real key and one real
# 90-day certificate copied into every set. They are written by a short
# Python script rather than by the client, so that 10,000 of them take a
# second instead of 10,000 enrollments.
#
# Prints one line: "renew --all, COUNT certificates none due: MEAN ms per
# run (min MIN ms, RUNS runs, cpu CPU ms)". The server named in the state
# is a closed port: any network access would fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
kakuin=${BENCH_BUILD:-build-release}/client/kakuin
count=${1:-10000}
runs=${2:-5}
[ -x "$kakuin" ] || { echo "no $kakuin: build first" >&2; exit 64; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kakuin-renew-bench-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/O=Bench Power K.K./CN=bench" -days 90 \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
python3 - "$tmp" "$count" <<'PY'
import json, os, sys
tmp, count = sys.argv[1], int(sys.argv[2])
cert = open(tmp + "/cert.pem").read()
key = open(tmp + "/key.pem").read()
state = tmp + "/state"
os.makedirs(state + "/certs", mode=0o700)
with open(state + "/config.json", "w") as f:
    # A closed port: nothing due means nothing may be fetched.
    json.dump({"server": "https://127.0.0.1:1/acme/directory"}, f)
for i in range(1, count + 1):
    name = "host-%05d.bench.example" % i
    out = "%s/out/%s" % (tmp, name)
    sets = out + "/.sets/01.1.1"
    os.makedirs(sets)
    for fn, body, mode in (("key.pem", key, 0o600), ("cert.pem", cert, 0o644),
                           ("chain.pem", cert, 0o644),
                           ("fullchain.pem", cert + cert, 0o644)):
        fd = os.open(sets + "/" + fn, os.O_WRONLY | os.O_CREAT, mode)
        os.write(fd, body.encode())
        os.close(fd)
        os.symlink("live/" + fn, out + "/" + fn)
    os.symlink(".sets/01.1.1", out + "/live")
    d = "%s/certs/%s" % (state, name)
    os.makedirs(d, mode=0o700)
    with open(d + "/config.json", "w") as f:
        json.dump({"name": name, "org": "NTRJP-9234567890123",
                   "key_type": "ec-p256", "out": out}, f)
PY
state="$tmp/state"
best=
total=0
cpu=0
for _ in $(seq 1 "$runs"); do
	# TIMEFORMAT gives wall and CPU seconds of the one command.
	t=$( { TIMEFORMAT='%R %U %S'; time "$kakuin" --state-dir "$state" \
	    renew --all --quiet >"$tmp/out.log" 2>&1; } 2>&1) ||
	    { cat "$tmp/out.log" >&2; echo "renew failed" >&2; exit 1; }
	ms=$(awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%d", a[1] * 1000 }')
	c=$(awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%d", (a[2] + a[3]) * 1000 }')
	total=$((total + ms))
	cpu=$((cpu + c))
	[ -z "$best" ] || [ "$ms" -lt "$best" ] && best=$ms
done
[ -s "$tmp/out.log" ] && { echo "unexpected output:" >&2; cat "$tmp/out.log" >&2; exit 1; }
echo "renew --all, $count certificates none due: $((total / runs)) ms per run" \
    "(min $best ms, $runs runs, cpu $((cpu / runs)) ms)"
[ -z "${BENCH_KV:-}" ] ||
    echo "label=renew count=$count mean_ms=$((total / runs)) min_ms=$best cpu_ms=$((cpu / runs))"
