#!/usr/bin/env bash
# Failure never costs the working certificate: server unreachable (69, old
# files untouched), verification rejected (1 with the reason, nothing
# installed), corrupted state (78 naming the file), unwritable --out (73
# naming the path), usage errors (64).
. "$(dirname "$0")/lib.sh"
kk_setup
kk_server_start
kk_token op1
out="$KK_TMP/out-a"
kk_enroll_approved host-a "$out"
before=$(cd "$out" && sha256sum key.pem cert.pem chain.pem fullchain.pem)

step "server unreachable: 69, old certificate untouched"
kk_server_stop
kk 69 renew --force
grep -q "127.0.0.1:$KK_PORT" "$KK_TMP/err" || fail "69 without naming the server"
after=$(cd "$out" && sha256sum key.pem cert.pem chain.pem fullchain.pem)
[ "$before" = "$after" ] || fail "files changed while the server was down"
kk_pair_ok "$out"

step "restarted server: renew --force completes"
"$KAKUIN_SERVER_BIN" --data-dir "$KK_DATA" --listen "127.0.0.1:$KK_PORT" serve \
    >/dev/null 2>"$KK_TMP/server2.log" &
KK_SERVER_PID=$!
KK_PIDS+=("$KK_SERVER_PID")
for i in $(seq 1 100); do
	grep -q "listening on" "$KK_TMP/server2.log" && break
	sleep 0.1
done
grep -q "listening on" "$KK_TMP/server2.log" || fail "server did not restart"
old=$(kk_serial "$out")
kk 0 renew --force
kk_pair_ok "$out"
[ "$(kk_serial "$out")" != "$old" ] || fail "renew --force kept the serial"
[ "$(readlink "$out/previous")" != "$(readlink "$out/live")" ] ||
    fail "no previous set kept"
[ -s "$out/previous/cert.pem" ] || fail "previous set incomplete"

step "verification rejected: 1, the operator's reason, nothing installed"
outb="$KK_TMP/out-b"
export KAKUIN_STATE_DIR="$KK_TMP/state-b"
kk 75 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org NTRJP-7000012050002 \
    --name host-b --out "$outb"
id=$(kk_pending_id)
kk_op reject "$id" --reason "representative denied any request" >/dev/null
kk 1 renew
grep -q "representative denied any request" "$KK_TMP/err" ||
    fail "rejection reason not shown: $(cat "$KK_TMP/err")"
[ ! -e "$outb/cert.pem" ] || fail "something installed after rejection"
[ ! -e "$KAKUIN_STATE_DIR/certs/host-b/pending.json" ] ||
    fail "rejected order still pending"

step "corrupted state file: 78 naming it"
export KAKUIN_STATE_DIR="$KK_TMP/state"
cfg="$KAKUIN_STATE_DIR/certs/host-a/config.json"
cp "$cfg" "$KK_TMP/config.bak"
printf '{"name": "host-a", "org": ' >"$cfg"
kk 78 renew
grep -q "$cfg" "$KK_TMP/err" || fail "corrupt file not named"
kk 78 status
printf '{"name": 7}' >"$cfg"
kk 78 renew --name host-a
grep -q "$cfg" "$KK_TMP/err" || fail "bad field file not named"
cp "$KK_TMP/config.bak" "$cfg"
printf 'garbage' >"$KAKUIN_STATE_DIR/config.json"
kk 78 renew
grep -q "$KAKUIN_STATE_DIR/config.json" "$KK_TMP/err" || fail "config not named"
kk_pair_ok "$out"

step "unwritable --out: 73 naming the path, nothing half-written"
if [ "$(id -u)" -eq 0 ]; then
	# root ignores modes: a file where the directory should be will do.
	ro="$KK_TMP/not-a-dir"
	: >"$ro"
	roout="$ro/out"
else
	ro="$KK_TMP/ro"
	mkdir "$ro"
	chmod 0555 "$ro"
	roout="$ro/out"
fi
export KAKUIN_STATE_DIR="$KK_TMP/state-c"
kk 73 enroll --server "$KK_URL" --ca-bundle "$KK_CA" --org "$KK_ORG" \
    --name host-c --out "$roout"
grep -q "$ro" "$KK_TMP/err" || fail "unwritable path not named"
[ ! -e "$KAKUIN_STATE_DIR/certs/host-c/pending.json" ] ||
    fail "ordered despite an unwritable --out"

step "usage errors: 64"
kk 64 enroll --org "$KK_ORG"
kk 64 enroll --server "$KK_URL" --org "$KK_ORG" --name "../etc"
kk 64 enroll --server "$KK_URL" --org "$KK_ORG" --name x --key-type dsa
kk 64 renew --name a --all
kk 64 frobnicate
kk 0 --help
grep -q "75  waiting for an operator" "$KK_TMP/out" || fail "help lacks exit codes"
echo PASS
