#!/bin/sh
# A Debian bookworm root filesystem from debootstrap --variant=minbase (Debian's mirror), as Docker's
# debian images set it up, cached as a tar under /var/tmp/berth-demo keyed by the libc6 version, so CI
# pays debootstrap (about 30 s) once. Prints the tar's path on stdout (progress goes to stderr).
# Used by compose-app-images.sh, the SBOM tests and bench/sbom.ts.
# usage: debian-base.sh
set -eu
CACHE=${BERTH_DEMO_CACHE:-/var/tmp/berth-demo}
mkdir -p "$CACHE"
libc=$(apt-cache policy libc6 | sed -n 's/ *Candidate: //p')
base=$CACHE/debian-bookworm-minbase-2-$libc.tar
if [ ! -s "$base" ]; then
  # One debootstrap at a time: concurrent callers wait for the first one's tar.
  exec 9>"$CACHE/.debian-base.lock"
  flock 9
  if [ ! -s "$base" ]; then
    echo "images: debootstrap --variant=minbase bookworm (once, about 30 s)" >&2
    command -v debootstrap >/dev/null || { apt-get update -q >/dev/null; apt-get install -y -q debootstrap >/dev/null; }
    root=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
    # As Docker's debian images: services are never started by package scripts, no recommends, no caches,
    # and dpkg without an fsync per file (a layer is written once; it halves the time of an install).
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod 755 "$root/usr/sbin/policy-rc.d"
    echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/docker-no-recommends"
    printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb || true"; };\n' >"$root/etc/apt/apt.conf.d/docker-clean"
    rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
    tar -C "$root" -cf "$base.tmp" . && mv "$base.tmp" "$base"
    find "$CACHE" -maxdepth 1 -name 'debian-bookworm-minbase-*.tar' ! -name "${base##*/}" -delete
    rm -rf "$root"
    trap - EXIT
  fi
fi
echo "$base"
