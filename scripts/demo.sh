#!/bin/sh
# The main job: make a busybox image from Debian's busybox-static, then run a small web app in it
# with berth — a hello, a detached web server answering over exec, logs, stop and remove.
set -eu
cd "$(dirname "$0")/.."
B=./bin/berth
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sh scripts/mkrootfs-busybox.sh "$work/rootfs" >/dev/null
echo '<h1>hello from berth</h1>' > "$work/rootfs/var/www/index.html"
echo "+ berth import"
tar -C "$work/rootfs" -c . | $B import -c 'CMD ["sh"]' - busybox:latest
echo "+ berth run --rm busybox echo hello"
$B run --rm busybox echo hello
echo "+ berth run -d --name web -e GREETING=hi busybox httpd -f -v -p 8080 -h /var/www"
$B rm -f web >/dev/null 2>&1 || true
$B run -d --name web -e GREETING=hi busybox httpd -f -v -p 8080 -h /var/www
echo "+ berth ps"
$B ps
echo "+ berth exec web wget -qO- http://127.0.0.1:8080/"
$B exec web wget -qO- http://127.0.0.1:8080/
echo "+ berth exec web sh -c 'echo \$GREETING'"
$B exec web sh -c 'echo $GREETING'
echo "+ berth logs web"
$B logs web
echo "+ berth stop web && berth rm web"
$B stop web
$B rm web
echo "demo: done"
