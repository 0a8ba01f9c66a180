#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on loopback for the storage tests.
#
#   eval "$(bash scripts/ci/start_postgres.sh)"     # exports IMLN_TEST_POSTGRES_URL
#
# Installs Debian's `postgresql` if it is missing (needs root), creates a cluster in
# $IMLN_PG_DIR (default /tmp/imln-pg) listening only on 127.0.0.1:$IMLN_PG_PORT
# (default 54329) with trust authentication for loopback, creates database imln_test,
# and prints `export IMLN_TEST_POSTGRES_URL=...` on stdout (everything else on stderr).
# Running it again reuses a running cluster. Stop it with scripts/ci/stop_postgres.sh.
set -euo pipefail

PG_DIR="${IMLN_PG_DIR:-/tmp/imln-pg}"
PG_PORT="${IMLN_PG_PORT:-54329}"
PG_DB="${IMLN_PG_DB:-imln_test}"

pg_bin() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$bin" ] && [ -x "$bin/initdb" ] && echo "$bin"
}

if ! BIN="$(pg_bin)"; then
  echo "installing postgresql (Debian)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  BIN="$(pg_bin)"
fi

# The server refuses to run as root: run it as the `postgres` user (created by the package).
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$PG_DIR" postgres
  RUN_AS=(runuser -u postgres --)
fi

if [ ! -f "$PG_DIR/PG_VERSION" ]; then
  mkdir -p "$PG_DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
  "${RUN_AS[@]}" "$BIN/initdb" -D "$PG_DIR" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >&2
fi

if ! "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1; then
  "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c max_connections=100" start >&2
fi

if ! "${RUN_AS[@]}" "$BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
     "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" | grep -q 1; then
  "${RUN_AS[@]}" "$BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$PG_DB" >&2
fi

URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/$PG_DB"
echo "PostgreSQL ready: $URL" >&2
echo "export IMLN_TEST_POSTGRES_URL=$URL"
