#!/usr/bin/env bash
# demo.sh: berth's main job on an embedded default, from a built tree.
#
#   tests/demo.sh [BUILDDIR]        (BUILDDIR defaults to the current directory)
#
# Starts a private dbus-daemon and berthd in a temp dir, makes a busybox bundle that says hello
# and exits 3, runs it in the foreground with `berthctl run`, shows its output and exit status,
# `berthctl ps -a` and `berthctl inspect`, deletes it, and stops everything again (by pid).
# Needs root, runc, busybox-static, dbus-daemon and python3 (tests/install-deps.sh).
# Exits 0 when the demo behaved as expected.
set -uo pipefail

builddir=$(cd "${1:-.}" && pwd)
srcdir=$(cd "$(dirname "$0")/.." && pwd)
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin ;; esac

die() {
        echo "demo: $*" >&2
        exit 1
}
[ "$(id -u)" = 0 ] || die "needs root (runc creates namespaces and cgroups)"
for tool in runc dbus-daemon python3; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool not found (run tests/install-deps.sh)"
done
for bin in berthd berthctl berth-shim; do
        [ -x "$builddir/$bin" ] || die "$builddir/$bin is not built (run make, or pass the build dir)"
done

tmp=$(mktemp -d /tmp/berth-demo-XXXXXX)
dbus_pid=
berthd_pid=
stop_pid() {
        local pid=$1 i
        [ -n "$pid" ] || return 0
        kill -TERM "$pid" 2>/dev/null || return 0
        for ((i = 0; i < 50; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        return 0
}
cleanup() {
        local id
        if [ -n "$berthd_pid" ]; then
                for id in $("$builddir/berthctl" ps -a -q 2>/dev/null); do
                        "$builddir/berthctl" rm -f "$id" >/dev/null 2>&1
                done
        fi
        stop_pid "$berthd_pid"
        if [ -d "$tmp/state/.runtime" ]; then
                for id in $(runc --root "$tmp/state/.runtime" list -q 2>/dev/null); do
                        runc --root "$tmp/state/.runtime" delete -f "$id" >/dev/null 2>&1
                done
        fi
        stop_pid "$dbus_pid"
        rm -rf "$tmp"
}
trap cleanup EXIT

if [ -t 1 ]; then
        step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
        step() { printf '\n==> %s\n' "$*"; }
fi

step "a private D-Bus bus and berthd (state and logs in $tmp)"
dbus-daemon --config-file="$srcdir/tests/data/bus.conf" --print-address=3 --nofork --nopidfile \
        --address="unix:path=$tmp/bus" 3>"$tmp/address" 2>/dev/null &
dbus_pid=$!
for ((i = 0; i < 100; i++)); do
        [ -s "$tmp/address" ] && break
        sleep 0.1
done
[ -s "$tmp/address" ] || die "dbus-daemon did not start"
BERTH_ADDRESS=$(head -n 1 "$tmp/address")
export BERTH_ADDRESS
echo "BERTH_ADDRESS=$BERTH_ADDRESS"

"$builddir/berthd" --address="$BERTH_ADDRESS" --state-dir="$tmp/state" --log-dir="$tmp/logs" \
        </dev/null 2>"$tmp/berthd.log" &
berthd_pid=$!
for ((i = 0; i < 100; i++)); do
        "$builddir/berthctl" ps >/dev/null 2>&1 && break
        sleep 0.1
done
"$builddir/berthctl" ps >/dev/null 2>&1 || { cat "$tmp/berthd.log" >&2; die "berthd did not come up"; }
echo "berthd runs as pid $berthd_pid"

step "a busybox bundle"
bundle=$tmp/bundle
bash "$srcdir/tests/make-bundle.sh" "$bundle" sh -c \
        'echo "hello from berth"; uname -a; echo "I am pid $$ in a container"; exit 3' ||
        die "make-bundle.sh failed"
echo "$bundle: rootfs with busybox, config.json from runc spec"

step "berthctl run demo $bundle"
out=$("$builddir/berthctl" run demo "$bundle")
status=$?
printf '%s\n' "$out"
echo "exit status: $status"

step "berthctl ps -a"
"$builddir/berthctl" ps -a

step "berthctl inspect demo"
"$builddir/berthctl" inspect demo | tee "$tmp/inspect.json"

step "berthctl rm demo"
"$builddir/berthctl" rm demo
rm_status=$?

ok=true
grep -q "hello from berth" <<<"$out" || { echo "demo: the output lacks 'hello from berth'" >&2; ok=false; }
[ "$status" = 3 ] || { echo "demo: exit status $status, expected 3" >&2; ok=false; }
python3 -c 'import json, sys; o = json.load(open(sys.argv[1]));
sys.exit(0 if o["exit_status"] == 3 and o["state"] == "stopped" else 1)' "$tmp/inspect.json" 2>/dev/null ||
        { echo "demo: inspect does not show stopped/3" >&2; ok=false; }
[ "$rm_status" = 0 ] || { echo "demo: berthctl rm failed" >&2; ok=false; }

if $ok; then
        step "done: the container ran, its output and exit status came back, and it is gone"
        exit 0
fi
echo "demo: FAILED; berthd's log:" >&2
cat "$tmp/berthd.log" >&2
exit 1
