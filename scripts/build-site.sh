#!/usr/bin/env bash
# Builds the page's browser bundle into target/site/pkg (WASM + JS + CSS, with
# brotli and gzip copies), then the server. Plain cargo + wasm-bindgen: see
# docs/build.md for why not cargo-leptos.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
site="target/site/pkg"
cargo build -p frontend --target wasm32-unknown-unknown --profile wasm-release
rm -rf "$site" && mkdir -p "$site"
wasm-bindgen --target web --no-typescript --remove-name-section \
  --out-dir "$site" --out-name runs "$target/wasm32-unknown-unknown/wasm-release/frontend.wasm"
cp style/main.css "$site/runs.css"
# Content-hashed names, so browsers may cache them for a year; the server
# reads the current name from bundle.txt.
hash=$(cat "$site/runs.js" "$site/runs_bg.wasm" "$site/runs.css" | sha256sum | cut -c1-12)
name="runs.$hash"
mv "$site/runs.js" "$site/$name.js"
mv "$site/runs_bg.wasm" "$site/${name}_bg.wasm"
mv "$site/runs.css" "$site/$name.css"
echo "$name" > "$site/bundle.txt"
for f in "$site/$name.js" "$site/${name}_bg.wasm" "$site/$name.css"; do
  gzip -9 -k -f "$f"
  if command -v brotli >/dev/null; then brotli -q 11 -f -k "$f"; fi
done
echo "site: $site/$name.* ($(stat -c %s "$site/${name}_bg.wasm.br" 2>/dev/null || echo '?') bytes of brotli WASM)"
# SITE_ONLY=1: the bundle alone (scripts/cross-checkout.sh builds one in a
# second checkout for the server of the first).
if [ -z "${SITE_ONLY:-}" ]; then
  cargo build -p server ${SERVER_PROFILE:+--profile "$SERVER_PROFILE"}
fi
