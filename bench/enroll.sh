#!/usr/bin/env bash
# Full pre-verified enrollments (EAB newAccount, newOrder, finalize,
# download) against kakuin-server on loopback with SQLite storage, for
# each number of concurrent workers given; a fresh server and data
# directory for each, so that database sizes compare.
#   bench/enroll.sh [-c COUNT] [-s sqlite|postgresql] [-r REPLICAS] [-a] [N...]
# Defaults: COUNT 2000 enrollments per run, N = 1 16 64 (N = 1 runs
# COUNT/8). -s postgresql runs against a private PostgreSQL cluster
# (tests/pg/cluster.sh) with REPLICAS servers on it (default 1), the
# workers spread over them (-a: every worker alternates replica at every
# request). Prints one bench_enroll report per N; with BENCH_KV=1 the
# machine-readable line instead.
. "$(dirname "$0")/lib.sh"

count=2000
storage=sqlite
replicas=1
alternate=
while getopts c:s:r:a opt; do
	case $opt in
	c) count=$OPTARG ;;
	s) storage=$OPTARG ;;
	r) replicas=$OPTARG ;;
	a) alternate=--alternate ;;
	*) exit 64 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- 1 16 64
case $storage in
sqlite | postgresql) ;;
*) die "-s sqlite or postgresql" ;;
esac
bench_need "$BENCH_SERVER" "$BENCH_BUILD/bench/bench_enroll"

[ "$storage" = sqlite ] || bench_pg_start

run=0
rc=0
for n in "$@"; do
	run=$((run + 1))
	m=$count
	[ "$n" -gt 1 ] || m=$((count / 8))
	dir=$BENCH_TMP/run$run
	url=
	pids=()
	connect=()
	dbopt=()
	if [ "$storage" = postgresql ]; then
		url=$(bench_pg_db "bench$run")
		dbopt=(--db-pid "$PG_PID")
	fi
	bench_kakuin_start "$dir" "$n" "$url"
	pids+=(--server-pid "$SRV_PID")
	base=$SRV_URL
	tok=$(bench_token "$dir" "$url")
	if [ "$replicas" -gt 1 ]; then
		[ -n "$url" ] || die "replicas need -s postgresql"
		connect=(--connect "127.0.0.1:$SRV_PORT")
		for r in $(seq 2 "$replicas"); do
			bench_kakuin_start "$dir" "$n" "$url" "$base"
			pids+=(--server-pid "$SRV_PID")
			connect+=(--connect "127.0.0.1:$SRV_PORT")
		done
	fi
	label="kakuin-$storage"
	[ "$replicas" -le 1 ] || label="$label-x$replicas"
	"$BENCH_BUILD/bench/bench_enroll" --server "$base" \
	    --ca-bundle "$SRV_CA" --token "$tok" --concurrency "$n" \
	    --count "$m" --label "$label" "${pids[@]}" "${dbopt[@]}" \
	    "${connect[@]}" $alternate ${BENCH_KV:+--kv} || rc=1
	for p in "${pids[@]}"; do
		[ "$p" = --server-pid ] || bench_stop "$p"
	done
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$dir"
done
exit $rc
