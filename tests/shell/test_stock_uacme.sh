#!/usr/bin/env bash
# uacme 1.7, unchanged, gets a certificate from kakuin-server with an EAB
# key of a verified organization, http-01 through a hook program that
# writes the key authorization into a directory python3's http.server
# serves. uacme has no CA-file option: it runs in a private mount
# namespace where the test's bundle is bind-mounted over the system one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pebble.sh"
. "$(dirname "$0")/dnsva.sh"
kk_need uacme unshare pebble-challtestsrv python3
sys_bundle=/etc/ssl/certs/ca-certificates.crt
[ -f "$sys_bundle" ] || { echo "SKIP: no $sys_bundle to mount over"; exit 77; }
unshare --mount --map-root-user true 2>/dev/null ||
    { echo "SKIP: no mount namespaces here (unshare --mount)"; exit 77; }
kk_setup
kk_server_profile_policy "$KK_TMP/policy.json"
kk_va_start "$KK_TMP/policy.json"
kk_verified_org

www=$KK_TMP/www
mkdir -p "$www/.well-known/acme-challenge"
(cd "$www" && exec python3 -m http.server --bind 127.0.0.1 \
    "$KK_HTTP_PORT") >"$KK_TMP/www.log" 2>&1 &
KK_PIDS+=($!)
kk_wait_port "$KK_HTTP_PORT" $! http.server

# uacme's hook convention: METHOD TYPE IDENT TOKEN AUTH; a non-zero exit
# at "begin" declines that challenge type.
cat >"$KK_TMP/hook" <<HOOK
#!/bin/sh
echo "\$*" >>"$KK_TMP/hook.log"
[ "\$2" = http-01 ] || exit 1
case "\$1" in
begin) printf '%s' "\$5" >"$www/.well-known/acme-challenge/\$4" ;;
done|failed) rm -f "$www/.well-known/acme-challenge/\$4" ;;
esac
HOOK
chmod +x "$KK_TMP/hook"

# uacme_run ARGS...: uacme seeing only the test's CA as trusted.
uacme_run() {
	unshare --mount --map-root-user sh -c '
	    mount --bind "$1" "$2" || exit 99
	    shift 2
	    exec uacme "$@"' sh "$KK_CA" "$sys_bundle" \
	    -a "$KK_URL/acme/directory" -c "$KK_TMP/uacme" -v "$@"
}

step "uacme new with EAB"
uacme_run -y -e "$KK_EAB_KID:$KK_EAB_HMAC" new ops@example.jp \
    >"$KK_TMP/new.log" 2>&1 || fail "uacme new: $(tail -n 30 "$KK_TMP/new.log")"

step "uacme issue with the http-01 hook"
uacme_run -y -t EC -h "$KK_TMP/hook" issue u.test www.u.test \
    >"$KK_TMP/issue.log" 2>&1 ||
    fail "uacme issue: $(tail -n 30 "$KK_TMP/issue.log")"
kk_dns_cert_ok "$KK_TMP/uacme/u.test/cert.pem" \
    "TLS Web Server Authentication, TLS Web Client Authentication" \
    u.test www.u.test
grep -q "GET /.well-known/acme-challenge/.* 200" "$KK_TMP/www.log" ||
    fail "the server did not fetch the token"
[ -z "$(ls -A "$www/.well-known/acme-challenge")" ] ||
    fail "the hook left token files"
echo "PASS"
