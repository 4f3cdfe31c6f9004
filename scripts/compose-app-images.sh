#!/bin/sh
# Make the images examples/compose-app needs, offline from Docker Hub: a Debian bookworm base from
# debootstrap (Debian's mirror), then compose-app/postgres:15, compose-app/redis:7 and
# compose-app/python:3.11 built FROM it with the Dockerfiles in examples/compose-app/images/ (their RUN
# steps install Debian's packages: `build --network host`, as no container network reaches out).
# Both are cached under /var/tmp/berth-demo, keyed by the Debian package versions and the Dockerfiles,
# so a second run only loads a tar (a few seconds).
# usage: compose-app-images.sh        the engine is the CLI in $ENGINE_CLI (default bin/berth, which
#                                     honours BERTH_HOST; `docker` works too, with DOCKER_HOST)
set -eu
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/.."
CLI=${ENGINE_CLI:-./bin/berth}
CACHE=${BERTH_DEMO_CACHE:-/var/tmp/berth-demo}
IMAGES="compose-app/postgres:15 compose-app/redis:7 compose-app/python:3.11"
PKGS="libc6 postgresql-15 redis-server python3 python3-redis python3-psycopg2"

present=yes
for i in $IMAGES; do $CLI image inspect "$i" >/dev/null 2>&1 || present=no; done
[ $present = yes ] && exit 0

# shellcheck disable=SC2086
key=$({ apt-cache policy $PKGS | grep -E '^[a-z]|Candidate'; cat "$self" examples/compose-app/images/*/*; } | sha256sum | cut -c1-16)
tar=$CACHE/compose-app-images-$key.tar
mkdir -p "$CACHE"
if [ -s "$tar" ]; then
  echo "images: loading $IMAGES from $tar"
  $CLI load -q -i "$tar" >/dev/null
  exit 0
fi

base=$(sh scripts/debian-base.sh)
echo "images: debian:bookworm from $base"
$CLI import -c 'CMD ["bash"]' "$base" debian:bookworm >/dev/null
# The three builds download and unpack in parallel; a failed one shows its output.
logs=$(mktemp -d)
pids=""
for d in postgres:15 redis:7 python:3.11; do
  echo "images: build compose-app/$d (Debian packages)"
  $CLI build --network host -t "compose-app/$d" "examples/compose-app/images/${d%%:*}" >"$logs/${d%%:*}" 2>&1 &
  pids="$pids $!:${d%%:*}"
done
failed=""
for p in $pids; do wait "${p%%:*}" || { failed="$failed ${p#*:}"; tail -20 "$logs/${p#*:}" >&2; }; done
rm -rf "$logs"
[ -z "$failed" ] || { echo "images: the build of$failed failed" >&2; exit 1; }
# shellcheck disable=SC2086
$CLI save -o "$tar.tmp" $IMAGES && mv "$tar.tmp" "$tar"
find "$CACHE" -maxdepth 1 -name 'compose-app-images-*.tar' ! -name "${tar##*/}" -delete
echo "images: saved to $tar"
