#!/usr/bin/env bash
# sanitizer-logs.sh: the last test of `make check` in a build configured with --enable-asan or
# --enable-ubsan. Every process the tests start (test programs, berthd, berth-shim, berthctl) writes
# its sanitizer reports to a file of its own in $BERTH_SANITIZER_LOG_DIR (Makefile.am sets
# ASAN_OPTIONS/UBSAN_OPTIONS log_path for the tests): a daemon's stderr is a log file its fixture
# deletes, and a shim's exit status is seen by nobody, so a report would otherwise be lost.
#
# Fails if any report was written, and prints each one. The reports are moved to
# $BERTH_SANITIZER_LOG_DIR/seen/ so that the next run starts clean; this test's log keeps them.
# Exit 0 pass, 1 fail, 99 when the directory is not set up (make check did not set it).
set -euo pipefail

dir=${BERTH_SANITIZER_LOG_DIR:-}
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
        echo "sanitizer-logs: BERTH_SANITIZER_LOG_DIR ('$dir') is not a directory" >&2
        exit 99
fi

reports=()
for f in "$dir"/asan.* "$dir"/ubsan.*; do
        [ -e "$f" ] || continue
        # An empty file holds no report (a sanitizer may open its log before it has anything to say).
        [ -s "$f" ] && reports+=("$f")
done

if [ "${#reports[@]}" -eq 0 ]; then
        echo "sanitizer-logs: no sanitizer report in $dir"
        exit 0
fi

mkdir -p "$dir/seen"
for f in "${reports[@]}"; do
        echo "===== $f ====="
        cat "$f"
        mv -f "$f" "$dir/seen/"
done
echo "sanitizer-logs: ${#reports[@]} sanitizer report(s); they are above and in $dir/seen/" >&2
exit 1
