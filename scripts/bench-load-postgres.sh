#!/usr/bin/env bash
# Copies the SQLite benchmark history (target/bench/runs_bench_N.db, built by
# `cargo bench -p app --features ssr --bench store -- --db sqlite --runs N`)
# into PostgreSQL database runs_bench_N, so the PostgreSQL query figures are
# taken over exactly the same rows. Ingest through the store is measured
# separately (see docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1000000}"
src="target/bench/runs_bench_${runs}.db"
db="runs_bench_${runs}"
admin="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
url="${admin%/*}/${db}"
bench="${BENCH_BIN:?set BENCH_BIN to the store bench executable}"
[ -f "$src" ] || { echo "no $src; run the SQLite benchmark first" >&2; exit 2; }

psql -q "$admin" -c "DROP DATABASE IF EXISTS ${db} WITH (FORCE)" -c "CREATE DATABASE ${db}"
"$bench" --db postgres --runs "$runs" --schema-only

copy() { # table, select, extra COPY options
  sqlite3 -csv "$src" "$2" | psql -q "$url" -c "\\copy $1 FROM STDIN WITH (FORMAT csv${3:-})"
}
copy "execution (id, scope_id, status, code, result_json, error_text, logs_json, trigger_kind, trigger_meta_json, tool_call_count, had_elicitation, created_at, started_at, completed_at, duration_ms, updated_at)" \
  "SELECT id, scope_id, status, code, result_json, error_text, logs_json, trigger_kind, trigger_meta_json, tool_call_count, had_elicitation, created_at, started_at, completed_at, duration_ms, updated_at FROM execution"
copy "execution_code_search (scope_id, execution_id, code)" "SELECT scope_id, id, code FROM execution"
copy "execution_tool_call (id, execution_id, scope_id, status, tool_path, namespace, args_json, result_json, error_text, started_at, completed_at, duration_ms)" \
  "SELECT id, execution_id, scope_id, status, tool_path, namespace, args_json, result_json, error_text, started_at, completed_at, duration_ms FROM execution_tool_call"
copy "execution_tool_path (scope_id, execution_id, tool_path, created_at, status)" \
  "SELECT scope_id, execution_id, tool_path, created_at, status FROM execution_tool_path"
copy "tool_path_catalog (scope_id, tool_path)" "SELECT scope_id, tool_path FROM tool_path_catalog"
for t in execution_quarter_hourly execution_hourly; do
  copy "$t (scope_id, slot_start, status, trigger_kind, had_elicitation, runs)" \
    "SELECT scope_id, slot_start, status, trigger_kind, had_elicitation, runs FROM $t" ", FORCE_NOT_NULL (trigger_kind)"
done
for t in tool_hourly tool_daily; do
  copy "$t (scope_id, slot_start, tool_path, status, runs)" "SELECT scope_id, slot_start, tool_path, status, runs FROM $t"
done
psql -q "$url" -c "VACUUM ANALYZE"
echo "loaded $db"
