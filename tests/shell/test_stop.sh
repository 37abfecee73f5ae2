#!/usr/bin/env bash
# A server asked to stop (SIGTERM, as systemd does) is gone at once, idle
# or not, and exits 0: civetweb's listening thread looks at its stop flag
# only between polls of 2 s, so the server wakes it with a connection to
# its own port. Nothing here wakes it from outside (no kk_stop).
. "$(dirname "$0")/lib.sh"
kk_setup

# stop: SIGTERM to the server and waits for it (in this shell, whose
# child it is); sets ms to the milliseconds that took.
stop() {
	local t0 t1 rc=0
	t0=$(date +%s%N)
	kill -TERM "$KK_SERVER_PID"
	wait "$KK_SERVER_PID" || rc=$?
	t1=$(date +%s%N)
	[ "$rc" -eq 0 ] || fail "the server exited $rc: $(cat "$KK_DATA.log")"
	ms=$(((t1 - t0) / 1000000))
}

step "an idle server stops in well under civetweb's 2 s poll"
kk_server_start
sleep 0.5 # past start-up: the listener is in its poll
stop
[ "$ms" -lt 1000 ] || fail "an idle server took $ms ms to stop"
grep -q 'stopping on signal 15' "$KK_DATA.log" ||
    fail "no stop logged: $(cat "$KK_DATA.log")"

step "a server that has answered requests stops as quickly"
kk_server_start
curl -sf --cacert "$KK_CA" "$KK_URL/acme/directory" >/dev/null ||
    fail "no directory"
sleep 0.5
stop
[ "$ms" -lt 1000 ] || fail "the server took $ms ms to stop"
echo OK
