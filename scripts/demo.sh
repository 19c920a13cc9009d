#!/usr/bin/env bash
# `make demo`: the main job on the local stack (after scripts/bootstrap.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/cachesync demo "$@"
