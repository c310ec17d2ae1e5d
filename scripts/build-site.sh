#!/usr/bin/env bash
# Builds the page's browser bundle into target/site/pkg (WASM + JS + CSS, with
# brotli and gzip copies), then the server. Plain cargo + wasm-bindgen: see
# docs/build.md for why not cargo-leptos.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
site="target/site/pkg"
cargo build -p frontend --target wasm32-unknown-unknown --profile wasm-release
mkdir -p "$site"
wasm-bindgen --target web --no-typescript --remove-name-section \
  --out-dir "$site" --out-name runs "$target/wasm32-unknown-unknown/wasm-release/frontend.wasm"
cp style/main.css "$site/runs.css"
for f in "$site"/runs.js "$site"/runs_bg.wasm "$site"/runs.css; do
  gzip -9 -k -f "$f"
  if command -v brotli >/dev/null; then brotli -q 11 -f -k "$f"; fi
done
cargo build -p server ${SERVER_PROFILE:+--profile "$SERVER_PROFILE"}
