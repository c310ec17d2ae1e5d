#!/usr/bin/env bash
# Builds everything (the page's WASM included) and starts the server on the
# embedded SQLite database ./executor.db. The server is a release build:
# what a user runs should be as fast as docs/performance.md says (the tests
# use debug builds). Extra arguments go to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
SERVER_PROFILE=release ./scripts/build-site.sh
target="${CARGO_TARGET_DIR:-target}"
exec "$target/release/executor" serve "$@"
