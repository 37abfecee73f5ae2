# Shared by the bench scripts (sourced). Every process a bench starts is
# remembered in BENCH_PIDS and killed by PID on exit; every file lives
# under BENCH_TMP, removed on exit. Nothing is shared with other runs: the
# ports are picked free on 127.0.0.1 and each server has its own data.

set -euo pipefail
BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Benches measure an optimised build: build-release/ (see bench/README.md).
BENCH_BUILD=${BENCH_BUILD:-$BENCH_SRC/build-release}
# The server measured (another build's, to compare two versions).
BENCH_SERVER=${BENCH_SERVER:-$BENCH_BUILD/server/kakuin-server}
BENCH_PIDS=()
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kakuin-bench-XXXXXX")
export NO_PROXY='*'

bench_cleanup() {
	local p
	for p in "${BENCH_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${BENCH_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ -n "${BENCH_PG_DIR:-}" ]; then
		[ -z "${BENCH_KEEP:-}" ] || cp "$BENCH_PG_DIR/server.log" \
		    "$BENCH_TMP/postgresql.log" 2>/dev/null || true
		"$BENCH_SRC/tests/pg/cluster.sh" stop "$BENCH_PG_DIR" || true
	fi
	# BENCH_KEEP=1 keeps the files (server logs) for a look afterwards.
	if [ -n "${BENCH_KEEP:-}" ]; then
		echo "bench: files kept in $BENCH_TMP" >&2
	else
		rm -rf "$BENCH_TMP"
	fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "bench: $*" >&2
	exit 1
}

bench_need() {
	local f
	for f in "$@"; do
		[ -x "$f" ] || die "no $f: build first (cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release && cmake --build build-release -j2)"
	done
}

# A stopped process leaves the list (so cleanup does not touch a PID the
# system may have given to someone else since).
bench_stop() {
	local pid=$1 keep=() p
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for p in "${BENCH_PIDS[@]}"; do
		[ "$p" = "$pid" ] || keep+=("$p")
	done
	BENCH_PIDS=("${keep[@]}")
}

bench_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# bench_wait_log FILE PATTERN PID WHAT
bench_wait_log() {
	local i
	for i in $(seq 1 300); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || { cat "$1" >&2; die "$4 died"; }
		sleep 0.1
	done
	die "$4 did not start"
}

# The default policy without the per-IP and per-account rate limits: every
# bench host comes from 127.0.0.1, and the limits would (rightly) refuse
# the load.
bench_policy() {
	sed -e 's/"new_accounts_per_ip_per_hour": *[0-9]*/"new_accounts_per_ip_per_hour": 0/' \
	    -e 's/"orders_per_account_per_hour": *[0-9]*/"orders_per_account_per_hour": 0/' \
	    "$BENCH_SRC/policy/default.json" >"$1"
}

# bench_kakuin_start DIR WORKERS [STORAGE_URL [BASE_URL]]: a kakuin-server
# with its data in DIR, sized for WORKERS kept-alive connections from one
# address. Sets SRV_PID, SRV_URL (its base URL), SRV_CA (its TLS root) and
# SRV_PORT. With BASE_URL it is a replica answering for that URL.
bench_kakuin_start() {
	local dir=$1 workers=$2 storage=${3:-} base=${4:-} port threads args=()
	mkdir -p "$dir"
	[ -e "$dir/policy.json" ] || bench_policy "$dir/policy.json"
	# One civetweb thread serves one kept-alive connection.
	threads=${KAKUIN_BENCH_THREADS:-$((workers + 8))}
	[ "$threads" -le 256 ] || threads=256
	printf '{"threads": %d, "connections_per_address": 256}\n' "$threads" \
	    >"$dir/config.json"
	port=$(bench_free_port)
	args=(--config "$dir/config.json" --data-dir "$dir/data"
	    --policy "$dir/policy.json" --listen "127.0.0.1:$port")
	[ -z "$storage" ] || args+=(--storage "$storage")
	[ -z "$base" ] || args+=(--base-url "$base")
	"$BENCH_SERVER" "${args[@]}" >"$dir/log.$port" 2>&1 &
	SRV_PID=$!
	BENCH_PIDS+=("$SRV_PID")
	bench_wait_log "$dir/log.$port" 'listening on' "$SRV_PID" kakuin-server
	SRV_PORT=$port
	SRV_URL=${base:-https://127.0.0.1:$port}
	SRV_CA=$dir/data/root.pem
}

# bench_token DIR [STORAGE_URL]: an operator token for the server of DIR.
bench_token() {
	local args=(--data-dir "$1/data")
	[ -z "${2:-}" ] || args+=(--storage "$2")
	"$BENCH_SERVER" "${args[@]}" token create \
	    --name "bench$RANDOM$RANDOM" --role operator 2>/dev/null
}

# bench_pebble_start DIR: a fresh Pebble that passes every challenge
# without looking and never rejects a nonce. Sets PEB_PID, PEB_URL (its
# directory) and PEB_CA.
bench_pebble_start() {
	local dir=$1 port mgmt
	command -v pebble >/dev/null || die "pebble is not installed (scripts/deps.sh)"
	mkdir -p "$dir"
	port=$(bench_free_port)
	mgmt=$(bench_free_port)
	if [ ! -e "$dir/cert.pem" ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 \
		    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		    2>/dev/null
	fi
	cat >"$dir/config.json" <<JSON
{"pebble": {
  "listenAddress": "127.0.0.1:$port",
  "managementListenAddress": "127.0.0.1:$mgmt",
  "certificate": "$dir/cert.pem",
  "privateKey": "$dir/key.pem",
  "httpPort": 5002,
  "tlsPort": 5001,
  "ocspResponderURL": "",
  "externalAccountBindingRequired": false
}}
JSON
	PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
	    PEBBLE_AUTHZREUSE=0 pebble -config "$dir/config.json" \
	    >"$dir/log.$port" 2>&1 &
	PEB_PID=$!
	BENCH_PIDS+=("$PEB_PID")
	bench_wait_log "$dir/log.$port" 'ACME directory available' "$PEB_PID" pebble
	PEB_URL=https://127.0.0.1:$port/dir
	PEB_CA=$dir/cert.pem
}

# bench_pg_start: a private PostgreSQL cluster (tests/pg/cluster.sh: a
# socket in its own folder, no TCP, never a system service), restarted
# with the defaults a production server keeps (fsync on; the test
# cluster turns it off), so that its commits cost what they would.
# Sets PG_BASE (a storage URL to complete with a database name), PG_PID
# (the postmaster) and PG_BIN; stopped and removed on exit.
bench_pg_start() {
	local owner=()
	# As root the cluster runs as nobody, who must reach its folder.
	chmod 711 "$BENCH_TMP"
	BENCH_PG_DIR=$BENCH_TMP/pg
	PG_BASE=$("$BENCH_SRC/tests/pg/cluster.sh" start "$BENCH_PG_DIR") ||
	    die "cannot start PostgreSQL (install postgresql)"
	PG_BIN=$(dirname "$(readlink -f "$(command -v initdb 2>/dev/null ||
	    ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")")
	[ "$(id -u)" -ne 0 ] || owner=(runuser -u nobody --)
	"${owner[@]}" "$PG_BIN/pg_ctl" -D "$BENCH_PG_DIR/data" -w \
	    -l "$BENCH_PG_DIR/server.log" \
	    -o "-c listen_addresses= -k $BENCH_PG_DIR -c max_connections=300" \
	    restart >/dev/null || die "cannot restart PostgreSQL"
	PG_PID=$(head -1 "$BENCH_PG_DIR/data/postmaster.pid")
}

# bench_pg_db NAME: a new database in the cluster; prints its storage URL.
bench_pg_db() {
	"$PG_BIN/createdb" -h "$BENCH_PG_DIR" -U kakuin "$1" || die "createdb $1"
	echo "$PG_BASE$1"
}

# kv LINE KEY: the value of KEY=VALUE in a --kv line.
kv() {
	tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"
}
