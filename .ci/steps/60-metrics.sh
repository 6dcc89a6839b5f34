#!/usr/bin/env bash
# examples/metrics against the BUILT package: installs its own dependencies
# (OpenTelemetry, from its lock), runs the example for a moment on a free local
# port, and checks that /metrics serves well-formed Prometheus text with the
# expected metric names, and that the OpenTelemetry instruments got data points.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -f dist/index.js ]; then npm run build; fi
npm ci --prefix examples/metrics --no-audit --no-fund --loglevel=error
cd examples/metrics
timeout 60 node check.mjs
