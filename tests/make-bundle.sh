#!/usr/bin/env bash
# make-bundle.sh: makes a minimal OCI bundle around busybox-static for the integration tests
# and the demo.
#
#   tests/make-bundle.sh DIR CMD [ARG...]
#
# DIR/rootfs holds /bin/busybox (a copy of the host's static busybox) and a symlink per applet
# the tests use; DIR/config.json is `runc spec` with process.terminal=false and process.args set
# to CMD ARG... Everything else (rlimits, namespaces, mounts) stays as runc spec writes it.
set -euo pipefail

if [ "$#" -lt 2 ]; then
        echo "usage: $0 DIR CMD [ARG...]" >&2
        exit 2
fi
dir=$1
shift

busybox=${BUSYBOX:-/bin/busybox}
if [ ! -x "$busybox" ]; then
        echo "$0: no busybox at '$busybox' (install busybox-static)" >&2
        exit 1
fi
runc=${RUNC:-runc}
if ! command -v "$runc" >/dev/null 2>&1; then
        echo "$0: runc not found" >&2
        exit 1
fi

mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/dev" "$dir/rootfs/sys" "$dir/rootfs/tmp"
cp "$busybox" "$dir/rootfs/bin/busybox"
for applet in sh ash echo cat sleep true false yes head tail dd printf sha256sum seq kill ls \
              uname id env wc tr sync mkdir rm touch date ps grep hostname; do
        ln -sf busybox "$dir/rootfs/bin/$applet"
done

rm -f "$dir/config.json"
(cd "$dir" && "$runc" spec)

python3 - "$dir/config.json" "$@" <<'EOF'
import json
import sys

path = sys.argv[1]
with open(path) as f:
    spec = json.load(f)
spec["process"]["terminal"] = False
spec["process"]["args"] = sys.argv[2:]
with open(path + ".tmp", "w") as f:
    json.dump(spec, f, indent=2)
    f.write("\n")
EOF
mv "$dir/config.json.tmp" "$dir/config.json"
