#!/usr/bin/env bash
# `make bench`: load-tests bin/selfdb against a bare Fiber hello-world
# (bin/benchhello) on this machine and prints one table.
#
# Throwaway PostgreSQL + memcached are started in a /tmp directory (like
# `make test`), the server runs with generated secrets and ACCESS_LOG=false on
# a free loopback port, and wrk drives it from a separate process on
# 127.0.0.1. Measured: start-up (exec → first /readyz 200), idle RSS, and per
# endpoint req/s, p50, p99 and peak RSS (VmHWM, reset before each endpoint).
# Everything started here is stopped on exit.
#
#   BENCH_DURATION=10s BENCH_THREADS=2 BENCH_CONNECTIONS=64   wrk settings
#   BENCH_ONLY=name,name                                     run some endpoints
#
# To add an endpoint, add a line to endpoints() below; to prepare data or a
# token for it, extend bench_setup().
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/lib.sh

DURATION=${BENCH_DURATION:-10s}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-64}

# endpoints prints one endpoint per line: NAME|METHOD|PATH|HEADERS|BODY.
# HEADERS is "Name: value" pairs separated by ";" (the anon key is always
# sent); BODY, when set, is sent as application/json. Runs after bench_setup,
# so it may use what that defines ($BASE, $ANON_KEY, tokens...).
endpoints() {
  cat <<EOF
health|GET|/api/v1/health||
EOF
}

# bench_setup runs once the server is ready: create users, tokens, rows...
# for the endpoints above. $BASE is the server's URL, $ANON_KEY its key.
bench_setup() {
  :
}

say() { echo "bench: $*" >&2; }

need wrk
[ -x bin/selfdb ] && [ -x bin/benchhello ] || { say "build bin/selfdb and bin/benchhello first (make bench)"; exit 1; }

dir=$(mktemp -d /tmp/selfdb-bench.XXXXXX)
chmod 755 "$dir" # the postgres user must reach its data directory
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  .ci/services.sh stop "$dir" || true
  [ -s "$dir/pg.location" ] && rm -rf "$(cat "$dir/pg.location")"
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

eval "$(.ci/services.sh start "$dir")"
"$SELFDB_PG_BIN/psql" -X -q -h 127.0.0.1 -p "$SELFDB_PG_PORT" -U postgres -d postgres -c 'CREATE DATABASE selfdb'

export SELFDB_ENV=production LOG_LEVEL=warn ACCESS_LOG=false API_HOST=127.0.0.1
export DATABASE_URL="postgres://postgres@127.0.0.1:$SELFDB_PG_PORT/selfdb?sslmode=disable"
export MEMCACHED_ADDR=$SELFDB_MEMCACHED STORAGE_PATH=$dir/storage
SECRET_KEY=$(secret 32) ANON_KEY=$(secret 24) DEFAULT_ADMIN_PASSWORD=$(secret 12)
export SECRET_KEY ANON_KEY DEFAULT_ADMIN_PASSWORD
mkdir -p "$STORAGE_PATH"

# now_us prints the wall clock in microseconds (bash 5 EPOCHREALTIME).
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

# probe sets CODE to the HTTP status of GET PATH on the loopback PORT (empty
# when nothing answers). Plain bash without a fork, so a fresh machine needs
# no curl and the start-up measurement keeps a fine resolution.
probe() {
  CODE=""
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 0
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  read -r -t 5 _ CODE _ <&3 || true
  exec 3<&-
}
# A FIFO nobody writes to: `read -t` on it is a sleep without a fork.
mkfifo "$dir/tick"
exec 4<>"$dir/tick"

rss_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
mb() { awk -v kb="$1" 'BEGIN {printf "%.1f MB", kb / 1024}'; }

# start NAME PORT CMD... starts a server in the background, waits for /readyz
# 200 and sets PID, START_MS and IDLE_KB.
start() {
  local name=$1 port=$2 t0
  shift 2
  t0=${EPOCHREALTIME/[.,]/}
  "$@" 4>&- >"$dir/$name.log" 2>&1 &
  PID=$!
  pids+=("$PID")
  while (( ${EPOCHREALTIME/[.,]/} - t0 < 30000000 )); do
    probe "$port" /readyz
    [ "$CODE" = 200 ] && break
    kill -0 "$PID" 2>/dev/null || { cat "$dir/$name.log" >&2; say "$name exited"; exit 1; }
    read -r -t 0.002 -u 4 _ || true
  done
  [ "$CODE" = 200 ] || { cat "$dir/$name.log" >&2; say "$name never became ready"; exit 1; }
  START_MS=$(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 ))
  sleep 1
  IDLE_KB=$(rss_kb "$PID" VmRSS)
}

# to_ms converts wrk's latency (e.g. 512.00us, 1.20ms, 1.01s) to ms.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.2f", n }'
}

rows=()
# load NAME PID URL METHOD HEADERS BODY runs wrk and appends a row
# "name req/s p50 p99 peak_kb errors".
load() {
  local name=$1 pid=$2 url=$3 method=$4 headers=$5 body=$6 script out h rps p50 p99 errs
  script="$dir/$name.lua"
  {
    echo "wrk.method = \"$method\""
    echo "wrk.headers[\"apikey\"] = \"$ANON_KEY\""
    if [ -n "$headers" ]; then
      IFS=';' read -ra hs <<<"$headers"
      for h in "${hs[@]}"; do
        echo "wrk.headers[\"$(echo "${h%%:*}" | xargs)\"] = \"$(echo "${h#*:}" | xargs)\""
      done
    fi
    if [ -n "$body" ]; then
      echo 'wrk.headers["Content-Type"] = "application/json"'
      printf 'wrk.body = [==[%s]==]\n' "$body"
    fi
  } >"$script"
  echo 5 2>/dev/null >"/proc/$pid/clear_refs" || true # reset VmHWM to the current RSS
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$script" "$url")
  echo "$out" >"$dir/$name.wrk"
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  errs=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$out")
  rows+=("$name $rps $p50 $p99 $(rss_kb "$pid" VmHWM) $errs")
}

# --- selfdb ---------------------------------------------------------------------
t0=$(now_us)
bin/selfdb migrate up >/dev/null
MIGRATE_MS=$(( ($(now_us) - t0) / 1000 ))

# The first start does one-time work (the admin user, bcrypt); the start-up
# reported is the second one, a plain restart.
port=$(free_port)
start selfdb-first "$port" env API_PORT="$port" bin/selfdb serve
FIRST_MS=$START_MS
kill "$PID"; wait "$PID" 2>/dev/null || true
start selfdb "$port" env API_PORT="$port" bin/selfdb serve
selfdb_pid=$PID selfdb_start=$START_MS selfdb_idle=$IDLE_KB
BASE="http://127.0.0.1:$port"
bench_setup
say "selfdb ready in ${selfdb_start} ms (first start ${FIRST_MS} ms; migrations took ${MIGRATE_MS} ms before it), idle RSS $(mb "$selfdb_idle")"

wrk -t"$THREADS" -c"$CONNS" -d2s -H "apikey: $ANON_KEY" "$BASE/api/v1/health" >/dev/null # warm-up
while IFS='|' read -r name method path headers body; do
  [ -n "$name" ] || continue
  if [ -n "${BENCH_ONLY:-}" ] && [[ ",$BENCH_ONLY," != *",$name,"* ]]; then continue; fi
  say "selfdb $method $path ($DURATION, $THREADS threads, $CONNS connections)"
  load "$name" "$selfdb_pid" "$BASE$path" "$method" "$headers" "$body"
done < <(endpoints)
kill "$selfdb_pid"; wait "$selfdb_pid" 2>/dev/null || true

# --- bare Fiber hello-world ---------------------------------------------------
hport=$(free_port)
start hello "$hport" env ADDR="127.0.0.1:$hport" bin/benchhello
hello_pid=$PID hello_start=$START_MS hello_idle=$IDLE_KB
say "hello ready in ${hello_start} ms, idle RSS $(mb "$hello_idle")"
wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$hport/api/v1/health" >/dev/null # warm-up
say "hello GET /api/v1/health"
load "hello" "$hello_pid" "http://127.0.0.1:$hport/api/v1/health" GET "" ""
read -r _ hello_rps _ <<<"${rows[-1]}"

# --- report -------------------------------------------------------------------
echo
echo "SelfDB bench — $(bin/selfdb version), $(nproc) CPUs, wrk -t$THREADS -c$CONNS -d$DURATION, loopback"
echo "start-up (exec → /readyz 200): selfdb ${selfdb_start} ms (first start on a fresh database ${FIRST_MS} ms, \`migrate up\` before it ${MIGRATE_MS} ms), hello ${hello_start} ms"
echo "idle RSS: selfdb $(mb "$selfdb_idle"), hello $(mb "$hello_idle")"
echo
printf '%-22s %10s %9s %9s %11s %8s %13s\n' endpoint req/s p50_ms p99_ms peak_RSS errors selfdb/hello
for r in "${rows[@]}"; do
  read -r name rps p50 p99 peak errs <<<"$r"
  ratio=$(awk -v a="$rps" -v b="$hello_rps" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
  [ "$name" = hello ] && ratio="-"
  printf '%-22s %10s %9s %9s %11s %8s %13s\n' "$name" "$rps" "$p50" "$p99" "$(mb "$peak")" "$errs" "$ratio"
done
