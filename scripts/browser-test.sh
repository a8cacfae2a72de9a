#!/usr/bin/env bash
# The officer console end to end (tests/browser/): the real server loaded with simulated scans,
# driven in Debian's headless Chromium by playwright-core. Installs Chromium (apt) and the test's
# npm packages when missing; every step is bounded in time. Screenshots: target/browser-test/.
#
# SCANTRIAGE_BIN names the binary to test; by default target/debug/scantriage, which `cargo build`
# brings up to date first.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

if [ ! -x /usr/bin/chromium ]; then
    echo "browser-test: installing Debian's chromium"
    timeout 300 $sudo apt-get update -qq
    timeout 600 $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

pinned=$(node -p 'require("./tests/browser/package.json").dependencies["playwright-core"]')
installed=$(node -p 'require("./tests/browser/node_modules/playwright-core/package.json").version' 2>/dev/null || true)
if [ "$pinned" != "$installed" ]; then
    echo "browser-test: npm ci in tests/browser"
    (cd tests/browser && timeout 300 npm ci --no-audit --no-fund --loglevel=error)
fi

if [ -z "${SCANTRIAGE_BIN:-}" ]; then
    timeout 1200 cargo build --bin scantriage
    export SCANTRIAGE_BIN=target/debug/scantriage
fi

timeout 300 node --test --test-reporter=spec tests/browser/console.test.mjs
