#!/bin/sh
# The main job, in two parts.
# 1. make a busybox base image from Debian's busybox-static, build the sample app in examples/hello (a
#    Dockerfile: non-root user, HEALTHCHECK), run it with a published port, reach it from the host and from
#    another container by name.
# 2. the multi-container app in examples/compose-app (web built from its Dockerfile, PostgreSQL, Redis; web
#    waits until both are healthy): `berth compose up -d --wait`, `ps`, requests through web (which counts
#    visits in Redis and stores them in PostgreSQL, by service name), `logs web`, `up -d` again (nothing
#    recreated), `down -v`. Its images come from Debian packages (scripts/compose-app-images.sh, cached
#    under /var/tmp/berth-demo: one to two minutes the first time, seconds after).
# It runs its own berthd (private root, exec root, socket and bridge) and leaves the host as it found it:
# the daemon stopped by PID, its mounts, bridges, nftables table and cgroup parents removed.
set -eu
cd "$(dirname "$0")/.."
REPO=$PWD
B=$PWD/bin/berth
PORT=${DEMO_PORT:-18080}
WEB_PORT=${DEMO_WEB_PORT:-18088}
BRIDGE=bdemo$$
work=$(mktemp -d)
CGROUPS_BEFORE=$(ls -d /sys/fs/cgroup/berth /sys/fs/cgroup/*/berth 2>/dev/null || true)
export BERTH_HOST="unix://$work/berth.sock"
# bin/berth hands each command to a warm CLI process (README "The CLI's start"): the demo's own, in its
# folder, ended by PID at the end.
mkdir -m 700 "$work/cli"
export BERTH_CLI_RUNDIR="$work/cli"
node dist/src/daemon/main.js --root "$work/root" --exec-root "$work/run" -H "$BERTH_HOST" --bridge "$BRIDGE" --ip-forward=false >"$work/berthd.log" 2>&1 &
BERTHD=$!
cleanup() {
  $B compose -f "$REPO/examples/compose-app/compose.yaml" down -v -t 1 >/dev/null 2>&1 || true
  $B rm -f hello >/dev/null 2>&1 || true
  $B network rm demo-net >/dev/null 2>&1 || true
  kill "$BERTHD" 2>/dev/null && wait "$BERTHD" 2>/dev/null || true
  for f in "$work"/cli/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  grep -o " $work/[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l
  node --input-type=module -e 'const { tearDownNetworking } = await import(process.argv[1]); await tearDownNetworking(process.argv[2], process.argv[3]);' \
    "$REPO/dist/src/engine/networks/teardown.js" "$work/root" "$BRIDGE"
  rm -rf "$work"
  # The berth/ cgroup parents runc made for the containers, if there were none before (rmdir leaves one in use).
  [ -n "$CGROUPS_BEFORE" ] || ls -d /sys/fs/cgroup/berth /sys/fs/cgroup/*/berth 2>/dev/null | xargs -r rmdir 2>/dev/null || true
}
trap cleanup EXIT
for i in $(seq 1 100); do
  $B version >/dev/null 2>&1 && break
  kill -0 "$BERTHD" 2>/dev/null || { cat "$work/berthd.log"; exit 1; }
  sleep 0.1
done

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

echo
echo "== examples/compose-app: web (built here) + db (PostgreSQL 15) + cache (Redis 7)"
ENGINE_CLI=$B sh scripts/compose-app-images.sh
cd examples/compose-app
# The shell's WEB_PORT wins over the one in .env (8080), as in Docker Compose.
export WEB_PORT
echo "+ berth compose up -d --wait      (WEB_PORT=$WEB_PORT)"
$B compose up -d --wait
echo "+ berth compose ps"
$B compose ps
for i in 1 2; do
  echo "+ GET http://127.0.0.1:$WEB_PORT/ (web counts the visit in redis at cache:6379 and stores it in postgres at db:5432)"
  node -e "require('http').get('http://127.0.0.1:$WEB_PORT/', (r) => r.pipe(process.stdout)).on('error', (e) => { console.error(e.message); process.exit(1); })"
done
echo "+ berth compose logs web"
$B compose logs web
echo "+ berth compose up -d      (nothing changed: nothing is recreated)"
$B compose up -d
echo "+ berth compose down -v"
$B compose down -v
cd ../..
echo "demo: done"
