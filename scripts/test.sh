#!/usr/bin/env bash
# `make test`: lint, type-check, start the test stack on its own ports and data dir, run unit
# and integration tests against it, and stop it again whatever the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
export CACHESYNC_TEST_STACK_DIR="${CACHESYNC_TEST_STACK_DIR:-$PWD/.cachesync/test-stack}"
export CACHESYNC_TEST_BASE_PORT="${CACHESYNC_TEST_BASE_PORT:-23300}"
stack=("$bin/cachesync" stack --data-dir "$CACHESYNC_TEST_STACK_DIR" --base-port "$CACHESYNC_TEST_BASE_PORT")

echo "== ruff" >&2
"$bin/ruff" check .
echo "== mypy (strict)" >&2
"$bin/mypy"

echo "== test stack up ($CACHESYNC_TEST_STACK_DIR, base port $CACHESYNC_TEST_BASE_PORT)" >&2
trap '"${stack[@]}" down || true' EXIT
"${stack[@]}" up
"${stack[@]}" status

echo "== pytest" >&2
"$bin/pytest" -p no:cacheprovider "$@"
