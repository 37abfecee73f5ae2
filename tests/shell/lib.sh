# Shared helpers for the shell tests of the real binaries. Each test sources
# this file, calls kk_setup (private temp dir, cleanup trap) and
# kk_server_start (an ephemeral-port server with its own data dir).
# Every unexpected result ends the test with a message: fail loudly.
set -euo pipefail

: "${KAKUIN_SERVER_BIN:?set KAKUIN_SERVER_BIN}"
: "${KAKUIN_CLIENT_BIN:?set KAKUIN_CLIENT_BIN}"
: "${KAKUIN_SOURCE_DIR:?set KAKUIN_SOURCE_DIR}"

KK_PIDS=()
KK_ORG=NTRJP-9234567890123
# KAKUIN_TEST_STORAGE (the @pg copies of some tests): the URL of a
# PostgreSQL cluster, ending in '/' (tests/pg/cluster.sh). kk_setup then
# makes a database of the test's own in it, KK_STORAGE, which the servers
# and token commands use (KK_STORAGE_ARGS) and kk_cleanup drops.
KK_STORAGE=
KK_STORAGE_ARGS=()
KK_PGDB=

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

step() {
	echo "--- $*"
}

# kk_listen_ports PID: the TCP ports PID listens on, from /proc.
kk_listen_ports() {
	local inodes sl local rem st rest
	inodes=" $(ls -l "/proc/$1/fd" 2>/dev/null |
	    sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p' | tr '\n' ' ' || true)"
	[ "$inodes" = " " ] && return 0
	# sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout
	# inode: listening is st 0A.
	while read -r sl local rem st rest; do
		[ "$st" = 0A ] || continue
		set -- $rest
		case $inodes in *" $6 "*) echo $((16#${local#*:})) ;; esac
	done </proc/net/tcp
}

# kk_stop PID...: SIGTERM to each, then waits until they are gone. A
# stopping kakuin-server's listening thread notices only when its poll()
# returns, on a connection or after a quantum of 2 s (civetweb); the server
# connects to itself when it stops (test_stop.sh), and as long
# as a process still listens, a bare connection to each of its ports
# (opened and closed, nothing sent) wakes it.
kk_stop() {
	local pid port i alive
	kill "$@" 2>/dev/null || true
	for i in $(seq 1 500); do
		alive=0
		for pid in "$@"; do
			kill -0 "$pid" 2>/dev/null || continue
			alive=1
			for port in $(kk_listen_ports "$pid"); do
				{ : <>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null ||
				    true
			done
		done
		[ "$alive" = 0 ] && break
		sleep 0.02
	done
	for pid in "$@"; do
		wait "$pid" 2>/dev/null || true
	done
}

kk_cleanup() {
	[ ${#KK_PIDS[@]} -gt 0 ] && kk_stop "${KK_PIDS[@]}"
	# A private cluster (pgfault.sh), after the servers that used it.
	if [ -n "${KK_PG_DIR:-}" ]; then
		"$KAKUIN_SOURCE_DIR/tests/pg/cluster.sh" stop "$KK_PG_DIR" ||
		    true
	fi
	if [ -n "$KK_PGDB" ]; then
		psql -q "${KAKUIN_TEST_STORAGE}postgres" -c \
		    "DROP DATABASE IF EXISTS $KK_PGDB WITH (FORCE)" \
		    >/dev/null 2>&1 || true
	fi
	[ -n "${KK_TMP:-}" ] && rm -rf "$KK_TMP"
}

# kk_pg_createdb BASE NAME: a new database NAME in the cluster at BASE.
kk_pg_createdb() {
	psql -q "${1}postgres" -c "CREATE DATABASE $2" >/dev/null ||
	    fail "cannot create database $2 in the cluster"
}

kk_setup() {
	KK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kakuin-test.XXXXXX")
	trap kk_cleanup EXIT
	export KAKUIN_STATE_DIR="$KK_TMP/state"
	unset KAKUIN_SERVER KAKUIN_CA_BUNDLE KAKUIN_TOKEN
	if [ -n "${KAKUIN_TEST_STORAGE:-}" ]; then
		# The temporary name is unique among running tests.
		KK_PGDB=kk_$(basename "$KK_TMP" | tr -c 'a-zA-Z0-9' _ |
		    tr 'A-Z' 'a-z')
		kk_pg_createdb "$KAKUIN_TEST_STORAGE" "$KK_PGDB"
		KK_STORAGE=$KAKUIN_TEST_STORAGE$KK_PGDB
		KK_STORAGE_ARGS=(--storage "$KK_STORAGE")
	fi
}

# kk_server_start [policy-file [data-dir]]: sets KK_URL, KK_PORT, KK_DATA,
# KK_CA. The data directory is new unless given (one made with init).
# Options in the array KK_SERVER_ARGS, if set, are added.
kk_server_start() {
	local policy=${1:-} i
	KK_DATA=${2:-$(mktemp -d -u "$KK_TMP/server.XXXXXX")}
	local args=(--data-dir "$KK_DATA" --listen 127.0.0.1:0
	    "${KK_STORAGE_ARGS[@]}")
	[ -n "$policy" ] && args+=(--policy "$policy")
	[ -n "${KK_SERVER_ARGS+x}" ] && args+=("${KK_SERVER_ARGS[@]}")
	# The log exists before the loop reads it: the background child may
	# not have opened it yet (sed failing under pipefail ends the test).
	: >"$KK_DATA.log"
	"$KAKUIN_SERVER_BIN" "${args[@]}" serve >"$KK_DATA.out" \
	    2>>"$KK_DATA.log" &
	KK_SERVER_PID=$!
	KK_PIDS+=("$KK_SERVER_PID")
	for i in $(seq 1 100); do
		# The log may not exist yet: the server's shell opens it.
		KK_PORT=$(sed -n 's|.*listening on https://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' \
		    "$KK_DATA.log" 2>/dev/null | head -n1 || true)
		[ -n "$KK_PORT" ] && break
		kill -0 "$KK_SERVER_PID" 2>/dev/null ||
		    fail "server died: $(cat "$KK_DATA.log")"
		sleep 0.1
	done
	[ -n "$KK_PORT" ] || fail "server did not listen: $(cat "$KK_DATA.log")"
	KK_URL="https://127.0.0.1:$KK_PORT"
	KK_CA="$KK_DATA/root.pem"
}

kk_server_stop() {
	kk_stop "$KK_SERVER_PID"
}

# kk_token NAME: an operator token, exported as KAKUIN_TOKEN.
kk_token() {
	KAKUIN_TOKEN=$("$KAKUIN_SERVER_BIN" --data-dir "$KK_DATA" \
	    "${KK_STORAGE_ARGS[@]}" token create --name "$1" \
	    --role "${2:-operator}" 2>/dev/null)
	[ -n "$KAKUIN_TOKEN" ] || fail "no token"
	export KAKUIN_TOKEN
}

# kk RC ARGS...: runs the client and checks its exit status; output goes to
# $KK_TMP/out and $KK_TMP/err and is shown when the status is wrong.
kk() {
	local want=$1 rc=0
	shift
	"$KAKUIN_CLIENT_BIN" "$@" >"$KK_TMP/out" 2>"$KK_TMP/err" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "stdout:" >&2; cat "$KK_TMP/out" >&2
		echo "stderr:" >&2; cat "$KK_TMP/err" >&2
		fail "kakuin $* exited $rc, expected $want"
	fi
}

# kk_op ARGS...: an operator command against the test server.
kk_op() {
	"$KAKUIN_CLIENT_BIN" op --server "$KK_URL" --ca-bundle "$KK_CA" "$@"
}

# kk_pending_id: the id of the newest verification waiting in the queue.
kk_pending_id() {
	kk_op list --json | sed -n 's/.*"id":[[:space:]]*"\([^"]*\)".*/\1/p' |
	    tail -n1
}

# kk_enroll_approved NAME OUT: enroll, approve by phone, renew to install.
kk_enroll_approved() {
	local name=$1 out=$2 id
	kk 75 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org "$KK_ORG" \
	    --name "$name" --out "$out" --contact mailto:ops@example.jp
	id=$(kk_pending_id)
	[ -n "$id" ] || fail "no verification in the queue"
	kk_op approve "$id" --method phone --legal-name "Example Power KK" \
	    --evidence "called the number in the company database" >/dev/null
	kk 0 renew --name "$name"
	kk_pair_ok "$out"
}

# kk_pair_ok OUT: key.pem and cert.pem in OUT match and the chain verifies.
kk_pair_ok() {
	local out=$1 a b
	[ -s "$out/key.pem" ] || fail "$out/key.pem missing"
	[ -s "$out/cert.pem" ] || fail "$out/cert.pem missing"
	a=$(openssl pkey -in "$out/key.pem" -pubout 2>/dev/null | sha256sum)
	b=$(openssl x509 -in "$out/cert.pem" -noout -pubkey 2>/dev/null | sha256sum)
	[ "$a" = "$b" ] || fail "key and certificate in $out do not match"
	openssl verify -CAfile "$KK_CA" -untrusted "$out/chain.pem" \
	    -purpose sslclient "$out/cert.pem" >/dev/null ||
	    fail "certificate in $out does not verify"
}

kk_serial() {
	openssl x509 -in "$1/cert.pem" -noout -serial | cut -d= -f2
}
