#!/usr/bin/env bash
# Smoke test of the benchmarks (bench/): installs its pinned peers and runs
# every scenario once in --quick mode against the built package, so the bench
# keeps working as the code changes. Timings and targets are NOT asserted here
# (a shared CI machine cannot time reliably): only a crash fails this step.
# The real measurement is `npm run bench`.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -f dist/index.js ]; then npm run build; fi
npm ci --prefix bench --no-audit --no-fund --loglevel=error
out=$(mktemp)
if ! node --expose-gc bench/run.mjs --quick > "$out" 2>&1; then
  cat "$out"
  echo "bench smoke: the bench crashed"
  exit 1
fi
grep -E '^[0-9]+ of [0-9]+ targets met' "$out" | sed 's/^/bench smoke (quick, not asserted): /'
rm -f "$out"
