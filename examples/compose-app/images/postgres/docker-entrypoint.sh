#!/bin/sh
# As the official postgres image: as root, hand the data directory to postgres and drop to that user;
# without a cluster in $PGDATA run initdb with POSTGRES_USER/POSTGRES_PASSWORD, create POSTGRES_DB and run
# /docker-entrypoint-initdb.d/*.sql, listening only on the unix socket while it does. The new cluster is
# made in $PGDATA.init and renamed to $PGDATA once complete: a container stopped half-way through its
# first start leaves no half-made cluster behind, the next start begins again.
set -eu
if [ "${1:-}" = postgres ] && [ "$(id -u)" = 0 ]; then
  top=$(dirname "$PGDATA")
  mkdir -p "$top"
  chown -R postgres:postgres "$top"
  chmod 700 "$top"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -d "$PGDATA" ] && [ -n "$(ls -A "$PGDATA")" ]; then
    echo "docker-entrypoint.sh: $PGDATA holds files but no cluster (no PG_VERSION): remove them or the volume" >&2
    exit 1
  fi
  : "${POSTGRES_PASSWORD:?the database is uninitialised: set POSTGRES_PASSWORD}"
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  new=$PGDATA.init
  rm -rf "$new"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$new" --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$new/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$new/postgresql.conf"
  pg_ctl -D "$new" -o "-c listen_addresses=''" -w start >/dev/null
  [ "$db" = postgres ] || psql -q -v ON_ERROR_STOP=1 -U "$user" -d postgres -c "CREATE DATABASE \"$db\""
  for f in /docker-entrypoint-initdb.d/*.sql; do
    [ -e "$f" ] || continue
    echo "docker-entrypoint.sh: running $f"
    psql -q -v ON_ERROR_STOP=1 -U "$user" -d "$db" -f "$f"
  done
  pg_ctl -D "$new" -m fast -w stop >/dev/null
  rm -rf "$PGDATA"
  mv "$new" "$PGDATA"
  echo "docker-entrypoint.sh: database \"$db\" initialised for user \"$user\""
fi
exec "$@"
