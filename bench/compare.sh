#!/usr/bin/env bash
# Two kakuin-server binaries, run alternately under the same enrollment
# load, so that both see the same machine: on a shared virtual machine
# the same binary's CPU per enrollment moves by half from one hour to the
# next, and a figure taken an hour ago says nothing about a change.
#   bench/compare.sh [-c COUNT] [-n N] [-r ROUNDS] OLD NEW
# Each round runs OLD then NEW, or NEW then OLD in every other round (so
# that a machine slowing down or speeding up weighs on both alike), each
# on a fresh server and data directory with SQLite, COUNT enrollments
# (default 3000) from N workers (default 16), ROUNDS rounds (default 4;
# an even number lets each binary go first as often as the other).
# Prints each run, then per binary the median server CPU per enrollment
# and the median of that CPU divided by the bench's own: the bench does
# the same work whatever the server does, so its CPU moves with the
# machine's speed, and the ratio much less than either. OLD may be a
# copy of a built kakuin-server anywhere (the default policy is taken
# from this tree).
. "$(dirname "$0")/lib.sh"

usage() {
	die "usage: bench/compare.sh [-c COUNT] [-n N] [-r ROUNDS] OLD NEW"
}

count=3000
n=16
rounds=4
while getopts c:n:r: opt; do
	case $opt in
	c) count=$OPTARG ;;
	n) n=$OPTARG ;;
	r) rounds=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || usage
for v in "$count" "$n" "$rounds"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || die "-c, -n and -r take a positive number, not '$v'"
done
for b in "$1" "$2"; do
	[ -x "$b" ] && [ -f "$b" ] || die "$b: not an executable file"
done
old=$(readlink -f "$1")
new=$(readlink -f "$2")
bench_need "$BENCH_BUILD/bench/bench_enroll"
# A copied binary finds no policy beside itself.
export KAKUIN_DEFAULT_POLICY=${KAKUIN_DEFAULT_POLICY:-$BENCH_SRC/policy/default.json}

results=$BENCH_TMP/compare
: >"$results"

# run_one NAME BINARY ROUND: one run, its kv line appended to the
# results, on a data directory of its own. BENCH_SERVER is local so that
# bench_kakuin_start and bench_token (which read it) use this binary: the
# token too comes from it, since token create migrates the store.
run_one() {
	local name=$1 BENCH_SERVER=$2 dir=$BENCH_TMP/cmp.$3.$1 tok out line
	bench_kakuin_start "$dir" "$n" ""
	tok=$(bench_token "$dir" "") || die "$name: no operator token from $2"
	# bench_enroll exits 1 when an enrollment failed: its report says
	# how many, so it is read before the status is.
	out=$("$BENCH_BUILD/bench/bench_enroll" --server "$SRV_URL" \
	    --ca-bundle "$SRV_CA" --token "$tok" --concurrency "$n" \
	    --count "$count" --label "$name" --server-pid "$SRV_PID" --kv) ||
	    true
	bench_stop "$SRV_PID"
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$dir"
	line=$(grep '^label=' <<<"$out") || die "$name: the bench failed: $out"
	case " $line " in
	*" failed=0 "*) ;;
	*) die "$name: some enrollments failed: $line" ;;
	esac
	echo "$line" >>"$results"
	awk -v line="$line" 'BEGIN {
		n = split(line, a, " ")
		for (i = 1; i <= n; i++) { split(a[i], b, "="); v[b[1]] = b[2] }
		ok = v["ok"] > 0 ? v["ok"] : 1
		printf "%-4s %7.1f/s  p99 %6.1f ms  server %.3f ms  bench %.3f ms", v["label"], v["rate"], v["p99_ms"], 1000 * v["server_cpu_s"] / ok, 1000 * v["bench_cpu_s"] / ok
		if (v["bench_cpu_s"] > 0) printf "  ratio %.2f", v["server_cpu_s"] / v["bench_cpu_s"]
		else printf "  ratio n/a"
		if ("steal_pct" in v) printf "  stolen %s %%", v["steal_pct"]
		printf "\n"
	}'
}

for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) -eq 1 ]; then
		run_one old "$old" "$r"
		run_one new "$new" "$r"
	else
		run_one new "$new" "$r"
		run_one old "$old" "$r"
	fi
done

# Medians per binary (of an even count, the mean of the middle two). A
# run whose bench used no measurable CPU (clock ticks are 10 ms) has no
# ratio.
awk '
function median(list,   m, i, j, t) {
	m = split(list, x, " ")
	for (i = 1; i <= m; i++)
		for (j = i + 1; j <= m; j++)
			if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
	return m % 2 ? x[(m + 1) / 2] : (x[m / 2] + x[m / 2 + 1]) / 2
}
function pct(a, b) { return a > 0 ? sprintf("%+.1f %%", 100 * (b - a) / a) : "n/a" }
{
	n = split($0, a, " ")
	for (i = 1; i <= n; i++) { split(a[i], b, "="); v[b[1]] = b[2] }
	ok = v["ok"] > 0 ? v["ok"] : 1
	cpu[v["label"]] = cpu[v["label"]] " " 1000 * v["server_cpu_s"] / ok
	if (v["bench_cpu_s"] > 0)
		ratio[v["label"]] = ratio[v["label"]] " " v["server_cpu_s"] / v["bench_cpu_s"]
}
END {
	co = median(cpu["old"]); cn = median(cpu["new"])
	printf "median server CPU per enrollment: old %.3f ms, new %.3f ms (%s)\n", co, cn, pct(co, cn)
	if (ratio["old"] == "" || ratio["new"] == "") {
		print "median server/bench CPU:          n/a (a bench used no measurable CPU)"
		exit
	}
	ro = median(ratio["old"]); rn = median(ratio["new"])
	printf "median server/bench CPU:          old %.2f, new %.2f (%s)\n", ro, rn, pct(ro, rn)
}' "$results"
