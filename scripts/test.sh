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
# docker-py's suite (about 3 minutes, its dockerd in a network namespace of its own) runs beside the other
# integration files, which run one at a time; its report follows theirs. Every test daemon checks only
# what is its own on the host, so the two streams do not see each other's networks or processes.
echo "== integration tests"
dpy=dist/test/integration/conformance-dockerpy.test.js
dpy_log=$(mktemp /tmp/berth-dockerpy.XXXXXX)
node --test --test-reporter=spec "$dpy" >"$dpy_log" 2>&1 &
dpy_pid=$!
rest=$(ls dist/test/integration/*.test.js | grep -v "/conformance-dockerpy.test.js$")
rc=0
# shellcheck disable=SC2086
node --test --test-concurrency=1 --test-reporter=spec $rest || rc=$?
dpy_rc=0
wait "$dpy_pid" || dpy_rc=$?
echo "== integration tests: docker-py conformance"
cat "$dpy_log"
rm -f "$dpy_log"
[ "$rc" -eq 0 ] && [ "$dpy_rc" -eq 0 ]
