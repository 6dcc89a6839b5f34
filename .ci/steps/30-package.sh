#!/usr/bin/env bash
# The package as users get it (tools/pack-check/check.mjs): publint --strict and
# attw on the `npm pack` tarball; require('breakwater') and import('breakwater')
# from a scratch project that installs it (on Node 20/22/24/26, Deno, Bun), whose published types tsc checks
# (node16 CJS + ESM, bundler) and whose declared value exports must be the real ones; one
# sourceMappingURL per entry; `npm publish --dry-run`'s file list; a dated CHANGELOG section for
# the version; a retry-only bundle free of every other policy and a core bundle free of the other
# exports, each within its min+gzip budget; TSDoc on every export.
# Problems in tools/pack-check/known-gaps.json are printed, not failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -f dist/index.js ] || [ ! -f dist/index.cjs ]; then npm run build; fi
npm ci --prefix tools/pack-check --no-audit --no-fund --loglevel=error
# Node 22/24/26, Deno and Bun, to resolve the tarball the way each of them does (20-runtimes may have installed them).
if [ ! -x tools/runtimes/node_modules/.bin/bun ] || [ ! -x tools/runtimes/node_modules/node26/bin/node ]; then
  npm ci --prefix tools/runtimes --no-audit --no-fund --loglevel=error
fi
node tools/pack-check/check.mjs
