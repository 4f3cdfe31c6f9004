#!/bin/sh
# The whole test suite: type-check, lint, unit tests, then integration tests as root with real
# runc and overlayfs (each test run uses its own root, exec root and socket, and cleans up).
set -eu
cd "$(dirname "$0")/.."
./scripts/install-peers.sh
echo "== typecheck"; npm run -s typecheck
echo "== lint"; npm run -s lint
echo "== unit tests"; node --test --test-reporter=spec dist/test/unit/
echo "== contract tests"; node --test --test-concurrency=1 --test-reporter=spec dist/test/contract/
echo "== integration tests"; node --test --test-concurrency=1 --test-reporter=spec dist/test/integration/
