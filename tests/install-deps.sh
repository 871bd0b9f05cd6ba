#!/usr/bin/env bash
# install-deps.sh: installs (on Debian/Ubuntu, as root) every package needed to build berth and
# run all of its tests: the toolchain and autotools, libsystemd, json-c and Check, and for the
# integration tests runc, busybox-static, dbus-daemon, systemd-analyze, python3 and gdbus
# (libglib2.0-bin: a second D-Bus implementation to test the shim's control socket against).
# Does nothing (and needs no network) when everything is already installed.
set -euo pipefail

packages=(
        build-essential autoconf automake libtool autoconf-archive pkg-config make
        libsystemd-dev libjson-c-dev check
        runc busybox-static dbus systemd python3
        libglib2.0-bin
)

missing=()
for p in "${packages[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
        echo "install-deps: all ${#packages[@]} packages are installed"
        exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=
if [ "$(id -u)" != 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
                echo "install-deps: need root (or sudo) for apt-get" >&2
                exit 1
        fi
        sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq </dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
echo "install-deps: done"
