#!/usr/bin/env bash
# Stop the cluster started by start_postgres.sh (leaves its data folder).
set -euo pipefail
PG_DIR="${IMLN_PG_DIR:-/tmp/imln-pg}"
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
RUN_AS=()
[ "$(id -u)" = 0 ] && RUN_AS=(runuser -u postgres --)
"${RUN_AS[@]}" "$BIN/pg_ctl" -D "$PG_DIR" -m fast stop
