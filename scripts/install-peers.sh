#!/bin/sh
# The peers the compatibility tests compare berth with (never needed by berth itself): Debian's
# docker.io (dockerd 20.10 + client), skopeo, docker-registry (distribution 2.8), docker-compose 1.29,
# and python3 with the docker SDK and pytest for docker-py's own suite (../shared/conformance).
# Installs only what is missing, so a fresh machine runs every test and skips none.
set -eu
PKGS="docker.io skopeo docker-registry docker-compose"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
python3 -c 'import docker, pytest' 2>/dev/null || missing="$missing python3-docker python3-pytest"
if [ -n "$missing" ]; then
  echo "install-peers: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
# The docker CLI 28 (/usr/local/bin/docker) is used where present; Debian's client is the fallback.
