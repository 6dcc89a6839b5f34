#!/usr/bin/env bash
# The package as users get it (tools/pack-check/check.mjs): publint --strict and
# attw on the `npm pack` tarball; require('breakwater') and import('breakwater')
# from a scratch project that installs it, whose published types tsc checks
# (node16 CJS + ESM, bundler); a retry-only bundle free of every other policy;
# TSDoc on every export. Problems in tools/pack-check/known-gaps.json are printed, not failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -f dist/index.js ] || [ ! -f dist/index.cjs ]; then npm run build; fi
npm ci --prefix tools/pack-check --no-audit --no-fund --loglevel=error
node tools/pack-check/check.mjs
