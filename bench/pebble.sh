#!/usr/bin/env bash
# kakuin-server against Pebble (Let's Encrypt's test CA) in one run, with
# the same bench and the same number of workers:
#   bench/pebble.sh [-c COUNT] [-b BATCH] [-n WORKERS]
# Defaults: 1200 enrollments each, 16 workers, Pebble in batches of 150.
#
# kakuin-server: the pre-verified path (EAB newAccount, an org order that
# is ready at once, finalize, download), SQLite storage, one server.
# Pebble: plain RFC 8555 with a dns identifier: newAccount (no EAB),
# newOrder, the authorization fetched, its http-01 challenge posted and
# the authorization polled, finalize, the order polled, download; with
# PEBBLE_VA_ALWAYS_VALID=1 (no validation is done), PEBBLE_VA_NOSLEEP=1
# and no nonce rejected. Pebble 2.4 deadlocks under sustained concurrent
# load (seen after ~900 issuances from 8 clients), so it runs as a fresh
# instance per batch of BATCH enrollments; a batch in which it hung (the
# bench gives up on a worker after three 5 s timeouts in a row) is thrown
# away and run again. Batches are added up: enrollments over the sum of
# the timed seconds, CPU over enrollments, latencies pooled.
#
# Prints one line per server and the ratios kakuin-server / Pebble of
# throughput and of CPU per enrollment.
. "$(dirname "$0")/lib.sh"

count=1200
batch=150
n=16
while getopts c:b:n: opt; do
	case $opt in
	c) count=$OPTARG ;;
	b) batch=$OPTARG ;;
	n) n=$OPTARG ;;
	*) exit 64 ;;
	esac
done
bench_need "$BENCH_SERVER" "$BENCH_BUILD/bench/bench_enroll"
command -v pebble >/dev/null || die "pebble is not installed (scripts/deps.sh)"
bench=$BENCH_BUILD/bench/bench_enroll

# pct FILE P: the P-th percentile of the numbers in FILE.
pct() {
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END {
		i = int(NR * p / 100) + 1; if (i > NR) i = NR; printf "%.1f", v[i] }'
}

# report NAME FILE_OF_KV_LINES LATENCIES: one line, and NAME_rate/NAME_cpu.
report() {
	local name=$1 f=$2 lat=$3 line
	line=$(awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		ok += v["ok"]; failed += v["failed"]; t += v["elapsed_s"]
		s += v["server_cpu_s"]; b += v["bench_cpu_s"]; n++
	} END {
		per = (ok > 0) ? ok : 1
		rate = (t > 0) ? ok / t : 0
		printf "%d %d %.3f %.1f %.3f %.3f %d", ok, failed, t, rate,
		    1000 * s / per, 1000 * b / per, n
	}' "$f")
	set -- $line
	printf '%-14s %5d enrollments (%d failed, %d run(s)) in %6.2f s: %7.1f/s, p50 %s ms, p99 %s ms; CPU per enrollment: server %.3f ms, bench %.3f ms\n' \
	    "$name" "$1" "$2" "$7" "$3" "$4" "$(pct "$lat" 50)" "$(pct "$lat" 99)" "$5" "$6"
	eval "${name//-/_}_rate=$4 ${name//-/_}_cpu=$5"
	[ -z "${BENCH_KV:-}" ] ||
	    echo "label=$name concurrency=$n ok=$1 failed=$2 rate=$4 p50_ms=$(pct "$lat" 50) p99_ms=$(pct "$lat" 99) server_cpu_ms=$5 bench_cpu_ms=$6"
}

# kakuin-server, one instance for the whole count.
bench_kakuin_start "$BENCH_TMP/kakuin" "$n"
tok=$(bench_token "$BENCH_TMP/kakuin")
"$bench" --server "$SRV_URL" --ca-bundle "$SRV_CA" --token "$tok" \
    --concurrency "$n" --count "$count" --server-pid "$SRV_PID" --kv \
    --label kakuin-server --latencies "$BENCH_TMP/kakuin.lat" \
    >"$BENCH_TMP/kakuin.out" || echo "kakuin-server run had failures" >&2
grep '^label=' "$BENCH_TMP/kakuin.out" >"$BENCH_TMP/kakuin.kv"
bench_stop "$SRV_PID"

# Pebble, a fresh instance per batch; a batch in which Pebble hung is
# thrown away (its timeouts would be counted as Pebble's time) and run
# again on a new instance, at most 5 times in all per batch.
done_=0
discarded=0
: >"$BENCH_TMP/pebble.kv"
: >"$BENCH_TMP/pebble.lat"
while [ "$done_" -lt "$count" ]; do
	m=$batch
	[ $((count - done_)) -ge "$m" ] || m=$((count - done_))
	for try in 1 2 3 4 5; do
		bench_pebble_start "$BENCH_TMP/pebble"
		rm -f "$BENCH_TMP/batch.lat"
		ok=1
		"$bench" --mode rfc8555 --server "$PEB_URL" --ca-bundle "$PEB_CA" \
		    --concurrency "$n" --count "$m" --server-pid "$PEB_PID" --kv \
		    --timeout 5 --label pebble --latencies "$BENCH_TMP/batch.lat" \
		    >"$BENCH_TMP/batch.out" 2>"$BENCH_TMP/batch.err" || ok=0
		grep '^label=' "$BENCH_TMP/batch.out" >"$BENCH_TMP/batch.kv" || ok=0
		bench_stop "$PEB_PID"
		[ "$ok" = 1 ] && break
		discarded=$((discarded + 1))
	done
	[ "$ok" = 1 ] || { cat "$BENCH_TMP/batch.err" >&2; die "Pebble failed 5 batches in a row"; }
	cat "$BENCH_TMP/batch.kv" >>"$BENCH_TMP/pebble.kv"
	cat "$BENCH_TMP/batch.lat" >>"$BENCH_TMP/pebble.lat"
	done_=$((done_ + m))
done

echo "$n workers, same machine, same run ($(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)):"
report kakuin-server "$BENCH_TMP/kakuin.kv" "$BENCH_TMP/kakuin.lat"
report pebble "$BENCH_TMP/pebble.kv" "$BENCH_TMP/pebble.lat"
[ "$discarded" -eq 0 ] ||
    echo "(Pebble hung in $discarded batch(es) of $batch, thrown away and run again on a fresh instance)"
awk -v kr="$kakuin_server_rate" -v pr="$pebble_rate" -v kc="$kakuin_server_cpu" \
    -v pc="$pebble_cpu" -v kv="${BENCH_KV:-}" 'BEGIN {
	r = (pr > 0) ? kr / pr : 0
	c = (kc > 0) ? pc / kc : 0
	printf "kakuin-server / Pebble: %.1fx the throughput, %.1fx less server CPU per enrollment\n", r, c
	if (kv != "") printf "label=pebble-ratio rate_x=%.1f cpu_x=%.1f\n", r, c
}'
