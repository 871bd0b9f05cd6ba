#!/usr/bin/env bash
# check-valgrind.sh: real containers created, started, read, exited and deleted while berth-shim
# runs under valgrind memcheck (`make check-valgrind`). With --berthd, berthd runs under it too
# (`make check-valgrind-berthd`); that needs a berthd that works without pidfd_open(), which
# valgrind 3.19 does not know.
#
#   tests/valgrind/check-valgrind.sh [--berthd] BUILDDIR
#
# BUILDDIR must hold a dynamically linked shim (./configure --disable-static-shim): valgrind
# cannot run a static-pie one. The scenarios are integration test cases whose shims all end by
# themselves (a SIGKILLed process writes no valgrind summary): test-lifecycle's "exit" and "api"
# cases and test-output's "records" case. berthd starts the shim through a wrapper script
# (BERTH_TEST_SHIM, see harness_spawn_berthd()) that execs valgrind on the real one; each process
# writes BUILDDIR/valgrind-logs/<program>.<pid>.log. Memory errors and definite, indirect or
# possible leaks count as errors. Runs as root, like the integration tests (take
# /tmp/berth-integration.lock around it when others share the machine).
# Exit 0 when the tests passed and every valgrind log says "ERROR SUMMARY: 0 errors", 1 otherwise.
set -uo pipefail

wrap_berthd=false
if [ "${1:-}" = --berthd ]; then
        wrap_berthd=true
        shift
fi
[ $# -eq 1 ] || { echo "usage: $0 [--berthd] BUILDDIR" >&2; exit 2; }
builddir=$(cd "$1" && pwd)
srcdir=$(cd "$(dirname "$0")/../.." && pwd)

command -v valgrind >/dev/null 2>&1 || { echo "valgrind is not installed" >&2; exit 1; }
make -s -C "$builddir" berthd berth-shim test-lifecycle test-output || exit 1
if ! readelf -l "$builddir/berth-shim" | grep -q 'program interpreter'; then
        echo "$builddir/berth-shim is linked statically: configure with --disable-static-shim" >&2
        exit 1
fi

logdir=$builddir/valgrind-logs
rm -rf "$logdir"
mkdir -p "$logdir"
wrapdir=$(mktemp -d /tmp/berth-valgrind-XXXXXX)
trap 'rm -rf "$wrapdir"' EXIT

# A script named like the program that execs valgrind on it, in the same process. The shim's is
# run instead of the shim; berthd's is given berthd's own path first (harness_spawn_berthd()).
write_wrapper() {
        local program=$1 target=$2
        cat >"$wrapdir/$program" <<WRAPPER
#!/bin/sh
exec valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \\
        --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \\
        --track-origins=yes --child-silent-after-fork=yes \\
        --log-file="$logdir/$program.%p.log" $target "\$@"
WRAPPER
        chmod 0755 "$wrapdir/$program"
}
write_wrapper berth-shim "\"$builddir/berth-shim\""
export BERTH_TEST_SHIM=$wrapdir/berth-shim
if $wrap_berthd; then
        write_wrapper berthd ""
        export BERTH_TEST_BERTHD_WRAPPER=$wrapdir/berthd
fi

export BERTH_BUILDDIR=$builddir BERTH_SRCDIR=$srcdir CK_DEFAULT_TIMEOUT=600
failed=0
run_case() {
        local program=$1 tcase=$2
        echo "--- $program, case $tcase"
        CK_RUN_CASE=$tcase "$builddir/$program" || { echo "$program ($tcase) FAILED"; failed=1; }
}
run_case test-lifecycle exit
run_case test-lifecycle api
run_case test-output records

# A forked child that went on to exec another program (the shim starting runc) leaves a log
# without summary (--child-silent-after-fork): only logs with a summary are of a process that ended.
finished=0
for f in "$logdir"/*.log; do
        [ -e "$f" ] || continue
        grep -q 'ERROR SUMMARY:' "$f" || continue
        finished=$((finished + 1))
        if ! grep -q 'ERROR SUMMARY: 0 errors' "$f"; then
                echo "===== $f ====="
                cat "$f"
                failed=1
        fi
done
shims=$(grep -l 'ERROR SUMMARY:' "$logdir"/berth-shim.*.log 2>/dev/null | wc -l)
if [ "$shims" -eq 0 ]; then
        echo "no berth-shim ran to its end under valgrind (logs: $logdir)"
        failed=1
fi
if $wrap_berthd && ! grep -q 'ERROR SUMMARY:' "$logdir"/berthd.*.log 2>/dev/null; then
        echo "no berthd ran to its end under valgrind (logs: $logdir)"
        failed=1
fi
verdict=clean
[ "$failed" -eq 0 ] || verdict=FAILED
echo "valgrind: $finished process(es) ended under valgrind ($shims shim(s)); $verdict"
exit $failed
