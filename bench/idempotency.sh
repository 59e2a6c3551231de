#!/usr/bin/env bash
# What an Idempotency-Key costs: POST /v2/posts without a key and with a fresh key per request
# (so every request reserves, writes and completes a record), side by side in alternating rounds
# on one server, for the database store (the default) on PostgreSQL.
#
# The server is pinned to CPU 0 and wrk to CPU 1. Prints every round and the medians.
#
# Usage: bash bench/idempotency.sh
#   env: ROUNDS=4  DURATION=5s  CONNECTIONS=32  PORT=18091  BACKEND=database|redis|memory
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS="${ROUNDS:-4}"
DURATION="${DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-32}"
PORT="${PORT:-18091}"
BACKEND="${BACKEND:-database}"
DB="agora_bench_idem"

require_tools wrk taskset psql curl python3
bash scripts/services.sh >/dev/null
agora_binary

psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
export AGORA_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export AGORA_LISTEN="127.0.0.1:$PORT" AGORA_RATE_LIMIT_ENABLED=false RUST_LOG=warn
export AGORA_IDEMPOTENCY_BACKEND="$BACKEND" AGORA_REDIS_URL="${AGORA_REDIS_URL:-redis://127.0.0.1:6379}"
"$BIN" seed --users 10 --posts 0 --products 0 >/dev/null

taskset -c 0 "$BIN" serve >/tmp/agora-bench-idem.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
wait_for_server "http://127.0.0.1:$PORT" agora /tmp/agora-bench-idem.log
TOKEN=$(curl -sf -X POST "http://127.0.0.1:$PORT/v2/auth/token" -H 'content-type: application/json' \
  -d '{"grant_type":"password","email":"user1@example.com","password":"password123"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])')

script=$(mktemp --suffix .lua)
cat >"$script" <<LUA
wrk.method = "POST"
wrk.path = "/v2/posts"
wrk.body = '{"title":"bench","content":"an idempotent write"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
local keyed = os.getenv("KEYED") == "1"
local n = 0
local prefix = tostring(math.random(1, 1e9)) .. "-" .. tostring(os.time())
request = function()
  if keyed then
    n = n + 1
    wrk.headers["Idempotency-Key"] = prefix .. "-" .. n
  end
  return wrk.format()
end
LUA

one() {
  KEYED="$1" taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s "$script" "http://127.0.0.1:$PORT" \
    | awk '/Requests\/sec/ {print $2}'
}

echo "== POST /v2/posts ($BACKEND store): $ROUNDS alternating rounds of $DURATION, $CONNECTIONS connections"
plain=() keyed=()
for round in $(seq 1 "$ROUNDS"); do
  p=$(one 0) k=$(one 1)
  plain+=("$p") keyed+=("$k")
  printf 'round %d   no key %9s req/s   fresh key %9s req/s\n' "$round" "$p" "$k"
done
mp=$(median "${plain[@]}") mk=$(median "${keyed[@]}")
printf 'median    no key %9s req/s   fresh key %9s req/s   keyed/plain %.3f\n' "$mp" "$mk" "$(echo "$mk / $mp" | bc -l)"
rm -f "$script"
