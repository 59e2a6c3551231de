#!/usr/bin/env bash
# The feed on a seeded social graph: the first page and a page 1,000 pages deep, side by side
# in alternating rounds (requests/s and p99), on PostgreSQL.
#
# Seeds USERS users, POSTS posts and FOLLOWS follows per user, signs in as a user in the middle,
# walks 1,000 cursor pages to get the deep cursor, then drives both pages with wrk. The server
# is pinned to CPU 0 and wrk to CPU 1.
#
# Usage: bash bench/feed.sh
#   env: USERS=2000  POSTS=1000000  FOLLOWS=50  DEPTH=1000  ROUNDS=3  DURATION=5s
#        CONNECTIONS=32  PORT=18092
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

USERS="${USERS:-2000}"
POSTS="${POSTS:-1000000}"
FOLLOWS="${FOLLOWS:-50}"
DEPTH="${DEPTH:-1000}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-32}"
PORT="${PORT:-18092}"
DB="agora_bench_feed"

require_tools wrk taskset psql curl python3
bash scripts/services.sh >/dev/null
agora_binary

psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
export AGORA_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export AGORA_LISTEN="127.0.0.1:$PORT" AGORA_RATE_LIMIT_ENABLED=false RUST_LOG=warn
"$BIN" seed --users "$USERS" --posts "$POSTS" --products 0 --follows "$FOLLOWS"
psql -q -h 127.0.0.1 -U postgres -d "$DB" -c "ANALYZE"

taskset -c 0 "$BIN" serve >/tmp/agora-bench-feed.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
base="http://127.0.0.1:$PORT"
wait_for_server "$base" agora /tmp/agora-bench-feed.log
TOKEN=$(curl -sf -X POST "$base/v2/auth/token" -H 'content-type: application/json' \
  -d "{\"grant_type\":\"password\",\"email\":\"user$((USERS / 2))@example.com\",\"password\":\"password123\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])')

# The cursor DEPTH pages deep.
cursor=""
for _ in $(seq 1 "$DEPTH"); do
  url="$base/v2/feed?limit=20${cursor:+&cursor=$cursor}"
  cursor=$(curl -sf "$url" -H "Authorization: Bearer $TOKEN" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["pagination"].get("next_cursor") or "")')
  [ -n "$cursor" ] || { echo "the feed ended before $DEPTH pages; raise POSTS or FOLLOWS" >&2; exit 1; }
done

# one PATH: "requests/s p99" of PATH.
one() {
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$base$1" \
    | awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} END {print rps, p99}'
}

echo "== GET /v2/feed: first page vs $DEPTH pages deep ($USERS users, $POSTS posts, $FOLLOWS follows each)"
first=() deep=()
for round in $(seq 1 "$ROUNDS"); do
  f=$(one "/v2/feed?limit=20") d=$(one "/v2/feed?limit=20&cursor=$cursor")
  first+=("${f%% *}") deep+=("${d%% *}")
  printf 'round %d   first page %9s req/s p99 %8s   deep page %9s req/s p99 %8s\n' \
    "$round" "${f%% *}" "${f##* }" "${d%% *}" "${d##* }"
done
mf=$(median "${first[@]}") md=$(median "${deep[@]}")
printf 'median    first page %9s req/s   deep page %9s req/s   deep/first %.3f\n' "$mf" "$md" "$(echo "$md / $mf" | bc -l)"
