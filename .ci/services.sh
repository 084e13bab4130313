#!/usr/bin/env bash
# Starts and stops the services SelfDB needs on a Debian/Ubuntu machine:
# a PostgreSQL cluster from the installed binaries and a memcached, both on
# loopback. Used by `make run` (persistent, under .data/) and `make test`
# (ephemeral, free ports). Installs what is missing with apt.
#
#   services.sh start DIR [PG_PORT MC_PORT]   prints shell `export` lines
#   services.sh stop DIR
set -euo pipefail

log() { echo "services: $*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  log "installing $* with apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -o DPkg::Lock::Timeout=120 -qq >&2 || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=120 "$@" >&2
}

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

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( (RANDOM % 20000) + 30000 ))
    if port_free "$p"; then echo "$p"; return; fi
  done
  log "no free port found"; exit 1
}

# run_pg runs a PostgreSQL binary as the postgres user when we are root
# (initdb and postgres refuse to run as root).
run_pg() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_postgres() {
  local dir=$1 port=$2 bin pgdata
  bin=$(pg_bindir)
  pgdata="$dir/pg"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
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
    run_pg "$bin/pg_ctl" -D "$pgdata" -w -t 60 -l "$pgdata/server.log" \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $pgdata -c max_connections=300 ${PG_EXTRA_OPTS:-}" start >&2 \
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
  local user=()
  [ "$(id -u)" = 0 ] && user=(-u nobody)
  touch "$pidfile"; chmod 666 "$pidfile"
  memcached -d -l 127.0.0.1 -p "$port" -U 0 -m "${MEMCACHED_MB:-128}" -I 2m -c 4096 -P "$pidfile" "${user[@]}"
  for _ in $(seq 1 50); do port_free "$port" || break; sleep 0.1; done
  echo "$port" > "$dir/memcached.port"
  echo "$port"
}

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR [PG_PORT MC_PORT]" >&2; exit 2; }
dir=$(mkdir -p "$dir" && cd "$dir" && pwd)

case "$cmd" in
  start)
    pg_port=${3:-$(free_port)}
    mc_port=${4:-$(free_port)}
    [ -s "$dir/pg/postmaster.pid" ] || port_free "$pg_port" || pg_port=$(free_port)
    pg_port=$(start_postgres "$dir" "$pg_port")
    mc_port=$(start_memcached "$dir" "$mc_port")
    echo "export SELFDB_PG_URL='postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable'"
    echo "export SELFDB_PG_PORT=$pg_port"
    echo "export SELFDB_MEMCACHED='127.0.0.1:$mc_port'"
    ;;
  stop)
    bin=$(pg_bindir)
    pgdata="$dir/pg"
    [ -s "$dir/pg.location" ] && pgdata="$(cat "$dir/pg.location")/pg"
    if [ -d "$pgdata" ]; then run_pg "$bin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true; fi
    if [ -s "$dir/memcached.pid" ]; then kill "$(cat "$dir/memcached.pid")" 2>/dev/null || true; rm -f "$dir/memcached.pid"; fi
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
