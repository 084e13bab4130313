#!/usr/bin/env bash
# Starts and stops the services SelfDB needs on a Debian/Ubuntu machine:
# a PostgreSQL cluster from the installed binaries and a memcached, both on
# loopback. Used by `make run` (persistent, under .data/) and `make test`
# (ephemeral, free ports). Installs what is missing with apt.
#
#   services.sh start DIR [PG_PORT MC_PORT]   prints shell `export` lines
#   services.sh stop DIR                      also stops a `make run` server
#                                             (its pid in DIR/selfdb.pid) first
#
# PG_PORT and MC_PORT are preferred ports: a taken one is replaced by a free
# one. SERVICES="postgres memcached" (the default) names what to start.
# PG_EXTRA_OPTS adds postgres -c options (the tests turn fsync off).
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

log() { echo "services: $*" >&2; }

pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$d" ] && command -v pg_ctl >/dev/null 2>&1; then d=$(dirname "$(command -v pg_ctl)"); fi
  if [ -z "$d" ]; then
    apt_install postgresql >/dev/null
    d=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$d"
}

# ensure_pg_user creates the postgres system user when we are root and it is
# missing (PostgreSQL binaries not installed from Debian packages).
ensure_pg_user() {
  [ "$(id -u)" = 0 ] || return 0
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
}

# run_pg runs a PostgreSQL binary as the postgres user when we are root
# (initdb and postgres refuse to run as root).
run_pg() {
  if [ "$(id -u)" = 0 ]; then
    ensure_pg_user
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# pgdata_of names the cluster directory of DIR (see start_postgres).
pgdata_of() {
  if [ -s "$1/pg.location" ]; then echo "$(cat "$1/pg.location")/pg"; else echo "$1/pg"; fi
}

start_postgres() {
  local dir=$1 port=$2 bin pgdata
  bin=$(pg_bindir)
  pgdata=$(pgdata_of "$dir")
  mkdir -p "$dir"
  ensure_pg_user
  if [ "$(id -u)" = 0 ] && [ ! -s "$dir/pg.location" ]; then
    # postgres must be able to reach the data directory.
    if ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
      local alt="/var/tmp/selfdb-pg-$(echo "$dir" | md5sum | cut -c1-12)"
      log "$dir is not reachable by the postgres user; keeping the cluster in $alt"
      mkdir -p "$alt"; pgdata="$alt/pg"; echo "$alt" > "$dir/pg.location"
    fi
  fi
  if [ ! -s "$pgdata/PG_VERSION" ]; then
    mkdir -p "$pgdata"
    [ "$(id -u)" = 0 ] && chown postgres: "$pgdata"
    chmod 700 "$pgdata"
    run_pg "$bin/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  if run_pg "$bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    port=$(sed -n 4p "$pgdata/postmaster.pid" 2>/dev/null || echo "$port")
  else
    port_free "$port" || port=$(free_port)
    # Clients use TCP; the socket goes beside the data unless that path is
    # longer than a Unix socket path may be.
    local sock="-k $pgdata"
    [ "${#pgdata}" -lt 80 ] || sock="-c unix_socket_directories="
    run_pg "$bin/pg_ctl" -D "$pgdata" -w -t 60 -l "$pgdata/server.log" \
      -o "-p $port -c listen_addresses=127.0.0.1 $sock -c max_connections=300 ${PG_EXTRA_OPTS:-}" start >&2 \
      || { tail -n 30 "$pgdata/server.log" >&2; exit 1; }
  fi
  echo "$port"
}

start_memcached() {
  local dir=$1 port=$2 pidfile="$1/memcached.pid"
  command -v memcached >/dev/null 2>&1 || apt_install memcached >/dev/null
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    cat "$dir/memcached.port"; return
  fi
  port_free "$port" || port=$(free_port)
  local user=()
  [ "$(id -u)" = 0 ] && user=(-u nobody)
  # Started in the background by us rather than with -d -P: memcached writes
  # its pid file after dropping to nobody, which can't write into DIR.
  setsid memcached -l 127.0.0.1 -p "$port" -U 0 -m "${MEMCACHED_MB:-128}" -I 2m -c 4096 "${user[@]}" \
    </dev/null >"$dir/memcached.log" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 50); do port_free "$port" || break; sleep 0.1; done
  if port_free "$port"; then cat "$dir/memcached.log" >&2; log "memcached did not start"; exit 1; fi
  echo "$port" > "$dir/memcached.port"
  echo "$port"
}

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR [PG_PORT MC_PORT]" >&2; exit 2; }
dir=$(mkdir -p "$dir" && cd "$dir" && pwd)

case "$cmd" in
  start)
    services=${SERVICES:-postgres memcached}
    if [[ " $services " == *" postgres "* ]]; then
      pg_port=$(start_postgres "$dir" "${3:-$(free_port)}")
      echo "export SELFDB_PG_URL='postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable'"
      echo "export SELFDB_PG_PORT=$pg_port"
      echo "export SELFDB_PG_BIN='$(pg_bindir)'"
    fi
    if [[ " $services " == *" memcached "* ]]; then
      mc_port=$(start_memcached "$dir" "${4:-$(free_port)}")
      echo "export SELFDB_MEMCACHED='127.0.0.1:$mc_port'"
    fi
    ;;
  stop)
    # The server `make run` started (.ci/dev.sh records its pid) goes first:
    # it uses the services. Only a live process running selfdb is signalled,
    # never a pid the system gave to something else since.
    if [ -s "$dir/selfdb.pid" ]; then
      pid=$(cat "$dir/selfdb.pid")
      if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'selfdb'; then
        log "stopping the selfdb server (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        # SHUTDOWN_TIMEOUT (15s by default) plus a margin.
        for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then log "the server (pid $pid) did not stop within 20s; leaving it"; exit 1; fi
      fi
      rm -f "$dir/selfdb.pid"
    fi
    pgdata=$(pgdata_of "$dir")
    if [ -s "$pgdata/postmaster.pid" ]; then
      bin=$(pg_bindir)
      run_pg "$bin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true
    fi
    if [ -s "$dir/memcached.pid" ]; then
      pid=$(cat "$dir/memcached.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$dir/memcached.pid"
    fi
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
