#!/usr/bin/env bash
# Builds everything (the page's WASM included) and starts the server on the
# embedded SQLite database ./executor.db. Extra arguments go to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build-site.sh
target="${CARGO_TARGET_DIR:-target}"
exec "$target/debug/executor" serve "$@"
