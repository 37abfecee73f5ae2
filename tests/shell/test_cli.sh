#!/usr/bin/env bash
# Command-line conventions of both binaries: options before or after the
# command (and the command's action), --help and --version for every
# command, an unknown option exits 64 with the usage on stderr.
. "$(dirname "$0")/lib.sh"
kk_setup
S=$KAKUIN_SERVER_BIN
C=$KAKUIN_CLIENT_BIN

# run WANT_RC BIN ARGS...: output in $KK_TMP/out and $KK_TMP/err.
run() {
	local want=$1 rc=0
	shift
	"$@" >"$KK_TMP/out" 2>"$KK_TMP/err" || rc=$?
	[ "$rc" -eq "$want" ] ||
	    fail "$* exited $rc, expected $want: $(cat "$KK_TMP/err")"
}

# help_ok WHAT BIN ARGS...: usage on stdout naming WHAT, nothing on stderr.
help_ok() {
	local what=$1
	shift
	run 0 "$@"
	head -n1 "$KK_TMP/out" | grep -q "^usage: " && grep -q "$what" "$KK_TMP/out" ||
	    fail "$*: no usage of '$what' on stdout: $(head -3 "$KK_TMP/out")"
	[ ! -s "$KK_TMP/err" ] || fail "$*: wrote on stderr"
}

# version_ok NAME BIN ARGS...
version_ok() {
	local name=$1
	shift
	run 0 "$@"
	grep -qx "$name [0-9][0-9.]*" "$KK_TMP/out" ||
	    fail "$*: no '$name VERSION': $(cat "$KK_TMP/out")"
}

# bad_opt BIN ARGS...: exit 64, the usage on stderr, nothing on stdout.
bad_opt() {
	run 64 "$@"
	grep -q "^usage: " "$KK_TMP/err" ||
	    fail "$*: no usage on stderr: $(cat "$KK_TMP/err")"
	[ ! -s "$KK_TMP/out" ] || fail "$*: wrote on stdout"
}

step "kakuin-server: --help and --version for every command"
help_ok "kakuin-server \[serve\]" "$S" --help
grep -q "token create" "$KK_TMP/out" || fail "--help lacks token"
help_ok "kakuin-server \[serve\]" "$S" serve --help
help_ok "kakuin-server init" "$S" init --help
help_ok "kakuin-server token create" "$S" token --help
help_ok "kakuin-server token create" "$S" token create --help
help_ok "kakuin-server token revoke" "$S" token revoke --help
grep -q "kakuin-server init" "$KK_TMP/out" && fail "token --help shows init"
for args in "" serve init token "token create" "token revoke"; do
	# shellcheck disable=SC2086 # the words are the command
	version_ok kakuin-server "$S" $args --version
done

step "kakuin-server: an unknown option or operand is a usage error"
bad_opt "$S" --no-such-option
bad_opt "$S" init --no-such-option
bad_opt "$S" token create --name a --role operator --bogus
bad_opt "$S" serve extra
bad_opt "$S" init --name alice
bad_opt "$S" token create --name alice
bad_opt "$S" frobnicate
bad_opt "$S" --listen

step "kakuin-server: options before or after the command"
d1=$KK_TMP/d1
d2=$KK_TMP/d2
run 0 "$S" init --data-dir "$d1"
[ -s "$d1/root.pem" ] || fail "init --data-dir: no $d1/root.pem"
run 0 "$S" --data-dir "$d2" init
[ -s "$d2/root.pem" ] || fail "--data-dir init: no $d2/root.pem"
[ ! -e kakuin-data ] && [ ! -e "$KK_TMP/kakuin-data" ] ||
    fail "a default data directory appeared"
run 0 "$S" token create --data-dir "$d1" --name alice --role operator
grep -qE '^[A-Za-z0-9_-]{20,}$' "$KK_TMP/out" || fail "no token printed"
run 0 "$S" --data-dir "$d1" token --role auditor create --name bob
run 0 "$S" token revoke alice --data-dir "$d1"
run 1 "$S" --data-dir "$d1" token revoke alice
grep -q "not found" "$KK_TMP/err" || fail "second revoke: $(cat "$KK_TMP/err")"
run 0 "$S" token revoke --data-dir="$d1" --name bob
# A token name that looks like an option, after "--".
run 0 "$S" --data-dir "$d2" token create --name carol --role operator --
run 0 "$S" --data-dir "$d2" token revoke -- carol
# --config anywhere, in either form; flags still override the file.
printf '{"data_dir": "%s"}\n' "$KK_TMP/d3" >"$KK_TMP/config.json"
run 0 "$S" init --config="$KK_TMP/config.json"
[ -s "$KK_TMP/d3/root.pem" ] || fail "--config=FILE was not read"
run 0 "$S" init --data-dir "$KK_TMP/d4" --config "$KK_TMP/config.json"
[ -s "$KK_TMP/d4/root.pem" ] || fail "--data-dir did not override --config"

step "kakuin: --help and --version for every command"
help_ok "kakuin \[global options\] COMMAND" "$C" --help
for cmd in enroll renew status revoke account op; do
	help_ok "kakuin $cmd" "$C" "$cmd" --help
	version_ok kakuin "$C" "$cmd" --version
done
help_ok "kakuin op approve" "$C" op approve --help
help_ok "kakuin account rollover" "$C" account rollover --help
version_ok kakuin "$C" --version

step "kakuin: an unknown option is a usage error"
bad_opt "$C" --no-such-option
bad_opt "$C" --no-such-option status
for cmd in enroll renew status revoke account op; do
	bad_opt "$C" "$cmd" --no-such-option
done
bad_opt "$C" op list -x

step "kakuin: global options before or after the command"
# A state directory with a corrupted file: status must read that one.
s=$KK_TMP/st
mkdir -p "$s/certs/host-x"
echo garbage >"$s/certs/host-x/config.json"
run 78 "$C" --state-dir "$s" status
grep -q "$s/certs/host-x/config.json" "$KK_TMP/err" ||
    fail "--state-dir status: $(cat "$KK_TMP/err")"
run 78 "$C" status --state-dir "$s"
grep -q "$s/certs/host-x/config.json" "$KK_TMP/err" ||
    fail "status --state-dir: $(cat "$KK_TMP/err")"
run 78 "$C" status --json --state-dir="$s" --quiet
echo PASS
