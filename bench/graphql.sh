#!/usr/bin/env bash
# GraphQL against the REST calls a client needs for the same data, and subscription fan-out.
#
# 1. A page of 20 posts with each author's name and the comment count: one GraphQL request,
#    against REST's GET /v2/posts?limit=20 plus one GET /v2/users/{id} per distinct author
#    (REST has no batch lookup of users). Both are measured with wrk, in alternating rounds;
#    REST's pages/s is 1 / (1/posts_rate + authors/user_rate).
# 2. Deliveries per second of postCreated to N connected subscribers (node + ws).
#
# PostgreSQL, server pinned to CPU 0 and wrk (or node) to CPU 1.
#
# Usage: bash bench/graphql.sh
#   env: ROUNDS=3  DURATION=5s  CONNECTIONS=32  SUBSCRIBERS=1000  POSTS=20  PORT=18094
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-32}"
SUBSCRIBERS="${SUBSCRIBERS:-1000}"
POSTS="${POSTS:-20}"
PORT="${PORT:-18094}"
DB="agora_bench_graphql"
BASE="http://127.0.0.1:$PORT"
NODE_DIR="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/agora-bench-subscriptions"

require_tools wrk taskset psql curl python3 node npm
bash scripts/services.sh >/dev/null
agora_binary
mkdir -p "$NODE_DIR"
cp bench/graphql/package.json bench/graphql/subscribers.mjs "$NODE_DIR/"
(cd "$NODE_DIR" && npm install --silent --no-audit --no-fund >/dev/null)
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT

psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
export AGORA_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" AGORA_LISTEN="127.0.0.1:$PORT"
export AGORA_RATE_LIMIT_ENABLED=false RUST_LOG=warn
"$BIN" seed --users 1000 --posts 10000 --comments 20000 >/dev/null 2>&1
taskset -c 0 "$BIN" serve >"$work/server.log" 2>&1 &
server=$!
wait_for_server "$BASE" agora "$work/server.log"

page=$(curl -sf "$BASE/v2/posts?limit=20")
authors=$(python3 -c 'import json,sys; print(len({p["author_id"] for p in json.load(sys.stdin)["data"]}))' <<<"$page")
author=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["author_id"])' <<<"$page")
cat >"$work/gql.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"{ posts(limit: 20) { nodes { title commentsCount author { name } } } }"}'
LUA
rate() { taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "$@" | awk '/Requests\/sec/ {print $2}'; }

echo "== 20 posts with author and comment count: $ROUNDS rounds of $DURATION, $CONNECTIONS connections ($authors distinct authors)"
g=() r=()
for round in $(seq 1 "$ROUNDS"); do
  gq=$(rate -s "$work/gql.lua" "$BASE/graphql")
  lp=$(rate "$BASE/v2/posts?limit=20")
  gu=$(rate "$BASE/v2/users/$author")
  rest=$(python3 -c "print(round(1 / (1/$lp + $authors/$gu), 1))")
  g+=("$gq") r+=("$rest")
  printf 'round %d   GraphQL %9s pages/s   REST %9s pages/s   (list %s req/s, user %s req/s)\n' "$round" "$gq" "$rest" "$lp" "$gu"
done
printf 'median    GraphQL %9s pages/s   REST %9s pages/s\n' "$(median "${g[@]}")" "$(median "${r[@]}")"

echo "== postCreated to $SUBSCRIBERS subscribers, $POSTS posts"
token=$(curl -sf -X POST "$BASE/v2/auth/token" -H 'content-type: application/json' \
  -d '{"grant_type":"password","email":"user1@example.com","password":"password123"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])')
ulimit -n 65536 2>/dev/null || true
taskset -c 1 node "$NODE_DIR/subscribers.mjs" "$BASE" "$token" "$SUBSCRIBERS" "$POSTS"
