#!/usr/bin/env bash
# The portable suite (test/portable) in a browser: headless Chromium from
# Debian's packages loads the built ESM package over a loopback HTTP server
# (test/portable/browser.mjs) and asserts it runs on the Chromium asked for.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -f dist/index.js ]; then npm run build; fi
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
node test/portable/browser.mjs
