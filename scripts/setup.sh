#!/usr/bin/env bash
# Installs what a fresh machine lacks, idempotently: the wasm32 target, the
# wasm-bindgen CLI matching the pinned crate, brotli, and (with --test)
# Chromium, the end-to-end test packages and a running PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
WASM_BINDGEN_VERSION=0.2.130

apt_install() {
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    sudo apt-get update -qq >/dev/null
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}

rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  # `cargo install wasm-bindgen-cli --locked` fails: its lockfile names a
  # webpki-roots release the registry no longer serves. Build it from the
  # crate source with that one dependency pinned back (docs/build.md).
  echo "setup: building wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  work=$(mktemp -d)
  cargo new -q "$work/fetch"
  (cd "$work/fetch" && cargo add -q "wasm-bindgen-cli@=$WASM_BINDGEN_VERSION" && cargo fetch -q)
  src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/wasm-bindgen-cli-"$WASM_BINDGEN_VERSION" | head -1)
  cp -r "$src" "$work/cli"
  (cd "$work/cli" && cargo update -q -p webpki-roots --precise 1.0.10 && cargo install -q --path . --locked)
  rm -rf "$work"
fi

missing=()
command -v brotli >/dev/null || missing+=(brotli)
if [ "${1:-}" = "--test" ]; then
  command -v chromium >/dev/null || missing+=(chromium)
  command -v node >/dev/null || missing+=(nodejs npm)
  # script(1) gives the CLI's interactive test a pseudo-terminal.
  command -v script >/dev/null || missing+=(bsdutils)
  # schemathesis and the Python MCP SDK run from virtualenvs.
  python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt_install "${missing[@]}"
fi

if [ "${1:-}" = "--test" ]; then
  (cd end2end && npm ci --no-audit --no-fund --silent)
  # The MCP client written elsewhere (server/tests/mcp.rs): the official
  # Python SDK, pinned, in the shared target dir.
  mcp_venv="${CARGO_TARGET_DIR:-target}/mcp-venv"
  if [ ! -x "$mcp_venv/bin/python" ] || ! "$mcp_venv/bin/python" -c 'import mcp' 2>/dev/null; then
    echo "setup: installing the Python MCP SDK (mcp 2.3.0) into $mcp_venv (once)"
    python3 -m venv "$mcp_venv"
    "$mcp_venv/bin/pip" install -q "mcp==2.3.0"
  fi
  # The MCP server written elsewhere (server/tests/sources.rs): the
  # reference "everything" server from npm, pinned.
  everything="${CARGO_TARGET_DIR:-target}/mcp-everything"
  if [ ! -x "$everything/node_modules/.bin/mcp-server-everything" ]; then
    echo "setup: installing @modelcontextprotocol/server-everything 2026.8.31 into $everything (once)"
    mkdir -p "$everything"
    npm install --prefix "$everything" --no-audit --no-fund --silent \
      "@modelcontextprotocol/server-everything@2026.8.31"
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    echo "setup: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
    for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
  fi
fi
