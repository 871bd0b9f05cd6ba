#!/usr/bin/env bash
# run-fuzzers.sh: runs the libFuzzer targets of a build configured with
#   ../configure CC=clang --enable-fuzzer --enable-asan --enable-ubsan   (then `make fuzz`)
# each for SECONDS (default 60), JOBS at a time (default 2), starting from the committed seeds in
# tests/fuzz/corpus/<target>/. New inputs go to a scratch corpus, never into the source tree.
#
#   tests/fuzz/run-fuzzers.sh [-t SECONDS] [-j JOBS] BUILDDIR [TARGET...]   (TARGET: dbus-message, ...)
#
# A crash, a leak, a sanitizer report, a broken invariant or a timeout fails the run: the script
# prints the report and the input that caused it (hex), and leaves the input in
# BUILDDIR/fuzz-artifacts/. To keep it as a regression case, copy it into
# tests/fuzz/corpus/<target>/ (make check replays every file there) and fix the bug.
# Exit 0 when every target ran clean, 1 otherwise.
set -uo pipefail

seconds=60
jobs=2
while getopts "t:j:" opt; do
        case $opt in
        t) seconds=$OPTARG ;;
        j) jobs=$OPTARG ;;
        *) exit 2 ;;
        esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-t SECONDS] [-j JOBS] BUILDDIR [TARGET...]" >&2; exit 2; }

builddir=$(cd "$1" && pwd)
shift
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
        for d in "$srcdir"/tests/fuzz/corpus/*/; do
                targets+=("$(basename "$d")")
        done
fi

artifacts=$builddir/fuzz-artifacts
scratch=$(mktemp -d /tmp/berth-fuzz-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$artifacts"

# One target: the fuzzer's own log goes to $scratch/<target>.log; returns its exit status.
fuzz_one() {
        local t=$1 bin=$builddir/fuzz-$1
        mkdir -p "$scratch/$t"
        # The first corpus directory takes what the fuzzer finds; the seeds are only read.
        "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
                -artifact_prefix="$artifacts/$t-" "$scratch/$t" "$srcdir/tests/fuzz/corpus/$t" \
                >"$scratch/$t.log" 2>&1
}

report() {
        local t=$1 status=$2 runs cov
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$t.log" | tail -n 1)
        cov=$(grep -o 'cov: [0-9]*' "$scratch/$t.log" | tail -n 1)
        if [ "$status" -eq 0 ]; then
                echo "fuzz-$t: ok, ${runs:-?} runs in ${seconds} s, ${cov:-cov: ?}"
                return 0
        fi
        echo "fuzz-$t: FAILED (exit $status) after ${runs:-?} runs; its report:"
        grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED|RELOAD)' "$scratch/$t.log" | tail -n 60
        for a in "$artifacts/$t-"*; do
                [ -e "$a" ] || continue
                echo "--- reproducer $a ($(stat -c %s "$a") bytes; replay: $builddir/fuzz-$t $a):"
                od -A x -t x1z -v "$a" | head -n 64
        done
        return 1
}

if [ ! -x "$builddir/fuzz-${targets[0]}" ]; then
        echo "no $builddir/fuzz-${targets[0]}: run make fuzz there" >&2
        exit 1
fi
pids=()
names=()
failed=0
for t in "${targets[@]}"; do
        [ -x "$builddir/fuzz-$t" ] || { echo "fuzz-$t: not built" >&2; failed=1; continue; }
        rm -f "$artifacts/$t-"*
        fuzz_one "$t" &
        pids+=($!)
        names+=("$t")
        # At most $jobs at once: wait for the oldest.
        if [ ${#pids[@]} -ge "$jobs" ]; then
                wait "${pids[0]}"
                report "${names[0]}" $? || failed=1
                pids=("${pids[@]:1}")
                names=("${names[@]:1}")
        fi
done
for i in "${!pids[@]}"; do
        wait "${pids[$i]}"
        report "${names[$i]}" $? || failed=1
done
exit $failed
