#!/bin/sh
# check-options.sh BINARY DOC...: every long option that "BINARY --help"
# prints must appear in each DOC, so that an option added to the code
# without documentation fails the tests. In an mdoc manual (*.[1-9]) it
# must be a flag ("Fl -name"); in any other file, the text --name.
set -eu
bin=$1
shift
help=$("$bin" --help)
missing=0
for opt in $(printf '%s\n' "$help" | grep -o -- '--[a-z0-9][a-z0-9-]*' |
    sort -u); do
	name=${opt#--}
	for doc in "$@"; do
		case "$doc" in
		*.[1-9])
			grep -Eq "Fl -$name([^a-z0-9-]|\$)" "$doc" ||
			    grep -Eq "Fl -[a-z0-9-]+ \| -$name([^a-z0-9-]|\$)" \
			    "$doc" ;;
		*)
			grep -Eq -- "--$name([^a-z0-9-]|\$)" "$doc" ;;
		esac || {
			echo "$doc: $opt (printed by $bin --help) is not documented" >&2
			missing=1
		}
	done
done
exit $missing
