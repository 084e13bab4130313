#!/usr/bin/env bash
# `make test`: runs `go test` against real PostgreSQL and memcached.
# SELFDB_TEST_DATABASE_URL + SELFDB_TEST_MEMCACHED name existing services;
# otherwise throwaway ones are started in a fresh /tmp directory on free
# ports and stopped afterwards, whatever the outcome. The functions tests run
# real Deno: DENO_PATH, else deno on PATH, else the copy .ci/deno.sh installs
# under bin/tools/deno. go test's exit code is the script's.
#   GOTEST_PKGS   packages (default ./...)
#   GOTEST_FLAGS  flags (default -race -count=1 -timeout 20m)
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/lib.sh

GO=${GO:-go}
pkgs=${GOTEST_PKGS:-./...}
flags=${GOTEST_FLAGS:--race -count=1 -timeout 20m}

# -race needs cgo, hence a C compiler.
if [[ " $flags " == *" -race "* ]] && ! command -v "$("$GO" env CC)" >/dev/null 2>&1; then
  apt_install gcc libc6-dev >/dev/null
fi

DENO_PATH=$(.ci/deno.sh)
export DENO_PATH

if [ -z "${SELFDB_TEST_DATABASE_URL:-}" ] || [ -z "${SELFDB_TEST_MEMCACHED:-}" ]; then
  dir=$(mktemp -d /tmp/selfdb-test.XXXXXX)
  chmod 755 "$dir" # the postgres user must reach its data directory
  cleanup() {
    .ci/services.sh stop "$dir" || true
    [ -s "$dir/pg.location" ] && rm -rf "$(cat "$dir/pg.location")"
    rm -rf "$dir"
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  # A throwaway cluster needs no durability.
  env_lines=$(PG_EXTRA_OPTS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off ${PG_EXTRA_OPTS:-}" \
    .ci/services.sh start "$dir")
  eval "$env_lines"
  export SELFDB_TEST_DATABASE_URL=$SELFDB_PG_URL SELFDB_TEST_MEMCACHED=$SELFDB_MEMCACHED
  echo "test: postgres $SELFDB_TEST_DATABASE_URL, memcached $SELFDB_TEST_MEMCACHED" >&2
fi

set +e
# shellcheck disable=SC2086 # flags and packages are word lists
"$GO" test $flags $pkgs
rc=$?
set -e
exit "$rc"
