#!/usr/bin/env bash
# Issue 12 item 2: a server and a page bundle built from the same commit in
# two different checkout paths must still talk. Leptos names a server
# function's route after a hash that includes the build directory unless the
# function has an explicit endpoint (app/src/runs/api.rs). This clones the
# commit to another path, builds the bundle there, and runs one browser test
# whose clicks call server functions, with this checkout's server. The
# clone has the committed HEAD: uncommitted changes are in the server only.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
target="${CARGO_TARGET_DIR:-$repo/target}"
other=$(mktemp -d)/elsewhere
trap 'rm -rf "$(dirname "$other")"' EXIT
git clone -q "$repo" "$other"
(cd "$other" && CARGO_TARGET_DIR="$target" SITE_ONLY=1 ./scripts/build-site.sh)
echo "cross-checkout: server from $repo, bundle from $other"
(cd end2end && SITE_ROOT="$other/target/site" EXECUTOR_BIN="$target/debug/executor" \
  node --test --test-concurrency=1 --test-name-pattern 'clicking a facet' tests/runs-page.test.mjs)
