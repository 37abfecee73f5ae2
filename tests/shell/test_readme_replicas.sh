#!/usr/bin/env bash
# The README's "Two replicas on one PostgreSQL" works as written: the lines
# between its "test_readme_replicas" markers run with the built binaries
# first on the PATH, in a scratch folder that sees the source tree's
# tests/, with only the two ports and the cluster's folder changed (to
# free and private ones, so that the test runs beside others).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pgfault.sh"
kk_need_pg
command -v jq >/dev/null || { echo "SKIP: no jq"; exit 77; }
kk_setup

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

step "the README's commands"
pa=$(free_port)
pb=$(free_port)
[ "$pa" != "$pb" ] || pb=$(free_port)
KK_PG_DIR=/tmp/kakuin-pgr-$$-$RANDOM # kk_cleanup stops it if the block fails
awk '/<!-- test_readme_replicas: end -->/ { on = 0 }
    on && /^    / { sub(/^    /, ""); print }
    /<!-- test_readme_replicas: begin -->/ { on = 1 }' \
    "$KAKUIN_SOURCE_DIR/README.md" >"$KK_TMP/orig.sh"
grep -q 'kakuin-server .*--listen 127.0.0.1:8441' "$KK_TMP/orig.sh" ||
    fail "no replica commands between the README's markers"
sed -e "s/8441/$pa/g" -e "s/8442/$pb/g" -e "s|/tmp/kakuin-pg-try|$KK_PG_DIR|g" \
    "$KK_TMP/orig.sh" >"$KK_TMP/readme.sh"
cat "$KK_TMP/readme.sh"

run=$KK_TMP/run
mkdir "$run"
ln -s "$KAKUIN_SOURCE_DIR/tests" "$run/tests"
PATH=$(dirname "$KAKUIN_SERVER_BIN"):$(dirname "$KAKUIN_CLIENT_BIN"):$PATH
export PATH
(cd "$run" && bash -euo pipefail "$KK_TMP/readme.sh") >"$KK_TMP/out.log" 2>&1 ||
    fail "README replicas: $(tail -30 "$KK_TMP/out.log"; cat "$run"/try-*.log)"
cat "$KK_TMP/out.log"

step "it did what it says"
grep -q "Serial Number: " "$KK_TMP/out.log" ||
    fail "A's CRL does not list the certificate B revoked"
grep -q "Key Compromise" "$KK_TMP/out.log" || fail "no revocation reason"
KK_CA=$run/try-ca/root.pem kk_pair_ok "$run/try-host/tls"
[ ! -e "$KK_PG_DIR" ] || fail "the README leaves its cluster behind"
echo PASS
