#!/bin/sh
# run_fuzz.sh EXE CORPUS SECONDS [DICT]: one time-boxed libFuzzer run, as
# the ctest tests labelled "fuzz" do it. The seed corpus is copied to a
# scratch directory first, so the repository's corpus never changes; the
# scratch directory (/dev/shm when there is one) goes away afterwards.
# A crash leaves its input in $KAKUIN_FUZZ_ARTIFACTS (default
# ./fuzz-artifacts)/<target>/ and fails the test.
set -eu
exe=$1 corpus=$2 secs=$3 dict=${4:-}
base=${TMPDIR:-/tmp}
[ -w /dev/shm ] && base=/dev/shm
work=$(mktemp -d "$base/kakuin-fuzz-run.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/corpus" "$work/tmp"
if [ -d "$corpus" ]; then
	cp "$corpus"/* "$work/corpus/" 2>/dev/null || true
fi
artifacts=${KAKUIN_FUZZ_ARTIFACTS:-$PWD/fuzz-artifacts}/$(basename "$exe")
mkdir -p "$artifacts"
# A fixed seed by default: the same run gives the same mutations, so a
# smoke run in CI that fails fails again for whoever looks, and does not
# fail by chance. Exploration (the long runs) sets another seed.
set -- -seed="${KAKUIN_FUZZ_SEED:-1}" -max_total_time="$secs" \
	-rss_limit_mb=2048 -timeout=25 \
	-print_final_stats=1 -artifact_prefix="$artifacts/"
[ -n "$dict" ] && set -- "$@" -dict="$dict"
KAKUIN_FUZZ_TMP=$work/tmp nice -n 19 "$exe" "$@" "$work/corpus"
