#!/usr/bin/env bash
# A local Citus cluster for the Citus suite and benchmarks: a coordinator and two workers as private
# PostgreSQL 15 clusters on 127.0.0.1 (ports CITUS_BASE_PORT, +1, +2; default 9700), data under
# CITUS_DIR (default /tmp/shuzhi-citus). Usage: citus_cluster.sh up|down|status.
# Citus itself comes from ../shared/citus/install here; operators install it from Citus's packages.
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
base=${CITUS_BASE_PORT:-9700}
dir=${CITUS_DIR:-/tmp/shuzhi-citus}
here=$(cd "$(dirname "$0")/.." && pwd)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
psql_at() { psql -qAt -h 127.0.0.1 -p "$1" -U postgres "${@:2}"; }

up() {
  installer="$here/../shared/citus/install"
  [ -f /usr/lib/postgresql/15/lib/citus.so ] || { [ -x "$installer" ] && "$installer"; }
  mkdir -p "$dir"; chown postgres "$dir" 2>/dev/null || true
  for i in 0 1 2; do
    port=$((base + i))
    if [ ! -f "$dir/n$i/PG_VERSION" ]; then
      as_pg $bin/initdb -D "$dir/n$i" -U postgres --auth=trust >/dev/null
      printf "port = %d\nshared_preload_libraries = 'citus'\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nmax_connections = 200\nfsync = off\n" \
        "$port" "$dir" >> "$dir/n$i/postgresql.conf"
    fi
    as_pg $bin/pg_ctl -D "$dir/n$i" status >/dev/null 2>&1 || as_pg $bin/pg_ctl -D "$dir/n$i" -l "$dir/n$i.log" -w start >/dev/null
    psql_at "$port" -c "CREATE EXTENSION IF NOT EXISTS citus" >/dev/null
  done
  psql_at "$base" -c "SELECT citus_set_coordinator_host('127.0.0.1', $base)" >/dev/null
  for i in 1 2; do
    psql_at "$base" -c "SELECT citus_add_node('127.0.0.1', $((base + i)))" >/dev/null
  done
  echo "citus: coordinator 127.0.0.1:$base, workers :$((base + 1)) :$((base + 2)) ($(psql_at "$base" -c 'SELECT citus_version()' | cut -d, -f1))"
}

down() {
  for i in 0 1 2; do
    [ -d "$dir/n$i" ] && as_pg $bin/pg_ctl -D "$dir/n$i" -m fast stop >/dev/null 2>&1 || true
  done
  rm -rf "$dir"
  echo "citus: stopped and removed"
}

status() { psql_at "$base" -c "SELECT nodename || ':' || nodeport || ' ' || noderole FROM pg_dist_node ORDER BY nodeport"; }

case "${1:-}" in
  up) up ;; down) down ;; status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
