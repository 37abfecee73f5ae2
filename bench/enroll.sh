#!/usr/bin/env bash
# Runs bench_enroll for N = 1, 8, 64 against a fresh server on loopback
# (its own temporary data directory, each N against a new server so that
# the database sizes compare), then prints openssl speed ecdsap256 for
# comparison. Build first (scripts/test or cmake --build build).
#   bench/enroll.sh [BUILD_DIR] [COUNT]
set -euo pipefail
build=${1:-build}
count=${2:-256}
srv="$build/server/kakuin-server"
bench="$build/bench/bench_enroll"
[ -x "$srv" ] && [ -x "$bench" ] || { echo "build first: $srv, $bench" >&2; exit 1; }
export NO_PROXY='*'
for n in 1 8 64; do
	dir=$(mktemp -d /tmp/kakuin-bench-XXXXXX)
	# All hosts come from 127.0.0.1 here: lift the per-IP and per-account
	# rate limits, which would otherwise (rightly) refuse the load.
	sed -e 's/"new_accounts_per_ip_per_hour": *[0-9]*/"new_accounts_per_ip_per_hour": 0/' \
	    -e 's/"orders_per_account_per_hour": *[0-9]*/"orders_per_account_per_hour": 0/' \
	    "$(dirname "$0")/../policy/default.json" >"$dir/policy.json"
	"$srv" --data-dir "$dir/data" --policy "$dir/policy.json" \
	    --listen 127.0.0.1:0 >"$dir/log" 2>&1 &
	pid=$!
	trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
	for _ in $(seq 100); do
		grep -q 'listening on' "$dir/log" && break
		sleep 0.1
	done
	url=$(grep -o 'https://127.0.0.1:[0-9]*' "$dir/log" | head -1)
	tok=$("$srv" --data-dir "$dir/data" token create --name bench --role operator 2>/dev/null)
	m=$count
	[ "$n" -eq 1 ] && m=$((count / 4))
	"$bench" --server "$url" --ca-bundle "$dir/data/root.pem" --token "$tok" \
	    --concurrency "$n" --count "$m"
	kill $pid; wait $pid 2>/dev/null || true
	rm -rf "$dir"
	trap - EXIT
done
echo "for comparison, one core of this machine:"
openssl speed -seconds 3 ecdsap256 2>/dev/null | tail -2
