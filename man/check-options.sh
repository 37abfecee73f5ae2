#!/bin/sh
# check-options.sh BINARY [-c "CMD..."] DOC...: every long option that
# "BINARY --help" (and "BINARY CMD --help" for each CMD) prints must appear
# in each DOC, so that an option added to the code without documentation
# fails the tests. In an mdoc manual (*.[1-9]) it must be a flag
# ("Fl -name"); in any other file, the text --name.
set -eu
bin=$1
shift
cmds=
if [ "${1:-}" = -c ]; then
	cmds=$2
	shift 2
fi
help=$("$bin" --help)
for cmd in $cmds; do
	help="$help
$("$bin" "$cmd" --help)"
done
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
