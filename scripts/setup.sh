#!/bin/sh
# Set up berth on a fresh Debian 12 machine, as root: system packages, npm dependencies, build.
# Safe to run again: it installs only what is missing.
set -eu
cd "$(dirname "$0")/.."

# Real system components berth drives (DESIGN.md): runc runs containers, tini is --init, mount/umount
# (util-linux) and GNU tar handle overlayfs and layers, mknod/setfattr write overlay whiteouts,
# iproute2 for networks, gcc builds the per-container monitor (src/shim), busybox-static makes test images
# and is the tar that cp/export run confined to a container's root.
PKGS="runc tini attr git iproute2 nftables iptables util-linux pigz zstd tar procps gcc libc6-dev make busybox-static file golang-github-containers-common ca-certificates"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is required" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "setup: build"
npm run -s build
echo "setup: ready (bin/berth, bin/berthd)"
