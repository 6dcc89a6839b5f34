#!/usr/bin/env bash
# examples/metrics against the BUILT package: installs its own dependencies
# (the OpenTelemetry SDK and Prometheus exporter, prom-client, from its lock),
# type-checks that an @opentelemetry/api Meter (and the SDK's, and the
# prom-client adapter) passes to instrument() as it is, then runs check.mjs:
# a scripted incident on two pipelines, instrumented with both meters, whose
# /metrics endpoints it scrapes over HTTP, asserting every value exactly.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -f dist/index.js ]; then npm run build; fi
npm ci --prefix examples/metrics --no-audit --no-fund --loglevel=error
cd examples/metrics
node ../../node_modules/typescript/bin/tsc -p tsconfig.json
echo "types: an @opentelemetry/api Meter, the SDK's and the prom-client adapter fit instrument()'s meter"
timeout 60 node check.mjs
