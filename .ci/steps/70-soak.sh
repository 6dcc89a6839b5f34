#!/usr/bin/env bash
# Soak: a million calls through a pipeline of every policy, 20% failing, against
# the BUILT package. Fails if the heap grows by more than 4 MB, or if a listener,
# a timer or an unsettled call is left over (scripts/soak.mjs). About 30 s of CPU.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -f dist/index.js ]; then npm run build; fi
node --expose-gc scripts/soak.mjs --calls 1000000
