#!/usr/bin/env bash
# Runs every test: domain unit and property tests, the store suite on SQLite
# and PostgreSQL, the HTTP API tests and fault tests of the real binary,
# schemathesis against the OpenAPI document, the browser tests in headless
# Chromium, and one of them with a bundle built in another checkout.
# PostgreSQL is expected at TEST_POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432/test); setup starts it if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --test
./scripts/build-site.sh
cargo test -p app -p server --features app/ssr,app/test-support
./scripts/schemathesis.sh
# Rebuilds the bundle in a second checkout (under a minute with a warm
# cache): a server and a bundle of one commit built in two paths must still
# talk. Before the full browser suite, whose summary closes the run.
./scripts/cross-checkout.sh
(cd end2end && npm test)
echo "screenshots: $(pwd)/end2end/screenshots"
