#!/usr/bin/env bash
# cluster.sh start|stop|halt|resume DIR - a throwaway PostgreSQL cluster for
# the tests.
#
# start: initdb in DIR/data and a postmaster that listens on a unix socket
# in DIR only (no TCP port, so any number of clusters can run side by side),
# with a superuser "kakuin" that local connections reach without a
# password. Prints the base storage URL, which tests complete with a
# database name of their own; the same line is kept in DIR/url.
# stop: stops that postmaster and removes DIR.
# halt and resume: the fault tests' database restart. halt stops the
# postmaster (fast shutdown: sessions are cut, committed data is kept) and
# leaves DIR; resume starts it again on the same socket. Use them on a
# cluster of the test's own, never on the one other tests share.
#
# PostgreSQL refuses to run as root, so a root caller runs it as "nobody",
# who then owns DIR. Nothing here is a system service: the cluster lives
# and dies with DIR. DIR must not exist yet unless an earlier start made
# it (the marker file says so), so the script never deletes a folder it
# did not create.
set -eu

usage() {
	echo "usage: $0 start|stop|halt|resume DIR" >&2
	exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
dir=$2
case $dir in
/*) ;;
*) echo "$0: DIR must be an absolute path" >&2; exit 2 ;;
esac
# The socket path must fit in sun_path, and the URL below leaves DIR
# unescaped apart from its slashes.
case $dir in
*[!A-Za-z0-9/._-]*) echo "$0: DIR may hold only [A-Za-z0-9/._-]" >&2; exit 2 ;;
esac
[ ${#dir} -le 80 ] || { echo "$0: DIR is too long for a socket" >&2; exit 2; }
marker=$dir/.kakuin-test-cluster

bindir() {
	local d
	if d=$(command -v initdb 2>/dev/null); then
		dirname "$d"
		return
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	done
	echo "$0: initdb not found (install postgresql)" >&2
	exit 1
}

# Runs a command as the cluster's owner.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

stop() {
	[ -e "$dir" ] || return 0
	if [ ! -e "$marker" ]; then
		echo "$0: $dir was not made by this script; not touching it" >&2
		exit 1
	fi
	if [ -e "$dir/data/postmaster.pid" ]; then
		# immediate: the data is thrown away next.
		as_owner "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop \
		    >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}

# Starts the postmaster of DIR. fsync off: the tests kill clients and
# replicas, and stop this server only cleanly (halt), and the cluster does
# not outlive the run. Sessions still commit with synchronous_commit on,
# as the server's always do.
postmaster() {
	if ! as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
	    -o "-c listen_addresses= -k $dir -c fsync=off -c max_connections=200" \
	    start >/dev/null; then
		cat "$dir/server.log" >&2
		exit 1
	fi
}

# Checks that DIR is a cluster this script made.
ours() {
	if [ ! -e "$marker" ] || [ ! -d "$dir/data" ]; then
		echo "$0: $dir is not a cluster made by this script" >&2
		exit 1
	fi
}

BIN=$(bindir)
case $cmd in
start)
	stop # a cluster left over by an interrupted run
	mkdir -m 700 "$dir"
	touch "$marker"
	[ "$(id -u)" -eq 0 ] && chown -R nobody: "$dir"
	if ! as_owner "$BIN/initdb" -D "$dir/data" -U kakuin -A trust \
	    -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		exit 1
	fi
	postmaster
	url="postgresql://kakuin@${dir//\//%2F}/"
	echo "$url" >"$dir/url"
	echo "$url"
	;;
stop)
	stop
	;;
halt)
	ours
	as_owner "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	;;
resume)
	ours
	postmaster
	;;
*)
	usage
	;;
esac
