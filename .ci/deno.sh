#!/usr/bin/env bash
# Prints the absolute path of a Deno binary for the functions runtime:
# $DENO_PATH when it is executable, else deno on PATH, else the copy under
# bin/tools/deno, which it installs (npm package deno, DENO_VERSION, default
# 2) when missing. npm comes from apt when missing. Progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/lib.sh

if [ -n "${DENO_PATH:-}" ] && [ -x "$DENO_PATH" ]; then
  echo "$DENO_PATH"
  exit 0
fi
if command -v deno >/dev/null 2>&1; then
  command -v deno
  exit 0
fi

dir=$PWD/bin/tools/deno
find_bin() {
  local p
  for p in "$dir/node_modules/deno/deno" "$dir"/node_modules/@deno/*/deno; do
    if [ -x "$p" ] && [ -f "$p" ]; then echo "$p"; return 0; fi
  done
  return 1
}
if ! find_bin >/dev/null; then
  need npm
  echo "deno: installing deno@${DENO_VERSION:-2} with npm into $dir" >&2
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "deno@${DENO_VERSION:-2}" >&2
fi
bin=$(find_bin) || { echo "deno: npm installed no usable binary under $dir" >&2; exit 1; }
"$bin" --version >/dev/null
echo "$bin"
