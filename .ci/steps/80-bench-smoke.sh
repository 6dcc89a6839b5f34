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

# The fleet bench (bench/fleet.mjs, its own redis-server on loopback) in --quick
# mode: it must run to its end and measure every target (no row "not built
# yet", ratios printed); whether the targets are met is not asserted here.
if ! node bench/fleet.mjs --quick > "$out" 2>&1; then
  cat "$out"
  echo "bench smoke: the fleet bench crashed"
  exit 1
fi
targets=$(sed -n '/^## Targets/,$p' "$out" | grep -E '^\| .* \| +(PASS|MISS) \|' || true)
if ! grep -qE '^[0-9]+ of [0-9]+ fleet targets met' "$out" || ! echo "$targets" | grep -q '×' || echo "$targets" | grep -q 'not built yet'; then
  cat "$out"
  echo "bench smoke: the fleet bench did not measure every target"
  exit 1
fi
grep -E '^[0-9]+ of [0-9]+ fleet targets met' "$out" | sed 's/^/bench smoke (fleet, quick, not asserted): /'
rm -f "$out"
