#!/bin/sh
# check-options.sh BINARY MANUAL: every long option that "BINARY --help"
# prints must appear in MANUAL as an mdoc flag ("Fl -name"), so that an
# option added to the code without documentation fails the tests.
set -eu
bin=$1
manual=$2
help=$("$bin" --help)
missing=0
for opt in $(printf '%s\n' "$help" | grep -o -- '--[a-z0-9][a-z0-9-]*' |
    sort -u); do
	name=${opt#--}
	if ! grep -Eq "Fl -$name([^a-z0-9-]|\$)" "$manual" &&
	    ! grep -Eq "Fl -[a-z0-9-]+ \| -$name([^a-z0-9-]|\$)" "$manual"; then
		echo "$manual: $opt (printed by $bin --help) is not documented" >&2
		missing=1
	fi
done
exit $missing
