#!/usr/bin/env bash
# Makes sure what `make test` needs is running: PostgreSQL and Redis on loopback, Chromium, and
# bubblewrap (the code verifier's sandbox).
# Starts them when installed but stopped; installs them with apt-get when missing and we are root.
set -euo pipefail

have_port() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() {
  echo "installing $* with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 || {
    as_root apt-get update -q >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
}
wait_port() { for _ in $(seq 1 60); do have_port "$1" && return 0; sleep 0.5; done; echo "port $1 never opened" >&2; return 1; }

if ! have_port 5432; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql; fi
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  wait_port 5432
  # Trust auth on loopback for the test role, as the CI machine has it.
  if ! psql -h 127.0.0.1 -U postgres -c 'select 1' >/dev/null 2>&1; then
    hba=/etc/postgresql/$ver/main/pg_hba.conf
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
  fi
fi
echo "postgresql: up on 127.0.0.1:5432"

if ! have_port 6379; then
  command -v redis-server >/dev/null || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no >/dev/null
  wait_port 6379
fi
echo "redis: up on 127.0.0.1:6379"

if [ ! -x /usr/bin/chromium ]; then apt_install chromium chromium-driver; fi
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo missing)"

if ! command -v bwrap >/dev/null; then apt_install bubblewrap; fi
echo "bubblewrap: $(bwrap --version 2>/dev/null || echo missing)"
