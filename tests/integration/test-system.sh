#!/usr/bin/env bash
# test-system.sh: berth as a system service under a real systemd (PID 1) and system bus, in the
# throwaway sandbox of ../shared/tools/systemd-sandbox: `make install` into a DESTDIR copied into
# the sandbox, D-Bus activation of berthd, a container run as root, `systemctl restart berthd`
# leaving it running (same shim, output kept), the bus policy letting anyone read and refusing
# changes from other users, and container messages in the journal with CONTAINER_ID=.
#
# Exit 0 pass, 1 fail, 77 skip (no sandbox tool, not root); with CI=true a skip is a failure (99).
set -uo pipefail

builddir=${BERTH_BUILDDIR:-$(pwd)}
srcdir=${BERTH_SRCDIR:-$builddir}
# The tool lives in shared/ beside the project's checkout.
sandbox_tool=${BERTH_SYSTEMD_SANDBOX:-}
if [ -z "$sandbox_tool" ]; then
        for d in "$srcdir/../shared" "$srcdir/../../shared" /work/shared; do
                if [ -x "$d/tools/systemd-sandbox" ]; then
                        sandbox_tool=$d/tools/systemd-sandbox
                        break
                fi
        done
fi
sandbox_tool=${sandbox_tool:-$srcdir/../shared/tools/systemd-sandbox}

in_ci() { [ -n "${CI:-}" ] && [ "${CI}" != "false" ] && [ "${CI}" != "0" ]; }
unusable() {
        if in_ci; then
                echo "*** FAIL: test-system.sh cannot run: $* (CI is set: a skipped test is a failure)" >&2
                exit 99
        fi
        echo "SKIP: $*" >&2
        exit 77
}
[ "$(id -u)" = 0 ] || unusable "needs root"
[ -x "$sandbox_tool" ] || unusable "no systemd-sandbox at $sandbox_tool"
command -v runc >/dev/null 2>&1 || unusable "runc not found"

name=berth-test-$$
tmp=$(mktemp -d /tmp/berth-system-test-XXXXXX)
started=false
cleanup() {
        if $started; then
                sb exec berthctl --system rm -f sys1 >/dev/null 2>&1
                "$sandbox_tool" stop "$name" >/dev/null 2>&1
        fi
        rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
sb() { "$sandbox_tool" "$1" "$name" "${@:2}"; }
nobody() { sb exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
bmake() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$builddir" "$@"; }

# Install where the sandbox's dbus-daemon and systemd look, whatever --prefix says.
if ! bmake install DESTDIR="$tmp/root" dbussystemconfdir=/usr/share/dbus-1/system.d \
        dbussystemservicedir=/usr/share/dbus-1/system-services systemdsystemunitdir=/etc/systemd/system \
        >"$tmp/install.log" 2>&1; then
        cat "$tmp/install.log" >&2
        echo "FAIL: make install" >&2
        exit 1
fi
bindir=$(sed -n 's|^ExecStart=\(.*\)/berthd .*|\1|p' "$tmp/root/etc/systemd/system/berthd.service")
bash "$srcdir/tests/make-bundle.sh" "$tmp/bundle" sh -c 'echo hello-system; exec sleep 1000' >/dev/null ||
        { echo "FAIL: make-bundle.sh" >&2; exit 1; }

SDSB_CGROUP=hybrid "$sandbox_tool" start "$name" >"$tmp/start.log" 2>&1 ||
        { cat "$tmp/start.log" >&2; unusable "the systemd sandbox did not boot"; }
started=true
sb copy-in "$tmp/root" / >/dev/null
sb copy-in "$tmp/bundle" /srv/bundle >/dev/null
sb exec systemctl daemon-reload
sb exec systemctl reload dbus

ctl() { sb exec "$bindir/berthctl" --system "$@"; }

# Activation: the first call starts berthd through D-Bus and systemd.
if out=$(sb exec busctl --system call org.berth.Monitor1 /org/berth/Monitor1 org.berth.Monitor1 ListContainers) &&
   [ "$out" = "a(sssuio) 0" ]; then
        pass "D-Bus activation started berthd"
else
        fail "activation: '$out'"
fi
[ "$(sb exec systemctl is-active berthd)" = active ] && pass "berthd.service is active" || fail "berthd not active"

ctl run -d sys1 /srv/bundle >/dev/null || fail "berthctl run -d"
shim_before=$(ctl inspect sys1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["shim_pid"])')
pid_before=$(ctl inspect sys1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')

sb exec systemctl restart berthd
[ "$(sb exec systemctl is-active berthd)" = active ] || fail "berthd not active after restart"
state=$(ctl inspect sys1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["state"], d["shim_pid"], d["pid"])')
if [ "$state" = "running $shim_before $pid_before" ]; then
        pass "systemctl restart berthd: container still running, same shim and pid"
else
        fail "after restart: '$state', expected 'running $shim_before $pid_before'"
fi
[ "$(ctl logs sys1)" = hello-system ] && pass "output kept across the restart" || fail "logs after restart"

# Policy: anyone may read, only root may change.
if nobody busctl --system call org.berth.Monitor1 /org/berth/Monitor1 org.berth.Monitor1 ListContainers \
        | grep -q '"sys1"'; then
        pass "another user may list containers"
else
        fail "another user cannot list containers"
fi
if nobody busctl --system get-property org.berth.Monitor1 /org/berth/Monitor1/container/sys1 \
        org.berth.Container1 State | grep -q running; then
        pass "another user may read properties"
else
        fail "another user cannot read properties"
fi
if nobody busctl --system call org.berth.Monitor1 /org/berth/Monitor1 org.berth.Monitor1 KillContainer \
        sib sys1 9 false >/dev/null 2>&1; then
        fail "another user could kill a container"
else
        pass "another user may not kill a container"
fi
if nobody busctl --system call org.berth.Monitor1 /org/berth/Monitor1/container/sys1 org.berth.Container1 \
        Delete b true >/dev/null 2>&1; then
        fail "another user could delete a container"
else
        pass "another user may not delete a container"
fi
[ "$(ctl inspect sys1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = running ] ||
        fail "the container changed after refused calls"

journal=$(sb exec journalctl -o verbose -u berthd --no-pager)
if grep -q 'CONTAINER_ID=sys1' <<<"$journal"; then
        pass "journal entries carry CONTAINER_ID="
else
        fail "no CONTAINER_ID=sys1 in berthd's journal"
fi

ctl rm -f sys1 || fail "berthctl rm -f"
[ -z "$(sb exec ls /run/berth)" ] || fail "state left in /run/berth"
[ "$(ctl ps -a -q)" = "" ] && pass "container deleted" || fail "container still listed"

if [ "$failures" -gt 0 ]; then
        echo "test-system.sh: $failures failure(s)" >&2
        exit 1
fi
echo "test-system.sh: all checks passed"
exit 0
