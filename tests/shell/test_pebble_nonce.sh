#!/usr/bin/env bash
# kakuin against Pebble rejecting nonces at random: its default 5 %, and
# 50 % to stress the badNonce retry (each request is retried with the
# nonce the error carries).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"
kk_need_pebble
kk_setup

for rate in 5 50; do
	step "PEBBLE_WFE_NONCEREJECT=$rate"
	kk_pebble_start "$rate"
	export KAKUIN_STATE_DIR=$KK_TMP/state-$rate
	kk 0 enroll --server "$KK_URL" --ca-bundle "$KK_CA" \
	    --identifier dns:n$rate.test --challenge http-01 \
	    --standalone "127.0.0.1:$KK_HTTP_PORT" --out "$KK_TMP/n$rate"
	kk_pebble_cert_ok "$KK_TMP/n$rate" "n$rate.test"
	kk 0 renew --force --name "n$rate.test"
	kk_pebble_cert_ok "$KK_TMP/n$rate" "n$rate.test"
	# One Pebble at a time: it is not built for load.
	kill "${KK_PIDS[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	KK_PIDS=()
done
echo "PASS"
