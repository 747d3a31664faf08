#!/usr/bin/env bash
# The browser test of the web UI: installs what it needs on a fresh machine (Debian's chromium and a CJK font,
# the pinned playwright-core from npm — never a browser download), builds the `onething` binary if needed, and
# drives the whole open-transport-company life. Prints a last line `e2e: N passed, M failed`.
set -euo pipefail
cd "$(dirname "$0")/.."

fonts="$(fc-list 2>/dev/null || true)"
if [ ! -x /usr/bin/chromium ] || ! grep -qiE 'noto sans cjk|wenquanyi|wqy' <<<"$fonts"; then
  echo "== e2e: installing chromium and a CJK font (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q chromium fonts-noto-cjk
fi

echo "== e2e: npm ci (playwright-core, pinned)"
(cd e2e && npm ci --no-audit --no-fund --loglevel=error)

if [ -z "${ONETHING_BIN:-}" ]; then
  echo "== e2e: cargo build --bin onething"
  cargo build --bin onething ${CARGO_LOCKED:+--locked}
  ONETHING_BIN="$(pwd)/target/debug/onething"
fi
export ONETHING_BIN

echo "== e2e: the open-transport-company life in headless chromium"
set +e
(cd e2e && node --test --test-reporter=spec ui.test.mjs) 2>&1 | tee /tmp/onething-e2e.log
status=${PIPESTATUS[0]}
set -e
passed=$(grep -cE '^✔ ' /tmp/onething-e2e.log || true)
failed=$(grep -cE '^✖ ' /tmp/onething-e2e.log | head -1 || true)
# node's spec reporter repeats failing tests in its summary: count each test name once.
failed=$(grep -E '^✖ ' /tmp/onething-e2e.log | sort -u | grep -vc '^✖ failing tests' || true)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "e2e: ${passed} passed, ${failed} failed"
exit "$status"
