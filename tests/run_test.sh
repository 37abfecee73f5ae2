#!/usr/bin/env bash
# Runs one test command and fails it when any process it started wrote a
# sanitizer report. Criterion's workers (and servers killed by tests) can
# exit without their report changing an exit status, so the reports are
# sent to files and their presence is the verdict. Only real reports count
# ("ERROR: ...Sanitizer", UBSan's "runtime error:"): a process that a test
# SIGKILLs while LeakSanitizer is scanning it at exit leaves a note such as
# "Unable to get registers from thread", which is not a finding.
set -u
d=$(mktemp -d /tmp/kakuin-san-XXXXXX)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:log_path=$d/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}:log_path=$d/ubsan"
"$@"
rc=$?
if compgen -G "$d/*" >/dev/null; then
	if grep -lE 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$d"/* >/dev/null; then
		echo "sanitizer reports:" >&2
		cat "$d"/* >&2
		[ $rc -eq 0 ] && rc=1
	else
		echo "sanitizer notes (not findings):" >&2
		cat "$d"/* >&2
	fi
fi
rm -rf "$d"
exit $rc
