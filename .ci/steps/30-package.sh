#!/usr/bin/env bash
# The package as users get it (tools/pack-check/check.mjs): publint --strict and
# attw on the `npm pack` tarball; require('breakwater') and import('breakwater')
# from a scratch project that installs it (on Node 20/22/24, Deno, Bun), whose published types tsc checks
# (node16 CJS + ESM, bundler); a retry-only bundle free of every other policy;
# TSDoc on every export. Problems in tools/pack-check/known-gaps.json are printed, not failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -f dist/index.js ] || [ ! -f dist/index.cjs ]; then npm run build; fi
npm ci --prefix tools/pack-check --no-audit --no-fund --loglevel=error
# Node 22/24, Deno and Bun, to resolve the tarball the way each of them does (20-runtimes may have installed them).
if [ ! -x tools/runtimes/node_modules/.bin/bun ] || [ ! -x tools/runtimes/node_modules/node24/bin/node ]; then
  npm ci --prefix tools/runtimes --no-audit --no-fund --loglevel=error
fi
node tools/pack-check/check.mjs
