#!/usr/bin/env bash
# The cron cost on every host, every day: `kakuin renew --all` over 1,000
# installed certificates of which none is due (no network is touched).
#   bench/renew_cron.sh [path/to/kakuin] [count]
set -euo pipefail
cd "$(dirname "$0")/.."
kakuin=${1:-build/client/kakuin}
count=${2:-1000}
[ -x "$kakuin" ] || { echo "no $kakuin: build first" >&2; exit 64; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
state="$tmp/state"
mkdir -p "$state/certs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=bench" -days 90 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
    2>/dev/null
for i in $(seq 1 "$count"); do
	name=host-$i
	mkdir -p "$state/certs/$name" "$tmp/out/$name"
	cp "$tmp/cert.pem" "$tmp/key.pem" "$tmp/out/$name/"
	printf '{"name":"%s","org":"NTRJP-9234567890123","key_type":"ec-p256","out":"%s"}\n' \
	    "$name" "$tmp/out/$name" >"$state/certs/$name/config.json"
done
printf '{"server":"https://127.0.0.1:1"}\n' >"$state/config.json"
runs=5
start=$(date +%s%N)
for r in $(seq 1 $runs); do
	"$kakuin" --state-dir "$state" renew --all --quiet ||
	    { echo "renew failed" >&2; exit 1; }
done
end=$(date +%s%N)
ms=$(( (end - start) / runs / 1000000 ))
echo "kakuin renew --all over $count certificates, none due: ${ms} ms per run (mean of $runs)"
