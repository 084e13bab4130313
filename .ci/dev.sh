#!/usr/bin/env bash
# `make run`: runs bin/selfdb in the foreground on this machine.
#
# - PostgreSQL: the server at $DATABASE_URL when it answers; otherwise a
#   project-local cluster under .data/ (preferred port 54329) with a `selfdb`
#   database.
# - memcached: $MEMCACHED_ADDR when it answers; otherwise a local one
#   (preferred port 11219).
# - Deno (functions): $DENO_PATH, deno on PATH, or the copy .ci/deno.sh
#   installs under bin/tools/deno; without one the server still runs and
#   function calls answer 503.
# - Secrets: SECRET_KEY, ANON_KEY and the admin password are generated on the
#   first run and kept in .data/secrets.env (mode 600); variables already set
#   in the environment or in .env win.
# - .env at the root of the clone is read as selfdb reads it (the environment
#   wins over it), before the defaults here.
# Everything is reused by the next run. The server's pid is kept in
# .data/selfdb.pid: `make stop` stops the server, then the local services.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/lib.sh

say() { echo "run: $*" >&2; }

DATA=.data
mkdir -p "$DATA"
chmod 755 "$DATA" # the postgres user must reach .data/pg

# --- .env ---------------------------------------------------------------------
# The same simple format selfdb reads (cmd/selfdb/dotenv.go): KEY=VALUE lines,
# # comments, optional `export ` and quotes; variables already set win.
if [ -f .env ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    line="${line#"${line%%[![:space:]]*}"}"
    [[ -z "$line" || "$line" == \#* ]] && continue
    line=${line#export }
    k=${line%%=*} v=${line#*=}
    k="${k%"${k##*[![:space:]]}"}" v="${v#"${v%%[![:space:]]*}"}" v="${v%"${v##*[![:space:]]}"}"
    [[ "$k" =~ ^[A-Za-z_][A-Za-z0-9_]*$ && "$line" == *=* ]] || { say ".env: skipping a line that is not KEY=VALUE"; continue; }
    if [[ ${#v} -ge 2 && ( "$v" == \"*\" || "$v" == \'*\' ) ]]; then v=${v:1:${#v}-2}; fi
    [ -z "${!k+set}" ] && export "$k=$v"
  done <.env
fi

# --- secrets ------------------------------------------------------------------
secrets="$DATA/secrets.env"
if [ ! -s "$secrets" ]; then
  say "generating secrets in $secrets"
  (
    umask 077
    {
      echo "SECRET_KEY=$(secret 32)"
      echo "ANON_KEY=$(secret 24)"
      echo "DEFAULT_ADMIN_EMAIL=admin@example.com"
      echo "DEFAULT_ADMIN_PASSWORD=$(secret 12)"
    } >"$secrets"
  )
fi
chmod 600 "$secrets"
while IFS='=' read -r k v; do
  [ -n "$k" ] && [ -z "${!k:-}" ] && export "$k=$v"
done <"$secrets"

export SELFDB_ENV=${SELFDB_ENV:-production}
export LOG_FORMAT=${LOG_FORMAT:-console}
# STORAGE_PATH: selfdb's own default, .data/storage (platform/config).
export API_PORT=${API_PORT:-8000}

# reachable_db reports whether selfdb can connect to $DATABASE_URL: `migrate
# status` succeeds, or fails only because no migration was ever applied (42P01).
reachable_db() {
  local out
  [ -n "${DATABASE_URL:-}" ] || return 1
  out=$(DB_START_TIMEOUT=3s bin/selfdb migrate status 2>&1) && return 0
  [[ "$out" == *42P01* ]]
}

# reachable_tcp reports whether every host:port of a comma list accepts a connection.
reachable_tcp() {
  local a
  [ -n "$1" ] || return 1
  for a in ${1//,/ }; do
    timeout 2 bash -c "exec 3<>/dev/tcp/${a%:*}/${a##*:}" 2>/dev/null || return 1
  done
}

services=""
if reachable_db; then
  say "using PostgreSQL at DATABASE_URL"
else
  [ -n "${DATABASE_URL:-}" ] && say "DATABASE_URL does not answer; using a local cluster under $DATA/"
  services="postgres"
fi
if reachable_tcp "${MEMCACHED_ADDR:-}"; then
  say "using memcached at $MEMCACHED_ADDR"
else
  services="$services memcached"
fi

if [ -n "$services" ]; then
  eval "$(SERVICES="$services" .ci/services.sh start "$DATA" 54329 11219)"
fi
if [[ "$services" == *postgres* ]]; then
  psql=("$SELFDB_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$SELFDB_PG_PORT" -U postgres -d postgres)
  if [ -z "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = 'selfdb'")" ]; then
    say "creating database selfdb"
    "${psql[@]}" -c 'CREATE DATABASE selfdb'
  fi
  export DATABASE_URL="postgres://postgres@127.0.0.1:$SELFDB_PG_PORT/selfdb?sslmode=disable"
fi
[[ "$services" == *memcached* ]] && export MEMCACHED_ADDR=$SELFDB_MEMCACHED

if deno=$(.ci/deno.sh); then
  export DENO_PATH=$deno
else
  say "no Deno could be installed: functions are managed but calls answer 503 (set DENO_PATH)"
fi

if ! port_free "$API_PORT"; then
  old=$API_PORT
  API_PORT=$(free_port)
  say "port $old is taken; serving on $API_PORT instead (set API_PORT to choose)"
fi

bin/selfdb migrate up

host=localhost
cat <<EOF

  SelfDB $(bin/selfdb version | cut -d' ' -f2) — http://$host:$API_PORT
  anon key     $ANON_KEY      (header "apikey" on every request)
  admin login  $DEFAULT_ADMIN_EMAIL / $DEFAULT_ADMIN_PASSWORD
               (created on the first start when no user has this email)
  try          curl -H "apikey: $ANON_KEY" http://$host:$API_PORT/api/v1/health
  secrets      $secrets; services under $DATA/
  stop         Ctrl-C stops the server; \`make stop\` (from another shell) stops
               the server and the services

EOF
# exec keeps this pid: `make stop` finds the server by it.
echo $$ >"$DATA/selfdb.pid"
exec bin/selfdb serve
