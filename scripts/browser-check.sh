#!/usr/bin/env bash
# The /docs page and GraphiQL (/graphql) in a real browser: Debian's Chromium driven by playwright-core, against a
# seeded server on SQLite, with no internet needed. Installs Chromium (apt) and playwright-core
# (npm, pinned in scripts/browser/package.json) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PORT="${AGORA_BROWSER_PORT:-18091}"
BASE="http://127.0.0.1:$PORT"
NODE_DIR="${AGORA_BROWSER_NODE_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/agora-browser-check}"

if ! command -v chromium >/dev/null; then
    echo "installing chromium (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
mkdir -p "$NODE_DIR"
cp scripts/browser/package.json scripts/browser/docs-check.mjs scripts/browser/graphiql-check.mjs "$NODE_DIR/"
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

export AGORA_DATABASE_URL="sqlite://$WORK/docs.db" AGORA_LISTEN="127.0.0.1:$PORT"
"$AGORA" seed --users 20 --posts 100 --products 30 >/dev/null
"$AGORA" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -sf "$BASE/readyz" >/dev/null && break; sleep 0.2; done
node "$NODE_DIR/docs-check.mjs" "$BASE"
node "$NODE_DIR/graphiql-check.mjs" "$BASE"
