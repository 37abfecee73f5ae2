#!/usr/bin/env bash
# Temporary files of runs killed before their rename (NAME.tmp.PID.HEX, or
# NAME.tmp.PID as older versions wrote; one of
# them a private key) are removed by the next run once it holds the lock;
# other files, and files reached through symbolic links, are left alone.
. "$(dirname "$0")/lib.sh"
kk_setup
kk_server_start
kk_token op1
out="$KK_TMP/out-a"
kk_enroll_approved host-a "$out"
certs="$KAKUIN_STATE_DIR/certs/host-a"

step "files left by a run killed mid-write"
sleep 0 &
dead=$!
wait "$dead"
for f in pending.key pending.json hook.pending; do
	echo secret >"$certs/$f.tmp.$dead"
done
# The name the shared atomic write (kk_file_write_atomic) uses.
echo secret >"$certs/pending.key.tmp.$dead.0a1b2c3d4e5f"
echo keep >"$certs/pending.key.tmp.$dead.not-hex"
# A live PID that is not the run's own: under the lock it is stale too.
echo x >"$KAKUIN_STATE_DIR/account.json.tmp.$$"
# Not ours: other names, and a link to a file elsewhere.
echo keep >"$certs/notes.tmp.txt"
echo keep >"$certs/pending.key.tmp."
echo keep >"$KK_TMP/elsewhere"
ln -s "$KK_TMP/elsewhere" "$certs/link.tmp.$dead"

kk 0 renew
for f in pending.key pending.json hook.pending; do
	[ ! -e "$certs/$f.tmp.$dead" ] || fail "$f.tmp.$dead left behind"
done
[ ! -e "$certs/pending.key.tmp.$dead.0a1b2c3d4e5f" ] ||
    fail "pending.key.tmp.$dead.0a1b2c3d4e5f left behind"
[ -e "$certs/pending.key.tmp.$dead.not-hex" ] || fail "a foreign name removed"
rm -f "$certs/pending.key.tmp.$dead.not-hex"
[ ! -e "$KAKUIN_STATE_DIR/account.json.tmp.$$" ] ||
    fail "account.json.tmp.$$ left behind"
[ -e "$certs/notes.tmp.txt" ] || fail "notes.tmp.txt removed"
[ -e "$certs/pending.key.tmp." ] || fail "pending.key.tmp. removed"
[ -L "$certs/link.tmp.$dead" ] && [ -e "$KK_TMP/elsewhere" ] ||
    fail "a symbolic link was followed or removed"
rm -f "$certs/notes.tmp.txt" "$certs/pending.key.tmp." "$certs/link.tmp.$dead"

step "renewals killed at random moments leave nothing after the next run"
for delay in 0.05 0.1 0.2 0.3; do
	"$KAKUIN_CLIENT_BIN" renew --force >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	kk 0 renew
	left=$(find "$KAKUIN_STATE_DIR" -name '*.tmp.[0-9]*')
	[ -z "$left" ] || fail "left behind: $left"
done
kk_pair_ok "$out"
echo PASS
