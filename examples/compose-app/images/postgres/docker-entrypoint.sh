#!/bin/sh
# As the official postgres image: as root, hand the data directory to postgres and drop to that user;
# on an empty data directory run initdb with POSTGRES_USER/POSTGRES_PASSWORD, create POSTGRES_DB and run
# /docker-entrypoint-initdb.d/*.sql, listening only on the unix socket while it does.
set -eu
if [ "${1:-}" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chown -R postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?the database is uninitialised: set POSTGRES_PASSWORD}"
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  pg_ctl -o "-c listen_addresses=''" -w start >/dev/null
  [ "$db" = postgres ] || psql -q -v ON_ERROR_STOP=1 -U "$user" -d postgres -c "CREATE DATABASE \"$db\""
  for f in /docker-entrypoint-initdb.d/*.sql; do
    [ -e "$f" ] || continue
    echo "docker-entrypoint.sh: running $f"
    psql -q -v ON_ERROR_STOP=1 -U "$user" -d "$db" -f "$f"
  done
  pg_ctl -m fast -w stop >/dev/null
  echo "docker-entrypoint.sh: database \"$db\" initialised for user \"$user\""
fi
exec "$@"
