#!/usr/bin/env bash
# graphql-http's server audits (the GraphQL-over-HTTP spec, MUST and SHOULD) against /graphql
# of a seeded server on SQLite. Installs graphql-http (npm, pinned in
# scripts/graphql/package.json) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PORT="${AGORA_GRAPHQL_AUDIT_PORT:-18092}"
BASE="http://127.0.0.1:$PORT"
NODE_DIR="${AGORA_GRAPHQL_AUDIT_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/agora-graphql-audit}"

mkdir -p "$NODE_DIR"
cp scripts/graphql/package.json scripts/graphql/audit.mjs "$NODE_DIR/"
(cd "$NODE_DIR" && npm install --silent --no-audit --no-fund >/dev/null)

cargo build --quiet -p agora-server --bin agora
AGORA="${CARGO_TARGET_DIR:-$ROOT/target}/debug/agora"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

export AGORA_DATABASE_URL="sqlite://$WORK/audit.db" AGORA_LISTEN="127.0.0.1:$PORT" AGORA_RATE_LIMIT_ENABLED=false
"$AGORA" seed --users 5 --posts 10 --products 5 >/dev/null 2>&1
"$AGORA" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -sf "$BASE/readyz" >/dev/null && break; sleep 0.2; done
node "$NODE_DIR/audit.mjs" "$BASE/graphql"
