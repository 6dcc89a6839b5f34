#!/usr/bin/env bash
# The portable suite (test/portable) against the BUILT package on every runtime
# the README promises: Node 20 (the machine's; kept while `engines` says >=20),
# Node 22, 24 and 26 (the Active LTS), Deno 2, Bun 1.
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
exit $status
