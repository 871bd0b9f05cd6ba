#!/usr/bin/env bash
# test-no-pidfd.sh: berthd's way of watching processes where pidfds are missing (kernels before 5.3,
# valgrind): by pid and start time (monitor/process-watch.c). BERTH_NO_PIDFD=1 makes berthd take
# that path here; the suites that kill shims, restart berthd and hang runtimes then run again on it.
set -euo pipefail

builddir=${BERTH_BUILDDIR:-$(pwd)}
export BERTH_NO_PIDFD=1
status=0
for t in test-faults test-restart; do
        echo "--- $t with BERTH_NO_PIDFD=1"
        "$builddir/$t" || status=$?
done
exit "$status"
