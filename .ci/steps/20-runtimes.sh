#!/usr/bin/env bash
# The portable suite (test/portable) against the BUILT package on every runtime
# the README promises: Node 20 (the machine's; kept while `engines` says >=20),
# Node 22, 24 and 26 (the Active LTS), Deno 2, Bun 1; and Bun's built-in Redis
# client as a fleet store (examples/redis/bun.mjs).
# The other runtimes come from npm through tools/runtimes (its lock pins them).
# Each run asserts the runtime it is on, so one that fell back to another fails.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -f dist/index.js ] || [ ! -f dist/index.cjs ]; then npm run build; fi

# tools/runtimes/package-lock.json lists the platform packages of deno that the
# registry here does not serve (os/cpu-filtered, never fetched on linux-x64);
# keep them when regenerating the lock, or `npm ci` refuses it.
npm ci --prefix tools/runtimes --no-audit --no-fund --loglevel=error

bin=tools/runtimes/node_modules
status=0
check() {
  local runtime=$1
  shift
  echo "--- $runtime: $*"
  if ! "$@" test/portable/run.mjs --runtime="$runtime"; then
    echo "FAILED on $runtime"
    status=1
  fi
}

# The runtime check itself: Node told it is Bun, and Bun told it is Node 22, must refuse to run.
for pair in "bun1 node" "node22 $bin/.bin/bun"; do
  set -- $pair
  if "${@:2}" test/portable/run.mjs --runtime="$1" >/dev/null 2>&1; then
    echo "FAILED: ${*:2} ran the suite while told to be $1"
    status=1
  fi
done

check node20 node
check node22 "$bin/node22/bin/node"
check node24 "$bin/node24/bin/node"
check node26 "$bin/node26/bin/node"
check deno2 "$bin/.bin/deno" run --quiet --no-prompt --allow-read=.
check bun1 "$bin/.bin/bun"

# Bun's built-in Redis client as a fleet store's `send` (examples/redis/bun.mjs),
# against a redis-server of this step's own on a free loopback port.
echo "--- bun1: createRedisStore with Bun.RedisClient"
if ! command -v redis-server >/dev/null 2>&1; then
  echo "FAILED: redis-server not found (.ci/run installs it)"
  status=1
else
  redis_port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  redis_log="$(mktemp)"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir /tmp --loglevel warning >"$redis_log" 2>&1 &
  redis_pid=$!
  trap 'kill "$redis_pid" 2>/dev/null || true; rm -f "$redis_log"' EXIT
  if ! REDIS_URL="redis://127.0.0.1:$redis_port" timeout 60 "$bin/.bin/bun" examples/redis/bun.mjs; then
    echo "FAILED: Bun.RedisClient as a store; redis-server said:"
    cat "$redis_log"
    status=1
  fi
  kill "$redis_pid" 2>/dev/null || true
  wait "$redis_pid" 2>/dev/null || true
fi
exit $status
