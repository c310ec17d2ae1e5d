#!/usr/bin/env bash
# Checks the OpenAPI document against the running server with schemathesis
# (every check: server errors, status codes, content types, response
# schemas, schema-valid requests accepted, schema-invalid ones refused).
# Installs a pinned schemathesis into a virtualenv under the target dir
# once, serves the debug build on a fresh SQLite file with the demo tools,
# and fails on any finding. SCHEMATHESIS_SEED repeats a run; the default
# seed is fixed so the test command is repeatable (change it to explore).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
venv="$target/schemathesis-4.32.5"
if [ ! -x "$venv/bin/schemathesis" ]; then
  echo "schemathesis: installing 4.32.5 into $venv (once)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q schemathesis==4.32.5
fi
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$target/debug/executor" serve --addr "127.0.0.1:$port" --database-url "sqlite://$work/executor.db" \
  --demo-tools --secret-key-file "$work/executor.key" >"$work/server.log" 2>&1 &
server=$!
trap '{ kill -9 $server; wait $server; } 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 200); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.05
done
# One worker: hypothesis' lambda introspection is not thread-safe on
# Python 3.11 ("AST constructor recursion depth mismatch" with --workers 2).
status=0
(cd "$work" && "$venv/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
  --checks all --max-examples "${SCHEMATHESIS_EXAMPLES:-60}" --workers 1 \
  --seed "${SCHEMATHESIS_SEED:-20261201}" --no-color) || status=$?
exit $status
