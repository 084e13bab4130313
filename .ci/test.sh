#!/usr/bin/env bash
# `make test`: runs `go test` against real PostgreSQL and memcached, then,
# when it passed, each Go fuzz target (func FuzzXxx) of those packages for a
# short while. SELFDB_TEST_DATABASE_URL + SELFDB_TEST_MEMCACHED name existing
# services; otherwise throwaway ones are started in a fresh /tmp directory on
# free ports and stopped afterwards, whatever the outcome. The functions tests
# run real Deno: DENO_PATH, else deno on PATH, else the copy .ci/deno.sh
# installs under bin/tools/deno. go test's exit code is the script's, or 1
# when a fuzzer found a failing input (left in the package's
# testdata/fuzz/FuzzXxx/ to reproduce with go test, and commit).
#   GOTEST_PKGS   packages (default ./...)
#   GOTEST_FLAGS  flags (default -race -count=1 -timeout 20m)
#   FUZZTIME      per fuzz target (default 5s, or Nx for N inputs; 0 skips)
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/lib.sh

GO=${GO:-go}
pkgs=${GOTEST_PKGS:-./...}
flags=${GOTEST_FLAGS:--race -count=1 -timeout 20m}
fuzztime=${FUZZTIME:-5s}

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

# deadline_race reports whether a fuzz run's only failure (in its output
# file) is Go's own race at the end of -fuzztime (go.dev/issue/75804, fixed in
# Go 1.27): "context deadline exceeded" with no failing input written, no
# panic, no message from the target.
deadline_race() {
  grep -q '^    context deadline exceeded$' "$1" &&
    ! grep -Evq '^(fuzz: .*|--- FAIL: Fuzz.*|    context deadline exceeded|FAIL|exit status [0-9]+)$' "$1"
}

# fuzz runs every fuzz target of $pkgs for $fuzztime, one after the other:
# go test -fuzz takes one target of one package, so each package's
# instrumented test binary is built once (go test -c -fuzz) and run per
# target from the package directory, as go test would, with go test's
# corpus cache. The builds run in the background, one after the other, each
# overlapping the fuzzing of the packages before it. Workers: GOMAXPROCS.
fuzz() {
  local dir cache rc=0 n=0 t0=$SECONDS i pkg pdir t start status execs
  local -a fpkgs=() fdirs=()
  dir=$(mktemp -d /tmp/selfdb-fuzz.XXXXXX)
  cache=$("$GO" env GOCACHE)/fuzz
  # shellcheck disable=SC2086 # packages are a word list
  while read -r pkg pdir; do
    if grep -qs '^func Fuzz' "$pdir"/*_test.go; then fpkgs+=("$pkg") fdirs+=("$pdir"); fi
  done < <("$GO" list -f '{{.ImportPath}} {{.Dir}}' $pkgs)
  (
    for i in "${!fpkgs[@]}"; do
      "$GO" test -c -fuzz . -o "$dir/$i.test" "${fpkgs[$i]}" >"$dir/$i.build" 2>&1
      echo $? >"$dir/$i.rc"
    done
  ) &
  for i in "${!fpkgs[@]}"; do
    pkg=${fpkgs[$i]} pdir=${fdirs[$i]}
    while [ ! -s "$dir/$i.rc" ]; do sleep 0.2; done
    if [ "$(cat "$dir/$i.rc")" != 0 ]; then
      cat "$dir/$i.build"; echo "fuzz: FAIL $pkg: build"; rc=1; continue
    fi
    for t in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing\.F).*/\1/p' "$pdir"/*_test.go); do
      start=$SECONDS n=$((n + 1))
      (cd "$pdir" && "$dir/$i.test" -test.run '^$' -test.fuzz "^$t\$" -test.fuzztime "$fuzztime" \
        -test.fuzzcachedir "$cache/$pkg") >"$dir/out" 2>&1
      status=$?
      execs=$(grep -o 'execs: [0-9]*' "$dir/out" | tail -n 1)
      if [ "$status" != 0 ] && deadline_race "$dir/out"; then
        status=0 execs="${execs:-no execs}; the deadline race of go.dev/issue/75804 ignored"
      fi
      if [ "$status" = 0 ]; then
        echo "fuzz: ok   $pkg $t $((SECONDS - start))s${execs:+ ($execs)}"
      else
        cat "$dir/out"
        echo "fuzz: FAIL $pkg $t (a new failing input is saved in $pdir/testdata/fuzz/$t/)"
        rc=1
      fi
    done
  done
  wait
  rm -rf "$dir"
  echo "fuzz: $n targets, $fuzztime each, $((SECONDS - t0))s"
  return "$rc"
}

set +e
# shellcheck disable=SC2086 # flags and packages are word lists
"$GO" test $flags $pkgs
rc=$?
# -test.fuzztime 0 would mean no limit: 0, 0s and 0x skip the step.
if [ "$rc" -eq 0 ] && ! [[ $fuzztime =~ ^0+[sx]?$ ]]; then
  fuzz
  rc=$?
fi
set -e
exit "$rc"
