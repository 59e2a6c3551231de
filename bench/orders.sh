#!/usr/bin/env bash
# Orders on one hot product: POST /v2/users/{id}/orders for one unit, each request with a fresh
# Idempotency-Key (required by default), on SQLite and on PostgreSQL in one run. Every order
# takes the same product's stock, so they all serialise on one row: this measures the cost of
# the all-or-nothing stock transaction under contention, not parallelism.
#
# The server is pinned to CPU 0 and wrk to CPU 1. Prints orders/s and p99 for each round, the
# medians, and checks afterwards that the stock taken equals the orders created.
#
# Usage: bash bench/orders.sh
#   env: ROUNDS=3  DURATION=5s  CONNECTIONS=64  PORT=18093
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-64}"
PORT="${PORT:-18093}"
PG_DB="agora_bench_orders"
STOCK=1000000000
BASE="http://127.0.0.1:$PORT"

require_tools wrk taskset psql curl python3
bash scripts/services.sh >/dev/null
agora_binary
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# run ENGINE URL: seeds, starts the server, runs the rounds, prints the medians.
run() {
  local engine="$1" url="$2"
  export AGORA_DATABASE_URL="$url" AGORA_LISTEN="127.0.0.1:$PORT" AGORA_RATE_LIMIT_ENABLED=false RUST_LOG=warn
  export AGORA_BOOTSTRAP_ADMIN_EMAIL=bench-admin@example.com AGORA_BOOTSTRAP_ADMIN_PASSWORD=bench-password
  "$BIN" seed --users 10 --posts 0 --products 0 >/dev/null
  taskset -c 0 "$BIN" serve >"$work/server-$engine.log" 2>&1 &
  server=$!
  wait_for_server "$BASE" "agora ($engine)" "$work/server-$engine.log"
  local admin token uid product
  admin=$(curl -sf -X POST "$BASE/v2/auth/token" -H 'content-type: application/json' \
    -d '{"grant_type":"password","email":"bench-admin@example.com","password":"bench-password"}' | json 'd["data"]["access_token"]')
  token=$(curl -sf -X POST "$BASE/v2/auth/token" -H 'content-type: application/json' \
    -d '{"grant_type":"password","email":"user1@example.com","password":"password123"}' | json 'd["data"]["access_token"]')
  uid=$(curl -sf "$BASE/v2/users/me" -H "Authorization: Bearer $token" | json 'd["data"]["id"]')
  product=$(curl -sf -X POST "$BASE/v2/products" -H "Authorization: Bearer $admin" -H 'content-type: application/json' \
    -d "{\"name\":\"hot\",\"category\":\"bench\",\"price\":1999,\"stock\":$STOCK}" | json 'd["data"]["id"]')

  cat >"$work/order.lua" <<LUA
wrk.method = "POST"
wrk.path = "/v2/users/$uid/orders"
wrk.body = '{"items":[{"product_id":$product,"quantity":1}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
local n = 0
local prefix = tostring(math.random(1, 1e9)) .. "-" .. tostring(os.time())
request = function()
  n = n + 1
  wrk.headers["Idempotency-Key"] = prefix .. "-" .. n
  return wrk.format()
end
local created, other = 0, 0
response = function(status)
  if status == 201 then created = created + 1 else other = other + 1 end
end
done = function() io.write(string.format("non201 %d\n", other)) end
LUA
  local rates=() p99s=()
  for round in $(seq 1 "$ROUNDS"); do
    local out rate p99 bad
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$work/order.lua" "$BASE")
    rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    # p99 in milliseconds (wrk prints us, ms or s).
    p99=$(awk '$1 == "99%" { v = $2; m = 1
      if (v ~ /us$/) { sub(/us$/, "", v); m = 0.001 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else { sub(/s$/, "", v); m = 1000 }
      printf "%.1f", v * m }' <<<"$out")
    bad=$(awk '/^non201/ {print $2}' <<<"$out")
    rates+=("$rate") p99s+=("$p99")
    printf '%-8s round %d   %9s orders/s   p99 %8s ms   non-201 answers %s\n' "$engine" "$round" "$rate" "$p99" "$bad"
  done
  local left orders
  sleep 2 # the requests in flight when wrk stopped finish first
  left=$(curl -sf "$BASE/v2/products/$product" | json 'd["data"]["stock"]')
  orders=$(curl -sf "$BASE/v1/users/$uid/orders?per_page=1" -H "Authorization: Bearer $token" | json 'd["pagination"]["total"]')
  printf '%-8s median    %9s orders/s   p99 %8s ms   stock taken %d, orders %d\n' "$engine" "$(median "${rates[@]}")" \
    "$(median "${p99s[@]}")" "$((STOCK - left))" "$orders"
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
}

echo "== POST /v2/users/{id}/orders, one hot product, fresh key per order: $ROUNDS rounds of $DURATION, $CONNECTIONS connections"
run sqlite "sqlite://$work/bench.db"
psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB"
run postgres "postgres://postgres@127.0.0.1:5432/$PG_DB"
