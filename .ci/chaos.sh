#!/usr/bin/env bash
# `make chaos` (not run by CI or `make test`): two bin/selfdb instances on one
# throwaway PostgreSQL (fsync on, normal durability) and one memcached, under
# bounded load from bin/chaos while Postgres is restarted and hung and
# memcached is stalled and killed; then a step test per route group. See
# cmd/chaos for what is measured and printed.
#
#   CHAOS_MODE=all|chaos|steps   what to run (default all: about 3 minutes)
#   CHAOS_DURATION=100s CHAOS_WORKERS=8 CHAOS_RATE=20 CHAOS_OUTAGE=5s
#   CHAOS_FAULTS=pg_restart,mc_stall,mc_kill,pg_hang
#   CHAOS_STEP=2s CHAOS_STEPS=1,2,4,8,16,32,64,128
#   CHAOS_SLOW_ERROR=8s          an error slower than this fails the run
#   CHAOS_KEEP=1                 keep the run directory (instance logs)
#   BCRYPT_COST=10               the instances' bcrypt cost (logins are a few % of the mix)
#
# Everything listens on 127.0.0.1 and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/lib.sh

say() { echo "chaos: $*" >&2; }

[ -x bin/selfdb ] && [ -x bin/chaos ] || { say "build bin/selfdb and bin/chaos first (make chaos)"; exit 1; }

dir=$(mktemp -d /tmp/selfdb-chaos.XXXXXX)
chmod 755 "$dir" # the postgres user must reach its data directory
chaos_pid=""
cleanup() {
  if [ -n "$chaos_pid" ]; then kill "$chaos_pid" 2>/dev/null || true; wait "$chaos_pid" 2>/dev/null || true; fi
  # A memcached left stopped by an interrupted stall would ignore the stop.
  [ -s "$dir/memcached.pid" ] && kill -CONT "$(cat "$dir/memcached.pid")" 2>/dev/null || true
  .ci/services.sh stop "$dir" || true
  [ -s "$dir/pg.location" ] && rm -rf "$(cat "$dir/pg.location")"
  if [ "${CHAOS_KEEP:-0}" = 1 ]; then say "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Normal durability: no PG_EXTRA_OPTS (the tests turn fsync off; this must not).
eval "$(.ci/services.sh start "$dir")"
"$SELFDB_PG_BIN/psql" -X -q -h 127.0.0.1 -p "$SELFDB_PG_PORT" -U postgres -d postgres -c 'CREATE DATABASE selfdb'
pgdata=$dir/pg
[ -s "$dir/pg.location" ] && pgdata=$(cat "$dir/pg.location")/pg
mc_port=${SELFDB_MEMCACHED##*:}

# pg_ctl restart reuses the options of the running server (postmaster.opts).
pg_restart=("$SELFDB_PG_BIN/pg_ctl" -D "$pgdata" -m fast -w -t 60 -l "$pgdata/server.log" restart)
[ "$(id -u)" = 0 ] && pg_restart=(runuser -u postgres -- "${pg_restart[@]}")
mc_restart="SERVICES=memcached .ci/services.sh start $(printf '%q' "$dir") 0 $mc_port >/dev/null"

# Both instances get the same keys, memcached, CACHE_PREFIX and storage.
export SELFDB_ENV=production LOG_LEVEL=warn ACCESS_LOG=false API_HOST=127.0.0.1
export DATABASE_URL="postgres://postgres@127.0.0.1:$SELFDB_PG_PORT/selfdb?sslmode=disable"
export MEMCACHED_ADDR=$SELFDB_MEMCACHED CACHE_PREFIX=chaos:v1: STORAGE_PATH=$dir/storage
SECRET_KEY=$(secret 32) ANON_KEY=$(secret 24) DEFAULT_ADMIN_PASSWORD=$(secret 12)
export SECRET_KEY ANON_KEY DEFAULT_ADMIN_PASSWORD DEFAULT_ADMIN_EMAIL=admin@example.com
export BCRYPT_COST=${BCRYPT_COST:-10}
# One client address for every request: the per-IP limits would be the test.
export AUTH_LOGIN_MAX_PER_IP=100000000 AUTH_LOGIN_MAX_FAILURES_PER_EMAIL=100000000
export AUTH_REGISTER_MAX_PER_IP=100000000 AUTH_REFRESH_MAX_PER_IP=100000000
mkdir -p "$STORAGE_PATH"

bin/chaos -dir "$dir" -selfdb bin/selfdb -pg-url "$DATABASE_URL" \
  -pg-restart "$(printf '%q ' "${pg_restart[@]}")" \
  -mc-pidfile "$dir/memcached.pid" -mc-restart "$mc_restart" &
chaos_pid=$!
rc=0
wait "$chaos_pid" || rc=$?
chaos_pid=""
exit "$rc"
