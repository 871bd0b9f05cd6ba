#!/usr/bin/env bash
# test-berthctl.sh: drives berthctl end to end against a real berthd on a private dbus-daemon,
# with real runc and busybox bundles: run (foreground, --rm, -d), wait, logs, ps --json,
# inspect, kill, rm / rm -f, the one-line errors for unknown ids, and the sentences berthctl prints
# for D-Bus errors (berthd not running, a bus policy that refuses, a caller berthd refuses, no
# reply, a lost connection, no bus at all).
#
# Runs under `make check` (BERTH_BUILDDIR and BERTH_SRCDIR set) or by hand from a build dir.
# Also busctl and gdbus on a shim's own control socket.
# Exit 0 pass, 1 fail, 77 skip (not root, no runc/dbus-daemon/busybox/python3/gdbus); with CI=true a
# missing dependency is a hard failure (99), never a skip.
set -uo pipefail

builddir=${BERTH_BUILDDIR:-$(pwd)}
srcdir=${BERTH_SRCDIR:-$builddir}
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin ;; esac

in_ci() { [ -n "${CI:-}" ] && [ "${CI}" != "false" ] && [ "${CI}" != "0" ]; }
unusable() {
        if in_ci; then
                echo "*** FAIL: test-berthctl.sh cannot run: $* (CI is set: a skipped test is a failure)" >&2
                exit 99
        fi
        echo "SKIP: $* (tests/install-deps.sh installs what the integration tests need)" >&2
        exit 77
}

[ "$(id -u)" = 0 ] || unusable "not running as root"
for tool in runc dbus-daemon python3 busctl gdbus; do
        command -v "$tool" >/dev/null 2>&1 || unusable "$tool not found"
done
[ -x /bin/busybox ] || unusable "no /bin/busybox (busybox-static)"
for bin in berthd berthctl berth-shim; do
        if [ ! -x "$builddir/$bin" ]; then
                echo "*** FAIL: $builddir/$bin is not built" >&2
                exit 99
        fi
done

berthctl=$builddir/berthctl
tmp=$(mktemp -d /tmp/berth-ctl-test-XXXXXX)
state=$tmp/state
logs=$tmp/logs
dbus_pid=
berthd_pid=
dbus2_pid=
berthd2_pid=
failures=0

stop_pid() { # pid: SIGTERM, then SIGKILL after 5 s
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
        local id pidfile pid
        if [ -n "$berthd_pid" ]; then
                for id in $("$berthctl" ps -a -q 2>/dev/null); do
                        "$berthctl" rm -f "$id" >/dev/null 2>&1
                done
        fi
        stop_pid "$berthd_pid"
        for pidfile in "$state"/*/shim.pid; do
                [ -f "$pidfile" ] || continue
                pid=$(cat "$pidfile")
                if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = berth-shim ]; then
                        echo "cleanup: killing leftover shim $pid" >&2
                        kill -KILL "$pid" 2>/dev/null
                fi
        done
        if [ -d "$state/.runtime" ]; then
                for id in $(runc --root "$state/.runtime" list -q 2>/dev/null); do
                        echo "cleanup: deleting leftover runtime container $id" >&2
                        runc --root "$state/.runtime" delete -f "$id" >/dev/null 2>&1
                done
        fi
        stop_pid "$dbus_pid"
        [ -z "$berthd2_pid" ] || kill -CONT "$berthd2_pid" 2>/dev/null
        stop_pid "$berthd2_pid"
        stop_pid "$dbus2_pid"
        rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
pass() { echo "ok: $*"; }

# Checks a command's exit status: expect_rc WANT GOT WHAT
expect_rc() {
        if [ "$2" = "$1" ]; then pass "$3 exits $1"; else fail "$3 exited $2, expected $1"; fi
}
expect_eq() { # expect_eq WANT GOT WHAT
        if [ "$2" = "$1" ]; then pass "$3"; else fail "$3: got '$2', expected '$1'"; fi
}
# Runs the python3 program on stdin with FILE ARGS...; it asserts what the JSON in FILE must be.
expect_json() { # expect_json WHAT FILE [ARGS...] <<PROGRAM
        local what=$1
        shift
        if python3 - "$@"; then pass "$what"; else fail "$what: $(cat "$1")"; fi
}

# ---- the private bus and berthd -------------------------------------------------------------

# start_dbus CONFIG NAME PIDVAR: a dbus-daemon listening on $tmp/NAME; its pid goes to the
# variable PIDVAR, its address to $tmp/NAME.address.
start_dbus() {
        local config=$1 name=$2 i
        dbus-daemon --config-file="$config" --print-address=3 --nofork --nopidfile \
                --address="unix:path=$tmp/$name" 3>"$tmp/$name.address" 2>"$tmp/$name.log" &
        printf -v "$3" %s $!
        for ((i = 0; i < 100; i++)); do
                [ -s "$tmp/$name.address" ] && return 0
                sleep 0.1
        done
        echo "FAIL: dbus-daemon did not start" >&2
        cat "$tmp/$name.log" >&2
        exit 1
}

# start_berthd ADDRESS SUFFIX PIDVAR: berthd on the bus at ADDRESS with its state in
# $tmp/stateSUFFIX, its logs in $tmp/logsSUFFIX and its output in $tmp/berthdSUFFIX.log; its pid
# goes to the variable PIDVAR. Returns once berthctl gets an answer from it.
start_berthd() {
        local address=$1 suffix=$2 pid i
        "$builddir/berthd" --address="$address" --state-dir="$tmp/state$suffix" \
                --log-dir="$tmp/logs$suffix" </dev/null >"$tmp/berthd$suffix.log" 2>&1 &
        pid=$!
        printf -v "$3" %s "$pid"
        for ((i = 0; i < 100; i++)); do
                BERTH_ADDRESS=$address "$berthctl" ps >/dev/null 2>&1 && return 0
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
        done
        echo "FAIL: berthd did not come up" >&2
        cat "$tmp/berthd$suffix.log" >&2
        exit 1
}

# Other users reach the bus socket (not the rest): they are refused by berthd, not by the bus.
chmod 0711 "$tmp"
start_dbus "$srcdir/tests/data/bus.conf" bus dbus_pid
BERTH_ADDRESS=$(head -n 1 "$tmp/bus.address")
export BERTH_ADDRESS
start_berthd "$BERTH_ADDRESS" "" berthd_pid

bundle() { # bundle NAME CMD...: makes a busybox bundle, prints its path
        local dir=$tmp/bundles/$1
        shift
        if ! bash "$srcdir/tests/make-bundle.sh" "$dir" "$@" >/dev/null; then
                echo "make-bundle.sh failed" >&2
                exit 1
        fi
        echo "$dir"
}

b42=$(bundle b42 sh -c 'echo hello from berth; echo to stderr >&2; exit 42')
b7=$(bundle b7 sh -c 'echo detached; exit 7')
bsleep=$(bundle bsleep sleep 1000)

# ---- run in the foreground ------------------------------------------------------------------

out=$("$berthctl" run r42 "$b42" 2>"$tmp/err")
expect_rc 42 $? "berthctl run r42"
expect_eq "hello from berth" "$out" "run prints the container's stdout"
grep -q "to stderr" "$tmp/err" && pass "run passes the container's stderr" ||
        fail "run: stderr was '$(cat "$tmp/err")'"
"$berthctl" rm r42
expect_rc 0 $? "berthctl rm r42 (stopped)"

# ---- run --rm ---------------------------------------------------------------------------------

out=$("$berthctl" run --rm rm1 "$b42" 2>"$tmp/err")
expect_rc 42 $? "berthctl run --rm rm1"
expect_eq "hello from berth" "$out" "run --rm prints the output"
grep -v "to stderr" "$tmp/err" >"$tmp/err2"
[ ! -s "$tmp/err2" ] && pass "run --rm prints nothing else on stderr" ||
        fail "run --rm printed: $(cat "$tmp/err2")"
"$berthctl" inspect rm1 >/dev/null 2>&1 && fail "run --rm left container rm1 behind" ||
        pass "run --rm leaves no container"
[ ! -e "$state/rm1" ] && pass "run --rm leaves no state dir" || fail "run --rm left $state/rm1"
[ ! -e "$logs/rm1.log" ] && pass "run --rm leaves no log" || fail "run --rm left $logs/rm1.log"

# ---- run -d, wait, logs -----------------------------------------------------------------------

out=$("$berthctl" run -d d7 "$b7")
expect_rc 0 $? "berthctl run -d d7"
expect_eq "d7" "$out" "run -d prints the id"
out=$("$berthctl" wait d7)
expect_rc 0 $? "berthctl wait d7"
expect_eq "7" "$out" "wait prints the exit status"
out=$("$berthctl" logs d7)
expect_rc 0 $? "berthctl logs d7"
expect_eq "detached" "$out" "logs prints the container's output"

# ---- ps --json, inspect -----------------------------------------------------------------------

out=$("$berthctl" run -d s1 "$bsleep")
expect_rc 0 $? "berthctl run -d s1"

"$berthctl" ps --json >"$tmp/ps.json"
expect_rc 0 $? "berthctl ps --json"
expect_json "ps --json is a list of objects with id and state, s1 running" "$tmp/ps.json" <<'EOF'
import json, sys
ps = json.load(open(sys.argv[1]))
assert isinstance(ps, list), "not a list"
for o in ps:
    assert isinstance(o, dict) and isinstance(o.get("id"), str) and isinstance(o.get("state"), str), o
rows = {o["id"]: o for o in ps}
assert rows["s1"]["state"] == "running", rows
EOF

"$berthctl" ps -a --json >"$tmp/ps-a.json"
expect_rc 0 $? "berthctl ps -a --json"
expect_json "ps -a --json lists d7 stopped with status 7" "$tmp/ps-a.json" <<'EOF'
import json, sys
rows = {o["id"]: o for o in json.load(open(sys.argv[1]))}
assert rows["d7"]["state"] == "stopped", rows
assert rows["d7"].get("exit_status", 7) == 7, rows
assert rows["s1"]["state"] == "running", rows
EOF

"$berthctl" inspect s1 >"$tmp/inspect.json"
expect_rc 0 $? "berthctl inspect s1"
expect_json "inspect prints one JSON object with id, state, bundle, pid, exit_status" \
        "$tmp/inspect.json" "$bsleep" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
assert isinstance(o, dict), "not an object"
assert o["id"] == "s1", o
assert o["state"] == "running", o
assert o["bundle"] == sys.argv[2], o
assert isinstance(o["pid"], int) and o["pid"] > 0, o
assert o["exit_status"] == -1, o
EOF

# ---- kill -------------------------------------------------------------------------------------

"$berthctl" kill -s KILL s1
expect_rc 0 $? "berthctl kill -s KILL s1"
out=$("$berthctl" wait s1)
expect_eq "137" "$out" "wait after kill -s KILL prints 137"
"$berthctl" inspect s1 >"$tmp/inspect.json"
expect_json "inspect after kill: stopped, 137" "$tmp/inspect.json" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
assert o["state"] == "stopped" and o["exit_status"] == 137, o
EOF

# ---- rm, rm -f --------------------------------------------------------------------------------

"$berthctl" run -d s2 "$bsleep" >/dev/null
expect_rc 0 $? "berthctl run -d s2"
"$berthctl" rm s2 2>"$tmp/err"
rc=$?
[ "$rc" != 0 ] && pass "rm of a running container fails" || fail "rm of a running container succeeded"
expect_eq 1 "$(wc -l <"$tmp/err")" "rm of a running container prints one line on stderr"
state_s2=$("$berthctl" inspect s2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
expect_eq running "$state_s2" "s2 still runs after a failed rm"
"$berthctl" rm -f s2
expect_rc 0 $? "berthctl rm -f s2"
"$berthctl" inspect s2 >/dev/null 2>&1 && fail "s2 still exists after rm -f" ||
        pass "rm -f removes a running container"
"$berthctl" rm d7 s1
expect_rc 0 $? "berthctl rm d7 s1"

# ---- errors -----------------------------------------------------------------------------------

for cmd in "inspect nosuch" "kill nosuch" "rm nosuch" "rm -f nosuch" "wait nosuch" "start nosuch" \
           "logs nosuch"; do
        # shellcheck disable=SC2086
        "$berthctl" $cmd >"$tmp/out" 2>"$tmp/err"
        rc=$?
        if [ "$rc" != 0 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && [ ! -s "$tmp/out" ]; then
                pass "berthctl $cmd: exit $rc, '$(cat "$tmp/err")'"
        else
                fail "berthctl $cmd: exit $rc, stdout '$(cat "$tmp/out")', stderr '$(cat "$tmp/err")'"
        fi
done

# ---- OOM kill -----------------------------------------------------------------------------------

boom=$(bundle boom sh -c 'x=a; while true; do x="$x$x"; done')
python3 - "$boom/config.json" <<'EOF_PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["linux"].setdefault("resources", {})["memory"] = {"limit": 16 * 1024 * 1024}
json.dump(c, open(sys.argv[1], "w"))
EOF_PY
"$berthctl" run oom1 "$boom" >/dev/null 2>&1
expect_rc 137 $? "berthctl run of a container over its memory limit"
out=$("$berthctl" inspect oom1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["exit_reason"], d["oom_killed"])')
expect_eq "oom-killed True" "$out" "an OOM kill is reported as oom-killed"
"$berthctl" rm oom1
expect_rc 0 $? "berthctl rm oom1"

# ---- the shim's control socket speaks D-Bus to other clients too --------------------------------
# berth-shim serves it with its own small D-Bus server (common/dbus-wire.c), not sd-bus: busctl
# (sd-bus, says Hello) and gdbus (GLib's own implementation) must both get along with it.

"$berthctl" create sh1 "$bsleep" >/dev/null
expect_rc 0 $? "berthctl create sh1"
shim_sock=unix:path=$state/sh1/shim.sock
shim_busctl() { busctl --address="$shim_sock" call org.berth.Shim1 /org/berth/Shim1 org.berth.Shim1 "$@" 2>&1; }
out=$(shim_busctl GetState)
case "$out" in 'suisbttt "created" '[1-9]*' -1 "" false 0 0 0') pass "busctl: the shim's GetState" ;;
        *) fail "busctl GetState on the shim: '$out'" ;; esac
out=$(shim_busctl Kill ib 99 false)
case "$out" in *"Signal 99 is not valid"*) pass "busctl: the shim's errors come back with their message" ;;
        *) fail "busctl Kill 99 on the shim: '$out'" ;; esac
out=$(shim_busctl Start)
case "$out" in 'ut '[1-9]*) pass "busctl: the shim's Start" ;; *) fail "busctl Start on the shim: '$out'" ;; esac
# berthd learns of it from the shim's Started signal on its own connection.
state_of() { "$berthctl" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
for ((i = 0; i < 50; i++)); do
        [ "$(state_of sh1)" = running ] && break
        sleep 0.1
done
expect_eq running "$(state_of sh1)" "berthd saw the Started signal of a start it did not ask for"
out=$(gdbus call --address "$shim_sock" --dest org.berth.Shim1 --object-path /org/berth/Shim1 \
        --method org.berth.Shim1.GetState 2>&1)
case "$out" in "('running', uint32 "[1-9]*", -1, '', false, uint64 "[1-9]*", uint64 0, uint64 0)") pass "gdbus: the shim's GetState" ;;
        *) fail "gdbus GetState on the shim: '$out'" ;; esac
out=$(gdbus introspect --address "$shim_sock" --dest org.berth.Shim1 --object-path /org/berth/Shim1 2>&1)
case "$out" in *"interface org.berth.Shim1"*"Delete(in  b force);"*"LogDropped(t bytes_dropped_total);"*) pass "gdbus: the shim introspects" ;;
        *) fail "gdbus introspect on the shim: '$out'" ;; esac
"$berthctl" rm -f sh1
expect_rc 0 $? "berthctl rm -f sh1"

# ---- callers: anyone may read, only root may change ---------------------------------------------
# The private bus lets everyone talk to berthd, so this is berthd's own check, not a bus policy.

"$berthctl" create acl1 "$b42" >/dev/null
expect_rc 0 $? "berthctl create acl1"
as_nobody() {
        setpriv --reuid=65534 --regid=65534 --clear-groups busctl --address="$BERTH_ADDRESS" "$@"
}
out=$(as_nobody call org.berth.Monitor1 /org/berth/Monitor1 org.berth.Monitor1 ListContainers 2>&1)
case "$out" in *'"acl1"'*) pass "another user may list containers" ;;
        *) fail "another user cannot list: '$out'" ;; esac
for call in "org.berth.Monitor1 StartContainer s acl1" "org.berth.Monitor1 KillContainer sib acl1 9 false" \
            "org.berth.Monitor1 DeleteContainer sb acl1 true" \
            "org.berth.Monitor1 CreateContainer ssa{sv} acl2 $b42 0"; do
        # shellcheck disable=SC2086
        out=$(as_nobody call org.berth.Monitor1 /org/berth/Monitor1 $call 2>&1)
        case "$out" in *"Only root may change containers"*) pass "another user is refused: ${call#* }" ;;
                *) fail "another user: ${call#* }: '$out'" ;; esac
done
expect_eq created "$("$berthctl" inspect acl1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" \
        "refused calls changed nothing"
"$berthctl" inspect acl2 >/dev/null 2>&1 && fail "a refused create made acl2" || pass "a refused create made nothing"
"$berthctl" rm acl1
expect_rc 0 $? "berthctl rm acl1"

# ---- D-Bus errors as sentences ------------------------------------------------------------------
# Every error berthctl gets from the bus is one line a person understands, with exit status 1;
# --debug adds the raw D-Bus error on a second line.

# expect_error WHAT WANT_STDERR CMD...: CMD exits 1, prints nothing on stdout and exactly WANT_STDERR.
expect_error() {
        local what=$1 want=$2 rc
        shift 2
        "$@" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        if [ "$rc" = 1 ] && [ ! -s "$tmp/out" ] && [ "$(cat "$tmp/err")" = "$want" ]; then
                pass "$what: exit 1, '$want'"
        else
                fail "$what: exit $rc, stdout '$(cat "$tmp/out")', stderr '$(cat "$tmp/err")', expected '$want'"
        fi
}
# expect_debug WHAT SENTENCE RAW_PATTERN CMD...: with --debug, the sentence and then the raw error.
expect_debug() {
        local what=$1 sentence=$2 raw=$3 rc
        shift 3
        "$@" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        # shellcheck disable=SC2053
        if [ "$rc" = 1 ] && [ "$(wc -l <"$tmp/err")" = 2 ] && [ "$(head -n 1 "$tmp/err")" = "$sentence" ] &&
           [[ "$(tail -n 1 "$tmp/err")" == $raw ]]; then
                pass "$what: the sentence, then '$(tail -n 1 "$tmp/err")'"
        else
                fail "$what: exit $rc, stderr '$(cat "$tmp/err")'"
        fi
}

# A caller berthd refuses: berthctl itself, run as nobody (a copy nobody may execute).
mkdir -p "$tmp/bin"
cp "$berthctl" "$tmp/bin/berthctl"
chmod 0755 "$tmp/bin" "$tmp/bin/berthctl"
nobody_ctl() { setpriv --reuid=65534 --regid=65534 --clear-groups "$tmp/bin/berthctl" "$@"; }
"$berthctl" create acl3 "$b42" >/dev/null
expect_rc 0 $? "berthctl create acl3"
nobody_ctl ps -a -q >"$tmp/out" 2>"$tmp/err"
expect_rc 0 $? "berthctl ps as nobody"
grep -qx acl3 "$tmp/out" && pass "nobody's berthctl ps lists acl3" ||
        fail "nobody's ps: '$(cat "$tmp/out" "$tmp/err")'"
as_root="run berthctl as root, e.g. with sudo, or"
denied="berthd lets only root, or a user polkit authorizes for org.berth.manage, change containers;"
denied="$denied $as_root ask the administrator for that authorization"
expect_error "berthctl kill as nobody" \
        "berthctl: Not allowed to signal container 'acl3': $denied" nobody_ctl kill acl3
expect_error "berthctl rm -f as nobody" \
        "berthctl: Not allowed to delete container 'acl3': $denied" nobody_ctl rm -f acl3
expect_error "berthctl start as nobody" \
        "berthctl: Not allowed to start container 'acl3': $denied" nobody_ctl start acl3
expect_error "berthctl run as nobody" \
        "berthctl: Not allowed to create container 'acl4': $denied" nobody_ctl run --rm acl4 "$b42"
expect_debug "berthctl --debug pause as nobody" \
        "berthctl: Not allowed to pause container 'acl3': $denied" \
        "berthctl: D-Bus error org.berth.Error.AccessDenied: *" nobody_ctl --debug pause acl3
expect_eq created "$(state_of acl3)" "nobody's berthctl changed nothing"
"$berthctl" rm acl3
expect_rc 0 $? "berthctl rm acl3"

# A second private bus whose policy refuses KillContainer to everyone and everything to nobody,
# and which answers for a silent berthd after 1 s.
cat >"$tmp/deny.conf" <<'EOF_CONF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
    <allow user="*"/>
    <deny send_destination="org.berth.Monitor1" send_interface="org.berth.Monitor1"
          send_member="KillContainer"/>
  </policy>
  <policy user="nobody">
    <deny send_destination="org.berth.Monitor1"/>
  </policy>
  <limit name="reply_timeout">1000</limit>
</busconfig>
EOF_CONF
start_dbus "$tmp/deny.conf" bus2 dbus2_pid
address2=$(head -n 1 "$tmp/bus2.address")
bus2="the bus at unix:path=$tmp/bus2"
ctl2() { BERTH_ADDRESS=$address2 "$berthctl" "$@"; }

choose_bus="with --system, --user or --address"
not_running="berthctl: berthd is not running on $bus2; start it, or tell berthctl the bus it is on $choose_bus"
expect_error "berthctl ps without berthd" "$not_running" ctl2 ps
expect_error "berthctl wait without berthd" "$not_running" ctl2 wait x1
expect_debug "berthctl --debug ps without berthd" "$not_running" \
        "berthctl: D-Bus error org.freedesktop.DBus.Error.ServiceUnknown: *" ctl2 --debug ps

start_berthd "$address2" 2 berthd2_pid

policy="the policy of $bus2 does not let this user call berthd"
installed="check that berth's bus policy (org.berth.Monitor1.conf) is installed"
expect_error "berthctl kill refused by the bus policy" \
        "berthctl: Not allowed to signal container 'x1': $policy; $installed" ctl2 kill x1
expect_debug "berthctl --debug kill refused by the bus policy" \
        "berthctl: Not allowed to signal container 'x1': $policy; $installed" \
        "berthctl: D-Bus error org.freedesktop.DBus.Error.AccessDenied: Rejected send message*" ctl2 --debug kill x1
expect_error "berthctl ps as nobody, refused by the bus policy" \
        "berthctl: Not allowed to list containers: $policy; $as_root $installed" \
        env BERTH_ADDRESS="$address2" setpriv --reuid=65534 --regid=65534 --clear-groups "$tmp/bin/berthctl" ps

# berthd stopped: the bus answers for it when its reply timeout has passed.
kill -STOP "$berthd2_pid"
stuck="(it may be stuck, overloaded or restarting)"
expect_error "berthctl ps while berthd does not answer" \
        "berthctl: berthd did not answer the request to list containers $stuck; see its log, e.g. 'journalctl -u berthd'" \
        ctl2 ps
expect_error "berthctl rm while berthd does not answer" \
        "berthctl: berthd did not answer the request to delete container 'x1' $stuck; 'berthctl inspect x1' shows whether it was done" \
        ctl2 rm x1

# The bus goes away under a pending call (berthctl is on the bus once the bus lists it).
ctl2 start x1 >"$tmp/out" 2>"$tmp/err" &
start_pid=$!
for ((i = 0; i < 100; i++)); do
        busctl --address="$address2" list --no-legend 2>/dev/null |
                awk '$3 == "berthctl" { f = 1 } END { exit !f }' && break
        sleep 0.1
done
stop_pid "$dbus2_pid"
dbus2_pid=
wait "$start_pid"
rc=$?
want="berthctl: Lost the connection to $bus2 while trying to start container 'x1'; is the bus still running,"
want="$want and does it let this user connect?"
if [ "$rc" = 1 ] && [ "$(cat "$tmp/err")" = "$want" ]; then
        pass "berthctl start when the bus goes away: exit 1, '$want'"
else
        fail "berthctl start when the bus goes away: exit $rc, stderr '$(cat "$tmp/err")', expected '$want'"
fi
kill -CONT "$berthd2_pid"
stop_pid "$berthd2_pid"
berthd2_pid=

# No bus at all.
listening="no bus is listening there; start it, or tell berthctl the bus berthd is on $choose_bus"
expect_error "berthctl ps with no bus at the address" \
        "berthctl: Cannot connect to $bus2: $listening" ctl2 ps
expect_error "berthctl --system ps with no system bus" \
        "berthctl: Cannot connect to the system bus (unix:path=$tmp/nosuch): $listening" \
        env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/nosuch" "$berthctl" --system ps
expect_error "berthctl --user ps without a session bus address" \
        "berthctl: Cannot find the user bus: neither \$DBUS_SESSION_BUS_ADDRESS nor \$XDG_RUNTIME_DIR is set; use --system, or --address (or \$BERTH_ADDRESS) for the bus berthd is on" \
        env -u DBUS_SESSION_BUS_ADDRESS -u XDG_RUNTIME_DIR "$berthctl" --user ps
expect_error "berthctl --address with no address in it" \
        "berthctl: Cannot connect to the bus at nonsense: not a valid D-Bus address (such as unix:path=/run/dbus/system_bus_socket)" \
        "$berthctl" --address=nonsense ps

# ---- nothing left -----------------------------------------------------------------------------

out=$("$berthctl" ps -a --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
expect_eq 0 "$out" "no containers left"
out=$(runc --root "$state/.runtime" list -q 2>/dev/null | wc -l)
expect_eq 0 "$out" "runc lists no containers"

if [ "$failures" -gt 0 ]; then
        echo "$failures check(s) failed; berthd's log:" >&2
        cat "$tmp/berthd.log" >&2
        exit 1
fi
echo "all berthctl checks passed"
exit 0
