#!/bin/sh
# The main job: make a busybox base image from Debian's busybox-static, build the sample app in
# examples/hello (a Dockerfile: non-root user, HEALTHCHECK), run it with a published port, reach it from
# the host and from another container by name, then clean up what the demo made.
set -eu
cd "$(dirname "$0")/.."
B=./bin/berth
PORT=${DEMO_PORT:-18080}
work=$(mktemp -d)
cleanup() {
  $B rm -f hello >/dev/null 2>&1 || true
  $B network rm demo-net >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

sh scripts/mkrootfs-busybox.sh "$work/rootfs" >/dev/null
echo "+ berth import (busybox base from Debian's busybox-static)"
tar -C "$work/rootfs" -c . | $B import -c 'CMD ["sh"]' - busybox:latest
echo "+ berth build -t hello examples/hello"
$B build -t hello examples/hello
echo "+ berth network create demo-net"
$B rm -f hello >/dev/null 2>&1 || true
$B network rm demo-net >/dev/null 2>&1 || true
$B network create demo-net
echo "+ berth run -d --name hello --network demo-net -p 127.0.0.1:$PORT:8080 hello"
$B run -d --name hello --network demo-net -p "127.0.0.1:$PORT:8080" hello
echo "+ wait until healthy"
for i in $(seq 1 50); do
  [ "$($B inspect -f '{{.State.Health.Status}}' hello)" = healthy ] && break
  sleep 0.2
done
$B ps --filter name=hello --format 'table {{.Names}}\t{{.Status}}\t{{.Ports}}'
echo "+ GET http://127.0.0.1:$PORT/ from the host"
node -e "require('http').get('http://127.0.0.1:$PORT/', (r) => r.pipe(process.stdout)).on('error', (e) => { console.error(e.message); process.exit(1); })"
echo "+ berth run --rm --network demo-net busybox wget -qO- http://hello:8080/   (by name)"
$B run --rm --network demo-net busybox wget -qO- http://hello:8080/
echo "+ berth logs hello"
$B logs hello
echo "+ berth stop hello && berth rm hello && berth network rm demo-net"
$B stop hello
$B rm hello
$B network rm demo-net
echo "demo: done"
