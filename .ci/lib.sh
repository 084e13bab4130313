# shellcheck shell=bash
# Shell helpers shared by the .ci scripts (sourced, not run).

# as_root runs a command as root (directly, or with sudo).
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# apt_install installs Debian packages quietly; progress goes to stderr.
apt_install() {
  echo "ci: installing $* with apt" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -o DPkg::Lock::Timeout=120 -qq >&2 || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=120 "$@" >&2
}

# need CMD [PACKAGE] installs PACKAGE (default CMD) when CMD is missing.
need() { command -v "$1" >/dev/null 2>&1 || apt_install "${2:-$1}" >/dev/null; }

# port_free reports whether nothing listens on the loopback port.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port prints a loopback port nobody listens on.
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( (RANDOM % 20000) + 30000 ))
    if port_free "$p"; then echo "$p"; return; fi
  done
  echo "ci: no free port found" >&2; return 1
}

# secret prints N random bytes as hex.
secret() {
  if command -v openssl >/dev/null 2>&1; then openssl rand -hex "$1"
  else head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; echo; fi
}
