#!/usr/bin/env bash
# The overload simulation (examples/overload, `npm run overload`): a queueing
# downstream on a discrete-event clock, driven at 0.5-5x its capacity, with no
# limit, fixed bulkheads, AdaptiveLimiter (gradient, vegas, aimd) and
# AdaptiveThrottle + retry. Deterministic (seeded): it exits non-zero when any
# of its targets fails. test/overload.test.ts runs the same code with looser bounds.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
npm run --silent overload -- --svg "$out/overload.svg"
test -s "$out/overload.svg"
rm -rf "$out"
