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
# 90-day certificate copied into every set, and each certificate's
# renewal information (RFC 9773, certs/CN/ari.json) stored and current,
# as a run that asked the server leaves it: the daily steady state, in
# which renew asks nothing. (Once that information is past its
# Retry-After, renew asks the server again, one request per certificate;
# that is not measured here.) They are written by a short Python script
# rather than by the client, so that 10,000 of them take a second instead
# of 10,000 enrollments.
#
# Prints one line: "renew --all, COUNT certificates none due: MEAN ms per
# run (min MIN ms, RUNS runs, cpu CPU ms)". The server named in the state
# is a closed port, and a last run without --quiet must say nothing on
# stderr: a run that tried the network fails the bench.
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
# What RFC 9773 names the certificate by: its authority key identifier
# and serial number, as openssl prints them (hex).
aki=$(openssl x509 -in "$tmp/cert.pem" -noout -ext authorityKeyIdentifier |
    sed -n 's/^ *\(keyid:\)\{0,1\}\([0-9A-Fa-f][0-9A-Fa-f:]*\)$/\2/p' | tr -d ':')
serial=$(openssl x509 -in "$tmp/cert.pem" -noout -serial | cut -d= -f2)
[ -n "$aki" ] && [ -n "$serial" ] ||
    { echo "renew_cron: no authority key identifier in the bench certificate" >&2; exit 1; }
python3 - "$tmp" "$count" "$aki" "$serial" <<'PY'
import base64, json, os, sys, time
tmp, count = sys.argv[1], int(sys.argv[2])
def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
sn = bytes.fromhex(sys.argv[4] if len(sys.argv[4]) % 2 == 0 else "0" + sys.argv[4])
if sn[0] & 0x80:
    sn = b"\0" + sn  # DER: a set first bit needs a leading zero octet
cert_id = b64url(bytes.fromhex(sys.argv[3])) + "." + b64url(sn)
now = int(time.time())
# A window the server gave, a month ahead, asked for a moment ago.
ari = {"cert_id": cert_id, "offered": True, "start": now + 30 * 86400,
       "end": now + 40 * 86400, "pick": now + 35 * 86400,
       "next": now + 6 * 3600}
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
    fd = os.open(d + "/ari.json", os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, json.dumps(ari).encode())
    os.close(fd)
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
# Not timed: without --quiet, renew says on stderr when it could not ask
# the server for renewal information, which it must not have tried.
"$kakuin" --state-dir "$state" renew --all >/dev/null 2>"$tmp/err.log" ||
    { cat "$tmp/err.log" >&2; echo "renew failed" >&2; exit 1; }
[ ! -s "$tmp/err.log" ] ||
    { echo "renew_cron: renew tried the network:" >&2; head -3 "$tmp/err.log" >&2; exit 1; }
echo "renew --all, $count certificates none due: $((total / runs)) ms per run" \
    "(min $best ms, $runs runs, cpu $((cpu / runs)) ms)"
[ -z "${BENCH_KV:-}" ] ||
    echo "label=renew count=$count mean_ms=$((total / runs)) min_ms=$best cpu_ms=$((cpu / runs))"
