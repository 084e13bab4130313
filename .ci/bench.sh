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
#   BENCH_BIG=0                       skip the 1 GiB upload/download (default 1)
#   BENCH_RT=0                        skip the realtime runs (bin/benchrt)
#   BENCH_BIG_BYTES=1073741824        its size
#   BENCH_PROFILE_DIR=dir             save a CPU profile (pprof, ADMIN_ADDR) of
#                                     selfdb during each endpoint's run there
#   BCRYPT_COST=12                    the server's bcrypt cost (login bench)
#   BENCH_FUNCTIONS=20                functions loaded for the functions bench
#
# Before each endpoint's run one request is sent with curl: its status is the
# table's `status` column and a non-2xx one is reported loudly. `errors` is
# wrk's count of non-2xx/3xx responses plus socket errors (timeouts included);
# `cache_hit` is the memcached hit ratio during the run, from /metrics.
#
# To add an endpoint, add a line to endpoints() below; to prepare data or a
# token for it, extend bench_setup().
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/lib.sh

DURATION=${BENCH_DURATION:-10s}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-64}

# endpoints prints one endpoint per line: NAME|METHOD|PATH|HEADERS|BODY[|CONNS].
# HEADERS is "Name: value" pairs separated by ";" (the anon key is always
# sent); BODY, when set, is sent as application/json; CONNS, when set,
# replaces BENCH_CONNECTIONS for that endpoint. Runs after bench_setup, so it
# may use what that defines ($BASE, $ANON_KEY, tokens...).
endpoints() {
  cat <<EOF
health|GET|/api/v1/health||
users_me|GET|/api/v1/users/me|Authorization: Bearer $ADMIN_TOKEN|
auth_login|POST|/api/v1/auth/login||$LOGIN_BODY|$(nproc)
files_download_info|GET|/api/v1/files/$SMALL_FILE_ID/download-info|Authorization: Bearer $ADMIN_TOKEN|
tables_data|GET|/api/v1/tables/bench_items/data?page_size=50|Authorization: Bearer $USER_TOKEN|
tables_data_filter|GET|/api/v1/tables/bench_items/data?page_size=50&category=eq.7|Authorization: Bearer $USER_TOKEN|
tables_data_deep|GET|/api/v1/tables/bench_items/data?page=200&page_size=50|Authorization: Bearer $USER_TOKEN|
tables_deep_nocount|GET|/api/v1/tables/bench_items/data?page=200&page_size=50&count=none|Authorization: Bearer $USER_TOKEN|
tables_data_cursor|GET|/api/v1/tables/bench_items/data?page_size=50&cursor=$DEEP_CURSOR|Authorization: Bearer $USER_TOKEN|
tables_cursor_order|GET|/api/v1/tables/bench_items/data?page_size=50&order_by=category:desc&cursor=$ORDER_CURSOR|Authorization: Bearer $USER_TOKEN|
tables_insert|POST|/api/v1/tables/bench_items/data|Authorization: Bearer $USER_TOKEN|{"category": 7, "name": "inserted by wrk"}
tables_insert_nocapture|POST|/api/v1/tables/bench_items/data|Authorization: Bearer $USER_TOKEN|{"category": 7, "name": "inserted by wrk"}
functions_invoke|GET|/api/v1/functions/invoke/bench-fn-00||
EOF
}

# before_NAME, when defined, runs before endpoint NAME's run (after_NAME
# after it). tables_insert_nocapture is tables_insert with the change-capture
# trigger of bench_items disabled: the difference is what capture costs.
before_tables_insert_nocapture() {
  "$SELFDB_PG_BIN/psql" -X -q -h 127.0.0.1 -p "$SELFDB_PG_PORT" -U postgres -d selfdb -c 'ALTER TABLE bench_items DISABLE TRIGGER selfdb_capture'
}
after_tables_insert_nocapture() {
  "$SELFDB_PG_BIN/psql" -X -q -h 127.0.0.1 -p "$SELFDB_PG_PORT" -U postgres -d selfdb -c 'ALTER TABLE bench_items ENABLE TRIGGER selfdb_capture'
}

# api METHOD PATH TOKEN [JSON] calls the server with the anon key (and the
# Bearer TOKEN when set) and prints the response body; it fails, saying why,
# unless the status is 2xx.
api() {
  local method=$1 path=$2 token=$3 body=${4:-} code
  local args=(-sS -X "$method" -H "apikey: $ANON_KEY" -o "$dir/api.out" -w '%{http_code}')
  [ -z "$token" ] || args+=(-H "Authorization: Bearer $token")
  [ -z "$body" ] || args+=(-H 'Content-Type: application/json' --data-binary "$body")
  code=$(curl "${args[@]}" "$BASE$path")
  if [[ $code != 2?? ]]; then
    say "$method $path answered $code: $(head -c 400 "$dir/api.out")"
    return 1
  fi
  cat "$dir/api.out"
}

# sql runs statements through POST /api/v1/sql/query as the admin and fails
# unless they succeed.
sql() {
  local out
  out=$(api POST /api/v1/sql/query "$ADMIN_TOKEN" "$(jq -cn --arg q "$1" '{query: $q}')")
  [ "$(jq -r .success <<<"$out")" = true ] || { say "SQL failed: $(jq -r .error <<<"$out")"; return 1; }
}

# bench_setup runs once the server is ready: create users, tokens, rows...
# for the endpoints above. $BASE is the server's URL, $ANON_KEY its key.
bench_setup() {
  local out bucket_id upload_url code
  # issue 3: the admin's token (users/me) and the login body.
  LOGIN_BODY=$(jq -cn --arg e "$DEFAULT_ADMIN_EMAIL" --arg p "$DEFAULT_ADMIN_PASSWORD" '{email: $e, password: $p}')
  ADMIN_TOKEN=$(api POST /api/v1/auth/login "" "$LOGIN_BODY" | jq -er .access_token)
  # A plain user for the table routes (default policy: authenticated).
  api POST /api/v1/auth/register "" '{"email":"bench@example.com","password":"bench-password-1","full_name":"Bench"}' >/dev/null
  USER_TOKEN=$(api POST /api/v1/auth/login "" '{"email":"bench@example.com","password":"bench-password-1"}' | jq -er .access_token)

  # issue 4: a private bucket holding one small ready file.
  bucket_id=$(api POST /api/v1/buckets "$ADMIN_TOKEN" '{"name":"bench-bucket","is_public":false}' | jq -er .id)
  BUCKET_ID=$bucket_id
  printf 'hello from make bench\n' >"$dir/small.txt"
  out=$(api POST /api/v1/files/initiate-upload "$ADMIN_TOKEN" \
    "$(jq -cn --arg b "$bucket_id" '{filename: "small.txt", content_type: "text/plain", size: 22, bucket_id: $b}')")
  SMALL_FILE_ID=$(jq -er .file_metadata.id <<<"$out")
  upload_url=$(jq -er .presigned_upload_info.upload_url <<<"$out")
  code=$(curl -sS -o "$dir/api.out" -w '%{http_code}' -T "$dir/small.txt" -H 'Content-Type: text/plain' "$upload_url")
  [ "$code" = 201 ] || { say "small upload answered $code: $(head -c 400 "$dir/api.out")"; return 1; }

  # issue 5: a 100,000-row user table with an indexed column.
  local t0
  t0=$(now_us)
  sql "CREATE TABLE bench_items (id serial PRIMARY KEY, category int NOT NULL, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO bench_items (category, name) SELECT i % 100, 'item ' || i FROM generate_series(1, 100000) AS i;
CREATE INDEX bench_items_category_idx ON bench_items (category);"
  # The state autovacuum reaches a minute after such a load (PostgreSQL 13+
  # vacuums after inserts too): statistics and the visibility map, without
  # which every count reads the heap. Not through the SQL console: VACUUM
  # cannot run inside its transaction.
  "$SELFDB_PG_BIN/psql" -X -q -h 127.0.0.1 -p "$SELFDB_PG_PORT" -U postgres -d selfdb -c 'VACUUM ANALYZE bench_items'

  say "bench_items: 100,000 rows (category = i % 100, so 1,000 rows per value) in $(( ($(now_us) - t0) / 1000 )) ms"

  # issue 14: cursors at depth 10,000, the next_cursor of page 200 (rows
  # 9,951-10,000), by primary key and by an indexed column with ties. A
  # server without cursors leaves them empty (its cursor runs read page 1).
  DEEP_CURSOR=$(api GET "/api/v1/tables/bench_items/data?page=200&page_size=50&count=none" "$USER_TOKEN" | jq -r '.metadata.next_cursor // empty') || DEEP_CURSOR=""
  ORDER_CURSOR=$(api GET "/api/v1/tables/bench_items/data?page=200&page_size=50&order_by=category:desc&count=none" "$USER_TOKEN" | jq -r '.metadata.next_cursor // empty') || ORDER_CURSOR=""
  [ -n "$DEEP_CURSOR" ] && [ -n "$ORDER_CURSOR" ] || say "WARNING: no next_cursor from page 200: the cursor runs read the first page"

  # issue 11: BENCH_FUNCTIONS trivial public functions, each called once so
  # that each has its isolate in the runtime; Deno's RSS with them loaded.
  local i name
  for i in $(seq -f '%02g' 0 $(( ${BENCH_FUNCTIONS:-20} - 1 ))); do
    name=bench-fn-$i
    api POST /api/v1/functions "$ADMIN_TOKEN" \
      "$(jq -cn --arg n "$name" '{name: $n, invoke_policy: "public", code: "export default () => ({ ok: true });"}')" >/dev/null
    api GET "/api/v1/functions/invoke/$name" "" >/dev/null
  done
  DENO_PID=$(ps -o pid= --ppid "$selfdb_pid" | head -n 1 | tr -d ' ')
  sleep 1
  DENO_IDLE_KB=$(rss_kb "$DENO_PID" VmRSS)
  say "functions: ${BENCH_FUNCTIONS:-20} loaded; Deno (pid $DENO_PID) RSS $(mb "$DENO_IDLE_KB")"
}

# bench_functions_save (issue 11): the time from saving new code to the first
# call served by it, five times; sets SAVE_LINE.
bench_functions_save() {
  local v t0 ms id all=()
  id=$(api GET /api/v1/functions "$ADMIN_TOKEN" | jq -er '.[] | select(.name == "bench-fn-01") | .id')
  for v in 1 2 3 4 5; do
    t0=$(now_us)
    api PUT "/api/v1/functions/$id" "$ADMIN_TOKEN" "$(jq -cn --arg c "export default () => ({ v: $v });" '{code: $c}')" >/dev/null
    until [ "$(api GET /api/v1/functions/invoke/bench-fn-01 "" | jq -r .v)" = "$v" ]; do :; done
    ms=$(( ($(now_us) - t0) / 1000 ))
    all+=("$ms")
  done
  SAVE_LINE="save → first call served by the new code (PUT with its compile check, then calls until one answers from it; 5 times): ${all[*]} ms"
}

# bench_deno_direct (issue 11): the same trivial answer from a bare Deno.serve
# on the same Deno binary, for the cost of the path through SelfDB.
bench_deno_direct() {
  local dport dpid
  dport=$(free_port)
  echo "Deno.serve({ hostname: '127.0.0.1', port: $dport, onListen() {} }, () => Response.json({ ok: true }));" >"$dir/direct.js"
  "$DENO_PATH" run --quiet --allow-net "$dir/direct.js" >"$dir/direct.log" 2>&1 &
  dpid=$!
  pids+=("$dpid")
  for _ in $(seq 1 200); do probe "$dport" /; [ "$CODE" = 200 ] && break; read -r -t 0.05 -u 4 _ || true; done
  wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$dport/" >/dev/null # warm-up
  say "deno_direct GET / (a bare Deno.serve answering {ok:true})"
  load "deno_direct" "$dpid" "http://127.0.0.1:$dport/" GET "" ""
  kill "$dpid"; wait "$dpid" 2>/dev/null || true
}

say() { echo "bench: $*" >&2; }

need wrk
need curl
# 10,000 WebSocket connections need as many descriptors in selfdb and benchrt.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need jq
[ -x bin/selfdb ] && [ -x bin/benchhello ] && [ -x bin/benchrt ] || { say "build bin/selfdb, bin/benchhello and bin/benchrt first (make bench)"; exit 1; }

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
DENO_PATH=$(.ci/deno.sh)
export DENO_PATH
SECRET_KEY=$(secret 32) ANON_KEY=$(secret 24) DEFAULT_ADMIN_PASSWORD=$(secret 12)
export SECRET_KEY ANON_KEY DEFAULT_ADMIN_PASSWORD DEFAULT_ADMIN_EMAIL=admin@example.com
# The login bench must measure bcrypt, not the rate limiter.
export BCRYPT_COST=${BCRYPT_COST:-12}
export AUTH_LOGIN_MAX_PER_IP=100000000 AUTH_LOGIN_MAX_FAILURES_PER_EMAIL=100000000
export AUTH_REGISTER_MAX_PER_IP=100000000 AUTH_REFRESH_MAX_PER_IP=100000000
# pprof for BENCH_PROFILE_DIR (loopback only, never the public port).
ADMIN_ADDR=127.0.0.1:$(free_port)
export ADMIN_ADDR
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

# mc_counts prints memcached's own "get_hits get_misses" (its `stats`).
mc_counts() {
  local line h=0 m=0
  exec 5<>"/dev/tcp/${SELFDB_MEMCACHED%:*}/${SELFDB_MEMCACHED##*:}" || { echo "0 0"; return; }
  printf 'stats\r\n' >&5
  while read -r -t 2 line <&5; do
    line=${line%$'\r'}
    case $line in
      "STAT get_hits "*) h=${line##* } ;;
      "STAT get_misses "*) m=${line##* } ;;
      END) break ;;
    esac
  done
  exec 5<&-
  echo "$h $m"
}

# cache_counts prints "hits misses ok mc_hits mc_misses errors": selfdb's
# cache look-ups so far from its /metrics (ok=1 when /metrics answered 200),
# memcached's own counters (the fallback when /metrics fails), and selfdb's
# count of failed memcached calls.
cache_counts() {
  local code h=0 m=0 e=0 ok=0
  code=$(curl -sS -o "$dir/metrics.out" -w '%{http_code}' "$BASE/metrics" || echo 000)
  if [ "$code" = 200 ]; then
    ok=1
    read -r h m e < <(awk '
      /^selfdb_cache_requests_total\{result="hit"\}/ {h = $2 + 0}
      /^selfdb_cache_requests_total\{result="miss"\}/ {m = $2 + 0}
      /^selfdb_cache_requests_total\{result="error"\}/ {e = $2 + 0}
      END {printf "%.0f %.0f %.0f\n", h, m, e}' "$dir/metrics.out")
  fi
  echo "$h $m $ok $(mc_counts) $e"
}

# preflight METHOD URL HEADERS BODY sends one request like wrk's with curl and
# prints its status; a non-2xx one is reported with its body.
preflight() {
  local method=$1 url=$2 headers=$3 body=$4 h code
  local args=(-sS -X "$method" -H "apikey: $ANON_KEY" -o "$dir/preflight.out" -w '%{http_code}')
  if [ -n "$headers" ]; then
    IFS=';' read -ra hs <<<"$headers"
    for h in "${hs[@]}"; do args+=(-H "$(echo "$h" | xargs)"); done
  fi
  [ -z "$body" ] || args+=(-H 'Content-Type: application/json' --data-binary "$body")
  code=$(curl "${args[@]}" "$url" || echo 000)
  [[ $code == 2?? ]] || say "WARNING: $method $url answered $code, not 2xx: $(head -c 300 "$dir/preflight.out")"
  echo "$code"
}

rows=()
declare -A CACHE_DETAIL=()
METRICS_FAILED=""
# load NAME PID URL METHOD HEADERS BODY [CONNS] [SELFDB] runs wrk and appends
# a row "name status conns req/s p50 p99 peak_kb errors cache_hit". With
# SELFDB set, the cache hit ratio is read from its /metrics around the run.
load() {
  local name=$1 pid=$2 url=$3 method=$4 headers=$5 body=$6 conns=${7:-$CONNS} selfdb=${8:-}
  local script out h rps p50 p99 errs status hit=- detail ok c0 c1 prof=""
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
  status=$(preflight "$method" "$url" "$headers" "$body")
  [ -z "$selfdb" ] || c0=$(cache_counts)
  if [ -n "$selfdb" ] && [ -n "${BENCH_PROFILE_DIR:-}" ]; then
    mkdir -p "$BENCH_PROFILE_DIR"
    local secs=${DURATION%s}
    [[ $secs =~ ^[0-9]+$ ]] || secs=10
    curl -sS -o "$BENCH_PROFILE_DIR/$name.pprof" \
      "http://$ADMIN_ADDR/debug/pprof/profile?seconds=$(( secs > 2 ? secs - 1 : 1 ))" &
    prof=$!
  fi
  echo 5 2>/dev/null >"/proc/$pid/clear_refs" || true # reset VmHWM to the current RSS
  out=$(wrk -t"$THREADS" -c"$conns" -d"$DURATION" --latency -s "$script" "$url")
  echo "$out" >"$dir/$name.wrk"
  [ -z "$prof" ] || wait "$prof" || true
  if [ -n "$selfdb" ]; then
    c1=$(cache_counts)
    # From /metrics when it answered both times, else (marked *) from memcached.
    read -r hit detail <<<"$(awk -v a="$c0" -v b="$c1" 'BEGIN {
      split(a, x, " "); split(b, y, " ")
      if (x[3] == 1 && y[3] == 1) { h = y[1] - x[1]; m = y[2] - x[2]; mark = ""; src = "selfdb /metrics" }
      else { h = y[4] - x[4]; m = y[5] - x[5]; mark = "*"; src = "memcached stats, /metrics failing" }
      if (h + m == 0) r = "-"; else r = sprintf("%.1f%%%s", 100 * h / (h + m), mark)
      printf "%s %d hits, %d misses, %d memcached errors (%s)\n", r, h, m, y[6] - x[6], src }')"
    CACHE_DETAIL[$name]=$detail
    read -r _ _ ok _ <<<"$c1"
    if [ "$ok" != 1 ] && [ -z "$METRICS_FAILED" ]; then
      METRICS_FAILED=$name
      say "WARNING: GET /metrics answered $(curl -s -o /dev/null -w '%{http_code}' "$BASE/metrics"): $(tr -s '\n' ' ' <"$dir/metrics.out" | head -c 300)…"
    fi
  fi
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  errs=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$out")
  rows+=("$name $status $conns $rps $p50 $p99 $(rss_kb "$pid" VmHWM) $errs $hit")
}

# rss_peak PID OUT samples PID's VmRSS every 100 ms and keeps the peak (kB)
# in OUT until killed. No fork per sample.
rss_peak() {
  local pid=$1 out=$2 peak=0 n=0 k v
  while :; do
    { while read -r k v _; do [ "$k" = VmRSS: ] && break; done <"/proc/$pid/status"; } 2>/dev/null || return 0
    (( v > peak )) && peak=$v
    n=$(( n + 1 ))
    echo "$peak $n" >"$out"
    read -r -t 0.1 -u 4 _ || true
  done
}

# sample_start / sample_stop wrap a transfer: RSS before, sampled peak and
# VmHWM (reset at the start) after; sample_stop sets PRE_KB PEAK_KB SAMPLES
# HWM_KB.
sample_start() {
  PRE_KB=$(rss_kb "$selfdb_pid" VmRSS)
  echo "$PRE_KB 0" >"$dir/rss.peak"
  echo 5 2>/dev/null >"/proc/$selfdb_pid/clear_refs" || true
  rss_peak "$selfdb_pid" "$dir/rss.peak" &
  SAMPLER=$!
  pids+=("$SAMPLER")
}
sample_stop() {
  kill "$SAMPLER" 2>/dev/null || true
  wait "$SAMPLER" 2>/dev/null || true
  read -r PEAK_KB SAMPLES <"$dir/rss.peak"
  (( PEAK_KB >= PRE_KB )) || PEAK_KB=$PRE_KB
  HWM_KB=$(rss_kb "$selfdb_pid" VmHWM)
}

# rate BYTES MICROSECONDS prints MB/s (10^6 bytes) and the seconds taken.
rate() { awk -v b="$1" -v us="$2" 'BEGIN {printf "%.0f MB/s (%.2f s)", b / us, us / 1e6}'; }
growth() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f MB", (b - a) / 1024}'; }

# bench_big (issue 4): a BENCH_BIG_BYTES (1 GiB) file through the byte routes
# — signed PUT, then the download URL of download-info — timed next to a cp +
# sync of the same file on this disk, with selfdb's RSS sampled during each
# transfer. Sets BIG_LINES for the report; the files are deleted afterwards.
BIG_LINES=()
bench_big() {
  local size=${BENCH_BIG_BYTES:-1073741824} big=$dir/big.bin out file_id upload_url dl_url code t0 up_us dl_us cp_us
  local sum_src sum_dl sum_srv
  say "big file: writing $size random bytes to $dir"
  head -c "$size" /dev/urandom >"$big"
  sync
  t0=$(now_us); cp "$big" "$dir/big.cp"; sync "$dir/big.cp"; cp_us=$(( $(now_us) - t0 ))
  rm -f "$dir/big.cp"; sync
  BIG_LINES+=("cp + sync of the same file on this disk: $(rate "$size" "$cp_us")")

  out=$(api POST /api/v1/files/initiate-upload "$ADMIN_TOKEN" \
    "$(jq -cn --arg b "$BUCKET_ID" --argjson n "$size" '{filename: "big.bin", content_type: "application/octet-stream", size: $n, bucket_id: $b}')")
  file_id=$(jq -er .file_metadata.id <<<"$out")
  upload_url=$(jq -er .presigned_upload_info.upload_url <<<"$out")
  say "big file: PUT to the signed upload URL"
  sample_start
  t0=$(now_us)
  code=$(curl -sS -o "$dir/api.out" -w '%{http_code}' -T "$big" -H 'Expect:' \
    -H 'Content-Type: application/octet-stream' "$upload_url" || echo 000)
  up_us=$(( $(now_us) - t0 ))
  sample_stop
  if [ "$code" != 201 ]; then
    say "big upload answered $code: $(head -c 400 "$dir/api.out")"
    BIG_LINES+=("upload FAILED: status $code after $(rate "$size" "$up_us")")
    rm -f "$big"
    return 0
  fi
  BIG_LINES+=("upload   (PUT /files/upload-direct, 201): $(rate "$size" "$up_us"); selfdb RSS $(mb "$PRE_KB") before, peak $(mb "$PEAK_KB") ($SAMPLES samples, every 100 ms) = $(growth "$PRE_KB" "$PEAK_KB") (VmHWM $(growth "$PRE_KB" "$HWM_KB")), target < +20 MB")

  out=$(api GET "/api/v1/files/$file_id/download-info" "$ADMIN_TOKEN")
  dl_url=$(jq -er .download_url <<<"$out")
  sum_srv=$(jq -r '.file_metadata.checksum_sha256 // "-"' <<<"$out")
  say "big file: GET the signed download URL"
  sample_start
  t0=$(now_us)
  code=$(curl -sS -o "$dir/big.dl" -w '%{http_code}' "$dl_url" || echo 000)
  dl_us=$(( $(now_us) - t0 ))
  sample_stop
  if [ "$code" != 200 ]; then
    BIG_LINES+=("download FAILED: status $code")
  else
    BIG_LINES+=("download (GET /files/download, 200, to the page cache): $(rate "$size" "$dl_us"); selfdb RSS $(mb "$PRE_KB") before, peak $(mb "$PEAK_KB") ($SAMPLES samples) = $(growth "$PRE_KB" "$PEAK_KB") (VmHWM $(growth "$PRE_KB" "$HWM_KB"))")
    # The same download into /dev/null: the server's rate without the
    # client's disk writes (the stored file is in the page cache either way).
    t0=$(now_us)
    code=$(curl -sS -o /dev/null -w '%{http_code}' "$dl_url" || echo 000)
    dl_us=$(( $(now_us) - t0 ))
    BIG_LINES+=("download again into /dev/null (status $code): $(rate "$size" "$dl_us")")
    sum_src=$(sha256sum "$big" | cut -d' ' -f1)
    sum_dl=$(sha256sum "$dir/big.dl" | cut -d' ' -f1)
    if [ "$sum_src" = "$sum_dl" ] && [ "$sum_src" = "$sum_srv" ]; then
      BIG_LINES+=("sha256: source = download = server's checksum_sha256 (${sum_src:0:16}…)")
    else
      BIG_LINES+=("sha256 MISMATCH: source $sum_src, download $sum_dl, server $sum_srv")
    fi
  fi
  api DELETE "/api/v1/files/$file_id" "$ADMIN_TOKEN" >/dev/null || say "deleting the big file failed"
  rm -f "$big" "$dir/big.dl"
}

# bench_realtime (issue 10): WebSocket subscribers of bin/benchrt (a separate
# process) while rows are inserted straight into Postgres at a fixed rate;
# selfdb's peak RSS is read around each run. Sets RT_LINES for the report.
RT_LINES=()
bench_realtime() {
  local t
  for t in rt_bench rt_own; do
    sql "CREATE TABLE $t (id bigserial PRIMARY KEY, owner_id uuid, note text, at timestamptz NOT NULL DEFAULT clock_timestamp())"
  done
  api PUT /api/v1/tables/rt_bench "$ADMIN_TOKEN" '{"access":{"read":"public"},"owner_column":"owner_id"}' >/dev/null
  api PUT /api/v1/tables/rt_own "$ADMIN_TOKEN" '{"access":{"read":"owner"},"owner_column":"owner_id"}' >/dev/null
  local secs=${DURATION%s}
  [[ $secs =~ ^[0-9]+$ ]] || secs=10
  RT_WS="ws://${BASE#http://}/api/v1/realtime/ws" RT_SECS=$secs
  rt_run "1,000 users, each subscribed to its own rows (owner policy), 1,000 changes/s" -mode own -table rt_own -subs 1000 -rate 1000
  rt_run "1,000 anon subscribers of one public table, 50 changes/s (50,000 frames/s)" -mode fanout -table rt_bench -subs 1000 -rate 50
  rt_run "100 anon subscribers of one public table, 1,000 changes/s (100,000 frames/s)" -mode fanout -table rt_bench -subs 100 -rate 1000
  rt_run "10,000 idle authenticated connections" -mode idle -subs 10000
}

# rt_run LABEL ARGS... runs bin/benchrt once and appends its report line.
rt_run() {
  local label=$1 out
  shift
  say "realtime: $label"
  echo 5 2>/dev/null >"/proc/$selfdb_pid/clear_refs" || true
  out=$(bin/benchrt -ws "$RT_WS" -db "$DATABASE_URL" -anon "$ANON_KEY" -secret "$SECRET_KEY" -duration "${RT_SECS}s" "$@" 2>&1) || say "benchrt failed: $out"
  RT_LINES+=("$label: $(paste -sd';' <<<"$out" | sed 's/;/; /g'); selfdb peak RSS $(mb "$(rss_kb "$selfdb_pid" VmHWM)")")
}

# --- selfdb ---------------------------------------------------------------------
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(now_us)
bin/selfdb migrate up >/dev/null
MIGRATE_MS=$(( ($(now_us) - t0) / 1000 ))

# The first start does one-time work (the admin user, bcrypt); the start-up
# reported is the second one, a plain restart.
port=$(free_port)
export PUBLIC_URL="http://127.0.0.1:$port"
start selfdb-first "$port" env API_PORT="$port" bin/selfdb serve
FIRST_MS=$START_MS
kill "$PID"; wait "$PID" 2>/dev/null || true
start selfdb "$port" env API_PORT="$port" bin/selfdb serve
selfdb_pid=$PID selfdb_start=$START_MS selfdb_idle=$IDLE_KB
BASE="http://127.0.0.1:$port"
bench_setup
say "selfdb ready in ${selfdb_start} ms (first start ${FIRST_MS} ms; migrations took ${MIGRATE_MS} ms before it), idle RSS $(mb "$selfdb_idle")"

wrk -t"$THREADS" -c"$CONNS" -d2s -H "apikey: $ANON_KEY" "$BASE/api/v1/health" >/dev/null # warm-up
while IFS='|' read -r name method path headers body conns; do
  [ -n "$name" ] || continue
  if [ -n "${BENCH_ONLY:-}" ] && [[ ",$BENCH_ONLY," != *",$name,"* ]]; then continue; fi
  if declare -F "before_$name" >/dev/null; then "before_$name"; fi
  say "selfdb $method $path ($DURATION, $THREADS threads, ${conns:-$CONNS} connections)"
  [ "$name" != functions_invoke ] || echo 5 2>/dev/null >"/proc/$DENO_PID/clear_refs" || true
  load "$name" "$selfdb_pid" "$BASE$path" "$method" "$headers" "$body" "${conns:-$CONNS}" selfdb
  if declare -F "after_$name" >/dev/null; then "after_$name"; fi
  if [ "$name" = functions_invoke ]; then
    DENO_PEAK_KB=$(rss_kb "$DENO_PID" VmHWM)
    DENO_AFTER_KB=$(rss_kb "$DENO_PID" VmRSS)
    bench_functions_save
  fi
done < <(endpoints)
if [ "${BENCH_RT:-1}" != 0 ]; then bench_realtime; fi
if [ -z "${BENCH_ONLY:-}" ] || [[ ",$BENCH_ONLY," == *",functions_invoke,"* ]]; then bench_deno_direct; fi
if [ "${BENCH_BIG:-1}" != 0 ]; then bench_big; fi
kill "$selfdb_pid"; wait "$selfdb_pid" 2>/dev/null || true

# --- bare Fiber hello-world ---------------------------------------------------
hport=$(free_port)
start hello "$hport" env ADDR="127.0.0.1:$hport" bin/benchhello
hello_pid=$PID hello_start=$START_MS hello_idle=$IDLE_KB
say "hello ready in ${hello_start} ms, idle RSS $(mb "$hello_idle")"
wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$hport/api/v1/health" >/dev/null # warm-up
say "hello GET /api/v1/health"
load "hello" "$hello_pid" "http://127.0.0.1:$hport/api/v1/health" GET "" ""
read -r _ _ _ hello_rps _ <<<"${rows[-1]}"

# --- report -------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "SelfDB bench — $(bin/selfdb version), $(nproc) CPUs, wrk -t$THREADS -c$CONNS -d$DURATION, loopback"
echo "load average (1/5/15 min): $LOAD_START at the start, $LOAD_END at the end (wrk and selfdb share these CPUs with whatever else runs)"
echo "start-up (exec → /readyz 200): selfdb ${selfdb_start} ms (first start on a fresh database ${FIRST_MS} ms, \`migrate up\` before it ${MIGRATE_MS} ms), hello ${hello_start} ms"
echo "idle RSS: selfdb $(mb "$selfdb_idle"), hello $(mb "$hello_idle")"
echo
printf '%-20s %6s %5s %9s %8s %8s %10s %7s %9s %8s\n' endpoint status conns req/s p50_ms p99_ms peak_RSS errors cache_hit vs_hello
for r in "${rows[@]}"; do
  read -r name status conns rps p50 p99 peak errs hit <<<"$r"
  ratio=$(awk -v a="$rps" -v b="$hello_rps" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
  [ "$name" = hello ] && ratio="-"
  printf '%-20s %6s %5s %9s %8s %8s %10s %7s %9s %8s\n' "$name" "$status" "$conns" "$rps" "$p50" "$p99" "$(mb "$peak")" "$errs" "$hit" "$ratio"
done
echo
echo "status: one curl request before the run; errors: wrk's non-2xx/3xx responses + socket errors (timeouts) during it; cache_hit: cache hits / (hits + misses) during it, from selfdb's /metrics (* = from memcached's stats because /metrics failed)"
[ -z "$METRICS_FAILED" ] || echo "WARNING: selfdb's GET /metrics stopped answering 200 by the end of the $METRICS_FAILED run (see the bench: WARNING line above)"
for r in "${rows[@]}"; do
  read -r name status conns rps p50 p99 peak errs hit <<<"$r"
  case $name in
    users_me) echo "users_me: cache hit ratio $hit: ${CACHE_DETAIL[$name]}; target ≥ 5,000 req/s, p99 < 50 ms, RSS < 100 MB" ;;
    auth_login) echo "auth_login: bcrypt cost $BCRYPT_COST, $conns connections ($(nproc) CPUs): $rps logins/s, p50 $p50 ms ≈ one bcrypt verification + token issue" ;;
    files_download_info) echo "files_download_info: cache $hit, ${CACHE_DETAIL[$name]}; target p99 < 20 ms" ;;
    tables_insert) echo "tables_insert: $rps inserts/s (one row per POST, p99 $p99 ms)" ;;
  esac
done
echo "tables_insert_nocapture: tables_insert with bench_items' change-capture trigger disabled (what capture costs an insert)"
if [ ${#RT_LINES[@]} -gt 0 ]; then
  echo "realtime (bin/benchrt, inserts straight into Postgres; latency = frame received − the row's clock_timestamp(); targets: p99 < 100 ms at 1,000 subscribers × 1,000 changes/s, 10,000 idle connections < 150 MB):"
  for l in "${RT_LINES[@]}"; do echo "  $l"; done
fi
echo "tables_data*: 100,000-row table, page_size=50, as a non-superuser under the default 'authenticated' policy; target ≥ 3,000 req/s, p99 < 50 ms"
echo "tables_data_deep: page 200 (OFFSET 9,950) with total_count (the planner's estimate: unfiltered, ≥ 100,000 rows); target ≥ 1,000 req/s; tables_deep_nocount: the same with count=none"
echo "tables_data_cursor / tables_cursor_order: the page after page 200 (depth 10,000) by next_cursor, by primary key / by order_by=category:desc (1,000-row ties broken by id), with total_count; target ≥ 3,000 req/s, p99 < 50 ms"
if [ -n "${DENO_PEAK_KB:-}" ]; then
  for r in "${rows[@]}"; do
    read -r name status conns rps p50 p99 peak errs hit <<<"$r"
    case $name in
      functions_invoke) fn_line="functions_invoke: a trivial function (return {ok:true}) through SelfDB: $rps req/s, p50 $p50 ms, p99 $p99 ms; target ≥ 1,000 req/s, p99 < 50 ms" ;;
      deno_direct) direct_line="deno_direct: the same answer from a bare Deno.serve: $rps req/s, p50 $p50 ms, p99 $p99 ms (through SelfDB adds: Go's HTTP, the function's row from memcached, the loopback hop to Deno, the isolate's message round trip, the run's record in Postgres)" ;;
    esac
  done
  echo "${fn_line:-}"
  echo "${direct_line:-}"
  echo "Deno RSS: $(mb "$DENO_IDLE_KB") idle with ${BENCH_FUNCTIONS:-20} functions loaded (one isolate each); peak $(mb "$DENO_PEAK_KB") under load, $(mb "$DENO_AFTER_KB") after; target < 100 MB with 20 loaded"
  echo "${SAVE_LINE:-}"
fi
if [ "${BENCH_BIG:-1}" != 0 ]; then
  echo "big file, $(( ${BENCH_BIG_BYTES:-1073741824} / 1048576 )) MiB of random bytes (curl, loopback; MB = 10^6 bytes):"
  for l in "${BIG_LINES[@]}"; do echo "  $l"; done
fi
