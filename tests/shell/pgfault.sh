# Helpers for the PostgreSQL fault tests (test_pg_*), sourced after
# lib.sh: a cluster of the test's own (a restart must not disturb the
# tests sharing the suite's cluster), enrollment load from clients that
# try again as a cron job would, and the check that every certificate a
# client received is in the database.

# kk_need_pg: skips the test (77) in a build without PostgreSQL storage or
# on a machine without initdb; CMake says which in KAKUIN_PG_SKIP.
kk_need_pg() {
	if [ -n "${KAKUIN_PG_SKIP:-}" ]; then
		echo "SKIP: $KAKUIN_PG_SKIP"
		exit 77
	fi
	command -v psql >/dev/null || { echo "SKIP: no psql"; exit 77; }
}

# kk_pg_private: starts a cluster in a new folder KK_PG_DIR (kk_cleanup
# removes it) with a database "kakuin"; sets KK_STORAGE and
# KK_STORAGE_ARGS for kk_server_start and kk_token.
kk_pg_private() {
	local base
	# Short, and in /tmp itself: the cluster's owner ("nobody" under
	# root) must reach its socket there.
	KK_PG_DIR=/tmp/kakuin-pgf-$$-$RANDOM
	base=$("$KAKUIN_SOURCE_DIR/tests/pg/cluster.sh" start "$KK_PG_DIR") ||
	    fail "cannot start a PostgreSQL cluster"
	kk_pg_createdb "$base" kakuin
	KK_STORAGE=${base}kakuin
	KK_STORAGE_ARGS=(--storage "$KK_STORAGE")
}

kk_pg_halt() {
	"$KAKUIN_SOURCE_DIR/tests/pg/cluster.sh" halt "$KK_PG_DIR"
}

kk_pg_resume() {
	"$KAKUIN_SOURCE_DIR/tests/pg/cluster.sh" resume "$KK_PG_DIR"
}

# kk_replica_start: a second server on the data directory and database
# of the one kk_server_start made (same CA key and policy), on a port of
# its own; sets KK_URL2 and KK_SERVER2_PID.
kk_replica_start() {
	local log="$KK_TMP/replica.log" i port=
	: >"$log"
	"$KAKUIN_SERVER_BIN" --data-dir "$KK_DATA" --listen 127.0.0.1:0 \
	    "${KK_STORAGE_ARGS[@]}" serve >/dev/null 2>>"$log" &
	KK_SERVER2_PID=$!
	KK_PIDS+=("$KK_SERVER2_PID")
	for i in $(seq 1 100); do
		port=$(sed -n 's|.*listening on https://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' \
		    "$log" | head -n1)
		[ -n "$port" ] && break
		kill -0 "$KK_SERVER2_PID" 2>/dev/null ||
		    fail "replica died: $(cat "$log")"
		sleep 0.1
	done
	[ -n "$port" ] || fail "replica did not listen: $(cat "$log")"
	KK_URL2="https://127.0.0.1:$port"
}

# kk_load_eab: an approved organization and an EAB key for it
# (KK_EAB_KID, file KK_EAB_HMAC), so that each enrollment is done at once.
kk_load_eab() {
	kk_enroll_approved host-0 "$KK_TMP/out-0"
	kk_op eab "$KK_ORG" --max-uses 10000 >"$KK_TMP/eab"
	KK_EAB_KID=$(sed -n 's/^kid: //p' "$KK_TMP/eab")
	KK_EAB_HMAC=$KK_TMP/eab.key
	sed -n 's/^hmac_key: //p' "$KK_TMP/eab" >"$KK_EAB_HMAC"
	[ -n "$KK_EAB_KID" ] && [ -s "$KK_EAB_HMAC" ] ||
	    fail "no EAB key: $(cat "$KK_TMP/eab")"
}

# One client: PER enrollments, each tried until it gets its certificate.
# An attempt is a fresh run (account, order), as the next cron run would
# be; an attempt that exits 69 or 75 (unavailable, come back later) is
# tried again on the next URL in turn, as through a load balancer; any
# other status ends the client with an error.
kk_load_client() {
	local id=$1 per=$2 i try rc st u
	shift 2
	local urls=("$@")
	for i in $(seq 1 "$per"); do
		for try in $(seq 0 80); do
			st="$KK_LOAD/c$id-$i-$try"
			u=${urls[$(((i + try) % ${#urls[@]}))]}
			rc=0
			KAKUIN_STATE_DIR="$st" "$KAKUIN_CLIENT_BIN" enroll \
			    --server "$u" --ca-bundle "$KK_CA" --org "$KK_ORG" \
			    --name "host-$id-$i" --out "$st/out" \
			    --eab-kid "$KK_EAB_KID" \
			    --eab-hmac-key-file "$KK_EAB_HMAC" \
			    >"$st.log" 2>&1 || rc=$?
			echo "$rc" >>"$KK_LOAD/codes"
			case $rc in
			0)
				openssl x509 -in "$st/out/cert.pem" -noout \
				    -serial | cut -d= -f2 >>"$KK_LOAD/serials"
				break
				;;
			69 | 75) sleep 0.3 ;;
			*)
				echo "client $id, host $i: exit $rc:" \
				    "$(cat "$st.log")" >>"$KK_LOAD/errors"
				return
				;;
			esac
		done
		[ "$rc" -eq 0 ] || {
			echo "client $id, host $i: never enrolled" >>"$KK_LOAD/errors"
			return
		}
	done
}

# kk_load_start N PER URL...: N clients in the background.
kk_load_start() {
	local n=$1 per=$2 c
	shift 2
	KK_LOAD=$KK_TMP/load
	mkdir -p "$KK_LOAD"
	: >"$KK_LOAD/codes"
	: >"$KK_LOAD/serials"
	: >"$KK_LOAD/errors"
	KK_LOAD_PIDS=()
	for c in $(seq 1 "$n"); do
		kk_load_client "$c" "$per" "$@" &
		KK_LOAD_PIDS+=($!)
		KK_PIDS+=($!)
	done
}

# kk_load_started N: waits until the clients have N certificates, and
# checks that they are still at work (the fault will meet the load).
kk_load_started() {
	local i pid running=0
	for i in $(seq 1 300); do
		[ "$(wc -l <"$KK_LOAD/serials")" -ge "$1" ] && break
		sleep 0.1
	done
	for pid in "${KK_LOAD_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && running=$((running + 1))
	done
	[ "$running" -gt 0 ] || fail "the load was over before the fault"
}

# kk_load_wait N PER: waits for the clients; every one got its N * PER
# certificates and exited nothing but 0, 69 and 75 on the way.
kk_load_wait() {
	local pid got
	for pid in "${KK_LOAD_PIDS[@]}"; do
		wait "$pid" || true
	done
	[ ! -s "$KK_LOAD/errors" ] || fail "clients failed: $(cat "$KK_LOAD/errors")"
	got=$(wc -l <"$KK_LOAD/serials")
	[ "$got" -eq $(($1 * $2)) ] || fail "$got certificates, expected $(($1 * $2))"
	echo "exit statuses: $(sort "$KK_LOAD/codes" | uniq -c | tr -s ' \n' ' ')"
}

# Hex serials, lower case without leading zeros, one a line, sorted.
kk_serials_norm() {
	tr 'A-F' 'a-f' | sed 's/^0*//' | sort -u
}

# kk_load_in_db: every certificate a client received is in the server's
# certificate table, read with psql behind the server's back.
kk_load_in_db() {
	local missing
	kk_serials_norm <"$KK_LOAD/serials" >"$KK_LOAD/got"
	psql -Atq "$KK_STORAGE" -c "SELECT serial FROM certs" |
	    kk_serials_norm >"$KK_LOAD/db"
	missing=$(comm -23 "$KK_LOAD/got" "$KK_LOAD/db")
	[ -z "$missing" ] || fail "received but not in the database: $missing"
	echo "$(wc -l <"$KK_LOAD/got") certificates received, all in the database ($(wc -l <"$KK_LOAD/db") there)"
}
