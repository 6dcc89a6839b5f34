#!/usr/bin/env bash
# A real PostgreSQL behind breakwater: installs the server if missing, then runs
# examples/postgres's integration run (steady traffic; the server is killed,
# restarted and frozen mid-run). The run starts its own throwaway cluster on a
# loopback port, as `nobody` when we are root; the trap below removes it even
# if the run is killed.
set -euo pipefail
cd "$(dirname "$0")/../.."

pg_bin() {
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return; fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}
if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
  echo "PostgreSQL not found: installing it with apt-get"
  if [ "$(id -u)" != 0 ]; then echo "need root to install postgresql" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
export PG_BIN
PG_BIN="$(pg_bin)"
echo "using PostgreSQL from $PG_BIN: $("$PG_BIN/postgres" --version)"

workdir="$(mktemp -d /tmp/breakwater-pg.XXXXXX)" # under /tmp: the server user must be able to reach it
chmod 755 "$workdir"
cleanup() {
  # Stop any server the run left behind, by the pid in its own pid file, then remove everything.
  for pidfile in "$workdir"/*/data/postmaster.pid; do
    [ -f "$pidfile" ] || continue
    pid="$(head -n 1 "$pidfile")"
    kill -CONT "$pid" 2>/dev/null || true
    kill -QUIT "$pid" 2>/dev/null || true
  done
  sleep 0.5
  rm -rf "$workdir"
}
trap cleanup EXIT
export PG_WORKDIR="$workdir"

# The example depends on breakwater through file:../.., i.e. on the built dist/.
[ -f dist/index.js ] || npm run build
npm ci --prefix examples/postgres --no-audit --no-fund
npm run --prefix examples/postgres typecheck
npm test --prefix examples/postgres
