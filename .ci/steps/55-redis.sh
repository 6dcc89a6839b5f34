#!/usr/bin/env bash
# examples/redis against the BUILT package and a real redis-server: installs
# its own clients from its lock (ioredis 6, node-redis 6), type-checks that both
# clients' one-line `send` adapters fit createRedisStore, then runs check.ts:
# two instances of one service, one per client, each in its own process, share
# a rate limit, a breaker and its half-open trial through a redis-server the
# check starts on a free loopback port (and stops). Any failed check fails CI.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server not found: installing it with apt-get"
  if [ "$(id -u)" != 0 ]; then echo "need root to install redis-server" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  service redis-server stop >/dev/null 2>&1 || true # the check starts its own
fi
echo "using $(redis-server --version)"

[ -f dist/index.js ] || npm run build
npm ci --prefix examples/redis --no-audit --no-fund --loglevel=error
npm run --prefix examples/redis --silent typecheck
echo "types: ioredis' call and node-redis' sendCommand fit createRedisStore's send"
cd examples/redis
timeout 120 node --import tsx check.ts
