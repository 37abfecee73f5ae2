#!/usr/bin/env bash
# cmake --install (DESTDIR and --prefix) gives a tree that works on its own,
# wherever it is put: the installed server loads its TLS shim from its
# private library directory through $ORIGIN and copies the installed default
# policy, no binary names the source or build tree, and the enrollment story
# plays with the installed binaries. The systemd units verify.
. "$(dirname "$0")/lib.sh"
: "${KAKUIN_BUILD_DIR:?set KAKUIN_BUILD_DIR}"
kk_setup

cache() {
	sed -n "s/^$1:[A-Z]*=//p" "$KAKUIN_BUILD_DIR/CMakeCache.txt"
}
bindir=$(cache CMAKE_INSTALL_BINDIR)
sbindir=$(cache CMAKE_INSTALL_SBINDIR)
libdir=$(cache CMAKE_INSTALL_LIBDIR)
# An empty DATADIR means DATAROOTDIR (GNUInstallDirs).
datadir=$(cache CMAKE_INSTALL_DATADIR)
datadir=${datadir:-$(cache CMAKE_INSTALL_DATAROOTDIR)}
prefix=$(cache CMAKE_INSTALL_PREFIX)
unitdir=$(cache KAKUIN_SYSTEMD_UNITDIR)
[ -n "$sbindir" ] && [ -n "$libdir" ] || fail "no install dirs in the cache"

step "cmake --install with DESTDIR and another prefix than configured"
# Installed under DESTDIR for /opt/kakuin, and run from there: neither the
# configured prefix nor the one given here is where the files end up.
dest=$KK_TMP/dest
DESTDIR=$dest cmake --install "$KAKUIN_BUILD_DIR" --prefix /opt/kakuin \
    >"$KK_TMP/install.log" 2>&1 || fail "install: $(cat "$KK_TMP/install.log")"
[ "$(ls "$dest")" = opt ] || fail "DESTDIR not honoured: $(ls "$dest")"
P=$dest/opt/kakuin
server=$P/$sbindir/kakuin-server
client=$P/$bindir/kakuin
shim=$P/$libdir/kakuin/libssl.so
policy=$P/$datadir/kakuin/default.json
for f in "$server" "$client"; do
	[ -x "$f" ] || fail "$f not installed"
done
for f in "$shim" "$policy" "$P/$unitdir/kakuin-server.service" \
    "$P/$unitdir/kakuin-renew.service" "$P/$unitdir/kakuin-renew.timer" \
    "$P/lib/sysusers.d/kakuin-server.conf"; do
	[ -s "$f" ] || fail "$f not installed"
done
[ ! -e "$P/$libdir/libssl.so" ] || fail "the shim is on the library path"
if find "$P" -name 'unit_*' -o -name 'integration_*' -o -name 'bench_*' |
    grep -q .; then
	fail "test or bench binaries installed"
fi

step "the server finds its shim through \$ORIGIN, as DT_RPATH"
rel=$(realpath -m --relative-to="$P/$sbindir" "$P/$libdir/kakuin")
readelf -d "$server" >"$KK_TMP/dyn"
grep -q "(RPATH).*\[\$ORIGIN/$rel\]$" "$KK_TMP/dyn" ||
    fail "server rpath is not \$ORIGIN/$rel: $(grep -i path "$KK_TMP/dyn")"
grep -q "(RUNPATH)" "$KK_TMP/dyn" && fail "server has a RUNPATH"
grep -q "(NEEDED).*\[libssl.so\]" "$KK_TMP/dyn" || fail "server lacks the shim"
readelf -d "$client" | grep -qE "R(UN)?PATH" && fail "client has a run path"

step "no installed file names the source or build tree"
for f in "$server" "$client" "$shim" "$P/$unitdir"/*; do
	# Debug sections name the sources by design (gdb needs them), and the
	# sanitizers record source locations: look at what the program uses.
	objcopy --strip-debug "$f" "$KK_TMP/stripped" 2>/dev/null ||
	    cp "$f" "$KK_TMP/stripped"
	[ "${KAKUIN_SANITIZE:-0}" = 1 ] && [ -x "$f" ] && continue
	if strings "$KK_TMP/stripped" | grep -F -e "$KAKUIN_SOURCE_DIR" \
	    -e "$KAKUIN_BUILD_DIR"; then
		fail "$f names the source or build tree"
	fi
done

step "init copies the installed default policy"
# A change only the installed copy has (valid JSON still).
printf ' \n' >>"$policy"
unset KAKUIN_DEFAULT_POLICY
export KAKUIN_SERVER_BIN=$server KAKUIN_CLIENT_BIN=$client
data=$KK_TMP/data
"$server" init --data-dir "$data" >"$KK_TMP/init.out" 2>&1 ||
    fail "installed init: $(cat "$KK_TMP/init.out")"
cmp -s "$data/policy.json" "$policy" ||
    fail "policy.json is not the installed default policy"

step "serve: the shim from the prefix, even with LD_LIBRARY_PATH"
# LD_LIBRARY_PATH naming the directory of the real libssl.so must not
# replace the shim (RUNPATH would let it: TLS would not initialise).
syslib=$(pkg-config --variable=libdir openssl)
[ -e "$syslib/libssl.so" ] || fail "no $syslib/libssl.so to shadow the shim"
LD_LIBRARY_PATH=$syslib kk_server_start "" "$data"
grep -qF "$(realpath "$shim")" "/proc/$KK_SERVER_PID/maps" ||
    fail "the running server did not load $shim"

step "the enrollment story with the installed binaries"
kk_token op1
kk_enroll_approved host-a "$KK_TMP/out-a"
openssl verify -CAfile "$KK_CA" -untrusted "$KK_TMP/out-a/chain.pem" \
    -purpose sslclient "$KK_TMP/out-a/cert.pem" || fail "openssl verify"
# The operator console is built into the installed server.
for f in "" console.js console.css; do
	curl -sf --cacert "$KK_CA" "$KK_URL/console/$f" >"$KK_TMP/console" ||
	    fail "the installed server does not serve /console/$f"
	[ -s "$KK_TMP/console" ] || fail "/console/$f is empty"
done
curl -sf --cacert "$KK_CA" "$KK_URL/console/" | grep -q 'src="console.js"' ||
    fail "the installed console's page does not load its script"
kk_server_stop

step "the systemd units verify"
if command -v systemd-analyze >/dev/null; then
	# As installed they name the configured prefix; point them here.
	for u in kakuin-server.service kakuin-renew.service kakuin-renew.timer; do
		sed -e "s|$prefix/$sbindir/|$P/$sbindir/|" \
		    -e "s|$prefix/$bindir/|$P/$bindir/|" \
		    "$P/$unitdir/$u" >"$KK_TMP/$u"
	done
	grep -q "^ExecStart=$P/$sbindir/kakuin-server --data-dir /var/lib/kakuin-server" \
	    "$KK_TMP/kakuin-server.service" || fail "server unit ExecStart"
	(cd "$KK_TMP" && systemd-analyze verify --man=no \
	    kakuin-server.service kakuin-renew.service kakuin-renew.timer) \
	    >"$KK_TMP/verify" 2>&1 || fail "systemd-analyze: $(cat "$KK_TMP/verify")"
	[ ! -s "$KK_TMP/verify" ] || fail "systemd-analyze: $(cat "$KK_TMP/verify")"
else
	echo "systemd-analyze not installed: units not verified"
fi
echo PASS
