#!/usr/bin/env bash
# Runs every test: domain unit and property tests, the store suite on SQLite
# and PostgreSQL, the HTTP API tests and fault tests of the real binary,
# schemathesis against the OpenAPI document, and the browser tests in
# headless Chromium. PostgreSQL is expected at TEST_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/test); setup starts it if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --test
./scripts/build-site.sh
cargo test -p app -p server --features app/ssr,app/test-support
./scripts/schemathesis.sh
(cd end2end && npm test)
echo "screenshots: $(pwd)/end2end/screenshots"
