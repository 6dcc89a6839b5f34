#!/usr/bin/env bash
# The docs as users read them (tools/docs-check/check.mjs): every relative link
# in README.md, docs/, bench/ and examples/*/README.md points at a file that
# exists and, for a #anchor, at a heading there (GitHub's id rules); every
# ts/js code block of README.md and docs/*.md and every TSDoc @example in src/
# compiles against the BUILT package's types, all in one TypeScript program.
# Its own folder pins pg's and Node's types for the database examples; the
# compiler is the root's typescript. selftest.mjs first proves the check still
# finds what it should (tools/docs-check/fixtures: one passing tree, one with
# every kind of problem).
set -euo pipefail
cd "$(dirname "$0")/../.."

[ -f dist/index.js ] && [ -f dist/index.d.ts ] || npm run build
npm ci --prefix tools/docs-check --no-audit --no-fund --loglevel=error
node tools/docs-check/selftest.mjs
node tools/docs-check/check.mjs
