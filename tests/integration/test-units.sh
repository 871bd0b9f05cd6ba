#!/usr/bin/env bash
# test-units.sh: checks the files berth installs for the system: the systemd unit passes
# `systemd-analyze verify`, the D-Bus policy and interface XML are well formed (and dbus-daemon
# accepts the policy), the activation file names the service, and `make install DESTDIR=...`
# puts binaries, shim, D-Bus files and unit where configure said, with paths that point into the
# installed tree; `make uninstall` takes them all away again.
#
# Runs under `make check` (BERTH_BUILDDIR, BERTH_SRCDIR) or by hand from a build dir.
# Exit 0 pass, 1 fail, 77 skip (systemd-analyze, dbus-daemon or python3 missing); with CI=true a
# missing tool is a hard failure (99).
set -uo pipefail

builddir=${BERTH_BUILDDIR:-$(pwd)}
srcdir=${BERTH_SRCDIR:-$builddir}

in_ci() { [ -n "${CI:-}" ] && [ "${CI}" != "false" ] && [ "${CI}" != "0" ]; }
unusable() {
        if in_ci; then
                echo "*** FAIL: test-units.sh cannot run: $* (CI is set: a skipped test is a failure)" >&2
                exit 99
        fi
        echo "SKIP: $*" >&2
        exit 77
}
for tool in systemd-analyze dbus-daemon python3 make; do
        command -v "$tool" >/dev/null 2>&1 || unusable "$tool not found"
done

tmp=$(mktemp -d /tmp/berth-units-test-XXXXXX)
dbus_pid=
cleanup() {
        [ -n "$dbus_pid" ] && kill "$dbus_pid" 2>/dev/null && wait "$dbus_pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
pass() { echo "ok: $*"; }

# make in the build dir, without the jobserver of a surrounding `make check`.
bmake() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$builddir" "$@"; }

unit=$builddir/systemd/berthd.service
policy=$srcdir/dbus/org.berth.Monitor1.conf
interface=$srcdir/dbus/org.berth.Monitor1.xml
activation=$builddir/dbus/org.berth.Monitor1.service
for f in "$unit" "$policy" "$interface" "$activation" "$srcdir/systemd/berthd.service.in" \
         "$srcdir/dbus/org.berth.Monitor1.service.in"; do
        if [ ! -f "$f" ]; then
                fail "$f is missing"
        fi
done
if [ "$failures" -gt 0 ]; then
        exit 1
fi

# ---- where configure put things -----------------------------------------------------------------

vars='$(bindir)|$(pkglibexecdir)|$(dbussystemconfdir)|$(dbussystemservicedir)|$(dbusinterfacesdir)'
vars+='|$(systemdsystemunitdir)'
dirs=$(printf 'berth-print-dirs:\n\t@echo "%s"\n' "$vars" | bmake -f Makefile -f - berth-print-dirs)
IFS='|' read -r bindir pkglibexecdir dbusconfdir dbusservicedir dbusinterfacesdir unitdir <<<"$dirs"
if [ -z "$unitdir" ]; then
        echo "FAIL: cannot read the install directories from $builddir/Makefile" >&2
        exit 1
fi

# ---- systemd-analyze verify ---------------------------------------------------------------------

# verify wants ExecStart= to exist: point it at the built berthd. Any message is a failure
# (unknown keys are only warnings to systemd).
verify_unit() { # verify_unit UNIT-FILE BERTHD-PATH WHAT
        local copy=$tmp/verify/berthd.service out
        mkdir -p "$tmp/verify"
        grep -q "^ExecStart=$bindir/berthd\( \|$\)" "$1" ||
                fail "$3: ExecStart is not $bindir/berthd: $(grep ^ExecStart= "$1")"
        sed "s|^ExecStart=$bindir/berthd|ExecStart=$2|" "$1" >"$copy"
        out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$copy" 2>&1)
        if [ $? -eq 0 ] && [ -z "$out" ]; then
                pass "systemd-analyze verify $3"
        else
                fail "systemd-analyze verify $3: $out"
        fi
}
verify_unit "$unit" "$builddir/berthd" "the built unit"
grep -q '^Type=notify' "$unit" && pass "the unit is Type=notify" || fail "the unit is not Type=notify"
grep -q '^KillMode=process' "$unit" && pass "the unit has KillMode=process (shims outlive berthd)" ||
        fail "the unit lacks KillMode=process: stopping berthd would kill every container"

# ---- the D-Bus files ----------------------------------------------------------------------------

if python3 - "$policy" "$interface" <<'EOF'
import sys
import xml.etree.ElementTree as ET

policy = ET.parse(sys.argv[1]).getroot()
iface = ET.parse(sys.argv[2]).getroot()
assert policy.tag == "busconfig", policy.tag
assert iface.tag == "node", iface.tag

methods = {}
for i in iface.findall("interface"):
    methods[i.get("name")] = {m.get("name") for m in i.findall("method")}
assert "org.berth.Monitor1" in methods and "org.berth.Container1" in methods, methods.keys()

owners = [a for p in policy.findall("policy") if p.get("user") == "root"
          for a in p.findall("allow") if a.get("own") == "org.berth.Monitor1"]
assert owners, "root may not own org.berth.Monitor1"

# Every method the policy names must exist: a typo would deny it silently.
for p in policy.findall("policy"):
    for a in p:
        i, m = a.get("send_interface"), a.get("send_member")
        if i in methods and m is not None:
            assert m in methods[i], "policy allows %s.%s, which the interface does not have" % (i, m)
EOF
then
        pass "policy and interface XML are well formed and agree"
else
        fail "D-Bus XML (see above)"
fi

# dbus-daemon itself must accept the policy.
cat >"$tmp/system.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$tmp/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow user="*"/></policy>
  <include>$policy</include>
</busconfig>
EOF
dbus-daemon --config-file="$tmp/system.conf" --print-address=3 --nofork --nopidfile 3>"$tmp/address" \
        2>"$tmp/dbus.log" &
dbus_pid=$!
for ((i = 0; i < 100; i++)); do
        [ -s "$tmp/address" ] && break
        kill -0 "$dbus_pid" 2>/dev/null || break
        sleep 0.1
done
# Anything it says, but that it may not raise its fd limit in a sandbox, is a complaint.
complaints=$(grep -v "Failed to set fd limit" "$tmp/dbus.log")
if [ -s "$tmp/address" ] && kill -0 "$dbus_pid" 2>/dev/null && [ -z "$complaints" ]; then
        pass "dbus-daemon accepts the bus policy"
else
        fail "dbus-daemon rejects the bus policy: $complaints"
fi
kill "$dbus_pid" 2>/dev/null
wait "$dbus_pid" 2>/dev/null
dbus_pid=

grep -q '^\[D-BUS Service\]' "$activation" && grep -q '^Name=org.berth.Monitor1$' "$activation" &&
        grep -q "^Exec=$bindir/berthd" "$activation" &&
        grep -q '^SystemdService=' "$activation" && pass "the activation file names the service" ||
        fail "the activation file is wrong: $(cat "$activation")"
alias=$(sed -n 's/^SystemdService=//p' "$activation")
if [ "$alias" = berthd.service ] || grep -q "^Alias=$alias\$" "$unit"; then
        pass "SystemdService=$alias is the unit or one of its aliases"
else
        fail "SystemdService=$alias is neither berthd.service nor an Alias= of it"
fi

# ---- make install / uninstall -------------------------------------------------------------------

check_install() {
        local dest=$tmp/dest f left
        if ! bmake install DESTDIR="$dest" >"$tmp/install.log" 2>&1; then
                fail "make install failed: $(cat "$tmp/install.log")"
                return
        fi
        pass "make install DESTDIR=..."
        for f in "$bindir/berthd" "$bindir/berthctl" "$pkglibexecdir/berth-shim"; do
                [ -x "$dest$f" ] && pass "installed $f" || fail "make install did not install $f"
        done
        for f in "$dbusconfdir/org.berth.Monitor1.conf" "$dbusservicedir/org.berth.Monitor1.service" \
                 "$dbusinterfacesdir/org.berth.Monitor1.xml" "$unitdir/berthd.service"; do
                [ -f "$dest$f" ] && pass "installed $f" || fail "make install did not install $f"
        done
        if [ -f "$dest$unitdir/berthd.service" ]; then
                verify_unit "$dest$unitdir/berthd.service" "$dest$bindir/berthd" "the installed unit"
        fi
        if "$dest$bindir/berthd" --version >/dev/null 2>&1 &&
           "$dest$bindir/berthctl" --version >/dev/null 2>&1; then
                pass "the installed berthd and berthctl run"
        else
                fail "the installed berthd or berthctl does not run"
        fi

        # The shim runs once per container: libsystemd (and what it loads) would cost each one
        # ~180 KiB of private memory. Guard the design (bench/README, shim/shim.h).
        shim=$(find "$dest" -name berth-shim -type f | head -n1)
        if [ -z "$shim" ]; then
                fail "no installed berth-shim to inspect"
        elif LC_ALL=C readelf -d "$shim" | grep -q 'NEEDED.*libsystemd'; then
                fail "berth-shim links libsystemd: $(LC_ALL=C readelf -d "$shim" | grep NEEDED)"
        elif ! "$shim" --version >/dev/null 2>&1; then
                fail "the installed berth-shim does not run"
        else
                pass "the installed berth-shim runs and does not link libsystemd"
        fi

        if ! bmake uninstall DESTDIR="$dest" >"$tmp/uninstall.log" 2>&1; then
                fail "make uninstall failed: $(cat "$tmp/uninstall.log")"
                return
        fi
        left=$(find "$dest" -type f -o -type l)
        [ -z "$left" ] && pass "make uninstall removes everything" || fail "make uninstall left: $left"
}

# make install must not rebuild anything: other tests run the built binaries at the same time.
# (make -q cannot tell: automake's config.h rule always looks out of date to it.) So look for a
# source newer than a built file. In a fresh tree (CI) there is none; when a developer changed
# sources after the build, the install checks are skipped and the test reports SKIP.
tree_is_current() {
        local built sources newer
        while read -r built sources; do
                [ -e "$builddir/$built" ] || return 1
                # shellcheck disable=SC2086
                newer=$(cd "$srcdir" && find $sources -type f \
                        \( -name '*.[ch]' -o -name '*.am' -o -name '*.ac' -o -name '*.in' \) \
                        -newer "$builddir/$built" -print -quit)
                [ -z "$newer" ] || return 1
        done <<EOF
berthd common monitor
berthctl common ctl
berth-shim common shim
Makefile Makefile.am configure.ac
systemd/berthd.service systemd Makefile.am
dbus/org.berth.Monitor1.service dbus Makefile.am
EOF
}

install_skipped=false
if tree_is_current; then
        check_install
elif in_ci; then
        fail "sources are newer than the build during make check: make install would rebuild binaries"
else
        echo "SKIP: the install checks: sources changed after the build (make install would rebuild)" >&2
        install_skipped=true
fi

if [ "$failures" -gt 0 ]; then
        echo "$failures check(s) failed" >&2
        exit 1
fi
if $install_skipped; then
        exit 77
fi
echo "all unit and install checks passed"
exit 0
