# Sourced by scripts/test and scripts/demo: install the Debian packages the
# build and the tests need, but only those that are missing, so that a
# developer's machine is not touched when it already has everything.
KAKUIN_PACKAGES="cmake make gcc pkg-config openssl curl ca-certificates
	libssl-dev libcivetweb-dev libcjson-dev uuid-dev libsqlite3-dev
	libcurl4-openssl-dev libcriterion-dev clang-format cppcheck procps
	libpq-dev postgresql"

kakuin_install_deps() {
	local missing=() p
	for p in $KAKUIN_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages: ${missing[*]}" >&2
		echo "run as root, or: sudo apt-get install ${missing[*]}" >&2
		return 1
	fi
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y --no-install-recommends "${missing[@]}"
}
