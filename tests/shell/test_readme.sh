#!/usr/bin/env bash
# The README's by-hand Release build and installation work as written: the
# lines between its "test_readme" markers run, unchanged, in a copy of the
# source tree with DESTDIR set and Criterion hidden from pkg-config (the
# tests are optional); the installed server then serves TLS and the client
# runs. Not in the sanitizer build: it would only build the same again.
. "$(dirname "$0")/lib.sh"
kk_setup
if [ "${KAKUIN_SANITIZE:-0}" = 1 ]; then
	echo "skipped in the sanitizer build"
	exit 77
fi

step "the README's commands"
awk '/<!-- test_readme: end -->/ { on = 0 }
    on && /^    / { sub(/^    /, ""); print }
    /<!-- test_readme: begin -->/ { on = 1 }' \
    "$KAKUIN_SOURCE_DIR/README.md" >"$KK_TMP/readme.sh"
cat "$KK_TMP/readme.sh"
[ "$(grep -c '^cmake ' "$KK_TMP/readme.sh")" -ge 3 ] ||
    fail "no build commands between the README's markers"
grep -q '^cmake --install ' "$KK_TMP/readme.sh" ||
    fail "the README's block does not install"

step "a copy of the source tree without build directories"
src=$KK_TMP/src
mkdir "$src"
excl=(--exclude=./.git --exclude='./build*' --exclude=./kakuin-data
    --exclude=./demo-run)
rel=$(realpath --relative-to="$KAKUIN_SOURCE_DIR" "$KAKUIN_BUILD_DIR")
case "$rel" in ../*) ;; *) excl+=("--exclude=./$rel") ;; esac
tar -C "$KAKUIN_SOURCE_DIR" "${excl[@]}" -cf - . | tar -C "$src" -xf -
[ -f "$src/CMakeLists.txt" ] || fail "source copy failed"

step "Criterion hidden from pkg-config"
pc=$KK_TMP/pkgconfig
mkdir "$pc"
IFS=: read -r -a pcdirs <<<"$(pkg-config --variable pc_path pkg-config)"
for d in "${pcdirs[@]}"; do
	for f in "$d"/*.pc; do
		[ -e "$f" ] && [ "${f##*/}" != criterion.pc ] &&
		    ln -sf "$f" "$pc/${f##*/}"
	done
done
PKG_CONFIG_LIBDIR=$pc pkg-config --exists criterion &&
    fail "criterion still visible"
PKG_CONFIG_LIBDIR=$pc pkg-config --exists openssl libcjson ||
    fail "the other packages are not visible"

step "build and install as the README says"
root=$KK_TMP/root
(cd "$src" && DESTDIR=$root PKG_CONFIG_LIBDIR=$pc \
    bash -euo pipefail "$KK_TMP/readme.sh") >"$KK_TMP/build.log" 2>&1 ||
    fail "README build: $(tail -30 "$KK_TMP/build.log")"
if find "$src" -type f -name 'unit_*' | grep -q .; then
	fail "BUILD_TESTING=OFF built the tests"
fi
P=$root/usr/local
for f in bin/kakuin sbin/kakuin-server lib/kakuin/libssl.so lib/kakuin/libcrypto.so \
    share/kakuin/default.json lib/systemd/system/kakuin-server.service \
    lib/systemd/system/kakuin-renew.service \
    lib/systemd/system/kakuin-renew.timer lib/sysusers.d/kakuin-server.conf; do
	[ -e "$P/$f" ] || fail "README's table: $P/$f not installed"
	grep -qF "\`$f\`" "$KAKUIN_SOURCE_DIR/README.md" ||
	    grep -qF "\`${f%.*}.{service,timer}\`" "$KAKUIN_SOURCE_DIR/README.md" ||
	    fail "README's table lacks $f"
done

step "the installed binaries work"
export KAKUIN_SERVER_BIN=$P/sbin/kakuin-server KAKUIN_CLIENT_BIN=$P/bin/kakuin
"$KAKUIN_CLIENT_BIN" --version | grep -q "^kakuin " || fail "kakuin --version"
unset KAKUIN_DEFAULT_POLICY
"$KAKUIN_SERVER_BIN" init --data-dir "$KK_TMP/data" >/dev/null 2>&1 ||
    fail "installed init"
cmp -s "$KK_TMP/data/policy.json" "$P/share/kakuin/default.json" ||
    fail "init did not copy the installed default policy"
kk_server_start "" "$KK_TMP/data"
curl -sf --cacert "$KK_CA" "$KK_URL/acme/directory" >"$KK_TMP/dir" ||
    fail "no directory over TLS"
grep -q newNonce "$KK_TMP/dir" || fail "directory: $(cat "$KK_TMP/dir")"
echo PASS
