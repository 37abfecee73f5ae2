# Sourced by scripts/test, scripts/demo and scripts/package: install the
# Debian packages the build and the tests need, but only those that are
# missing, so that a developer's machine is not touched when it already has
# everything.
KAKUIN_PACKAGES="cmake make gcc pkg-config openssl curl ca-certificates
	libssl-dev libcivetweb-dev libcjson-dev uuid-dev libsqlite3-dev
	libcurl4-openssl-dev libcsv-dev libunistring-dev libcriterion-dev
	clang-format cppcheck procps sqlite3
	clang binutils systemd mandoc pebble python3
	libp11-dev libp11-kit-dev softhsm2 opensc libengine-pkcs11-openssl
	libpq-dev postgresql jq certbot lego uacme util-linux
	chromium chromium-driver python3-selenium fonts-ipafont-gothic"
# What scripts/package needs: the tools, and debian/control's
# Build-Depends (no Criterion: the package build runs no tests).
KAKUIN_PACKAGE_DEPS="build-essential dpkg-dev debhelper lintian cmake
	pkg-config libssl-dev libcivetweb-dev libcjson-dev uuid-dev
	libsqlite3-dev libcurl4-openssl-dev libcsv-dev libunistring-dev libp11-dev
	libp11-kit-dev libpq-dev"

# kakuin_install_deps [PACKAGE...]: those given, or KAKUIN_PACKAGES.
kakuin_install_deps() {
	local missing=() p list=${*:-$KAKUIN_PACKAGES}
	for p in $list; do
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
