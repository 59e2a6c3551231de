#!/usr/bin/env bash
# What rate limiting costs: GET /v2/users/{id} on PostgreSQL with limiting off, in process and
# in Redis, side by side, plus redis-benchmark's raw EVALSHA rate for the same Lua script.
#
# Same method as bench/run.sh: a seeded PostgreSQL database, the release server pinned to CPU 0,
# wrk pinned to CPU 1. Each scenario starts a fresh server with its own TOML (--config) whose
# one policy covers every route, is keyed by `ip`, and has a limit so large that nothing is ever
# rejected (wrk's non-2xx count is shown to prove it), so the numbers are the cost of the check:
#
#   off                        [rate_limit] enabled = false
#   memory sliding_window_log  in-process store
#   memory token_bucket
#   redis  sliding_window_log  one EVALSHA per request (Redis at REDIS_URL, not pinned)
#   redis  token_bucket
#
# All wrk connections come from 127.0.0.1, so every request hits the same key: the worst case
# for contention (one memory shard, one Redis key; the sliding log's sorted set grows by one
# entry per request, up to rps × 60 s).
#
# Usage: bash bench/ratelimit.sh     (env: USERS=100000 DURATION=5s CONNECTIONS=64 PORT=18081
#                                           REDIS_URL=redis://127.0.0.1:6379 REQUESTS=100000)
set -euo pipefail
cd "$(dirname "$0")/.."

USERS="${USERS:-100000}"
DURATION="${DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-64}"
PORT="${PORT:-18081}"
PGHOST_URL="${PGHOST_URL:-postgres://postgres@127.0.0.1:5432}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
REQUESTS="${REQUESTS:-100000}"   # redis-benchmark requests per script
DB="agora_bench_rl"
LIMIT=100000000                  # x 60 s in µs stays under 2^53 (the Lua scripts' exact range)
WINDOW_US=60000000
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agora-target}"

for tool in wrk redis-cli redis-benchmark taskset psql curl; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
bash scripts/services.sh >/dev/null
cargo build --release --quiet -p agora-server --bin agora
BIN="$CARGO_TARGET_DIR/release/agora"

# Nothing from the caller's environment may override the per-scenario TOML.
while IFS= read -r var; do unset "$var"; done < <(env | awk -F= '/^AGORA_/ {print $1}')
export RUST_LOG=warn

REDIS_HOSTPORT="${REDIS_URL#redis://}"
REDIS_HOSTPORT="${REDIS_HOSTPORT%%/*}"
REDIS_HOST="${REDIS_HOSTPORT%%:*}"
REDIS_PORT="${REDIS_HOSTPORT##*:}"
[ "$REDIS_PORT" = "$REDIS_HOSTPORT" ] && REDIS_PORT=6379
rcli() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" "$@"; }

RUN="bench-$$-$RANDOM"           # policy names: this run's Redis keys are its own
WORK=$(mktemp -d)
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  rcli --scan --pattern "rl:*:$RUN*" 2>/dev/null | while IFS= read -r k; do rcli del "$k" >/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
DATABASE_URL="$PGHOST_URL/$DB"

# config NAME ENABLED BACKEND ALGORITHM: writes $WORK/NAME.toml
config() {
  local name="$1" enabled="$2" backend="$3" algorithm="$4"
  {
    echo "listen = \"127.0.0.1:$PORT\""
    echo "database_url = \"$DATABASE_URL\""
    echo "redis_url = \"$([ "$backend" = redis ] && echo "$REDIS_URL")\""
    echo "db_max_connections = ${DB_CONNECTIONS:-16}"
    echo "log_format = \"json\""
    echo
    echo "[rate_limit]"
    echo "enabled = $enabled"
    echo "backend = \"$backend\""
    echo "on_backend_error = \"deny\""   # a Redis failure shows up as non-2xx, not as silent fallback
    if [ "$enabled" = true ]; then
      echo
      echo "[[rate_limit.policy]]"
      echo "name = \"$RUN-$algorithm\""
      echo "algorithm = \"$algorithm\""
      echo "limit = $LIMIT"
      echo "window = \"60s\""
      echo "key = \"ip\""
      echo "principals = \"any\""
      echo "routes = [\"*\"]"
    fi
  } >"$WORK/$name.toml"
}

config off false memory sliding_window_log
echo "== seeding $USERS users"
"$BIN" --config "$WORK/off.toml" seed --users "$USERS" --posts 0 --products 10
MID=$(( USERS / 2 ))
PATH_ID="/v2/users/$MID"

printf '\n== wrk: %s connections, %s each, GET %s, server on CPU 0, load on CPU 1\n' "$CONNECTIONS" "$DURATION" "$PATH_ID"
printf '%-30s %12s %10s %10s %10s\n' "scenario" "req/s" "p50" "p99" "non-2xx"

# scenario LABEL CONFIG-NAME
scenario() {
  local label="$1" name="$2"
  taskset -c 0 "$BIN" --config "$WORK/$name.toml" serve >"$WORK/$name.log" 2>&1 &
  SERVER=$!
  local up=""
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then up=1; break; fi
    sleep 0.1
  done
  if [ -z "$up" ]; then
    echo "server for '$label' did not start:" >&2
    cat "$WORK/$name.log" >&2
    exit 1
  fi
  # Sanity: the one request we check by hand is 200, and carries headers iff limiting is on.
  local headers
  headers=$(curl -s -o /dev/null -D - "http://127.0.0.1:$PORT$PATH_ID")
  grep -q '^HTTP/1.1 200' <<<"$headers" || { echo "GET $PATH_ID failed for '$label':" >&2; echo "$headers" >&2; exit 1; }
  if [ "$name" != off ] && ! grep -qi '^x-ratelimit-limit:' <<<"$headers"; then
    echo "no rate-limit headers for '$label'" >&2; exit 1
  fi
  local out rps p50 p99 bad
  out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT$PATH_ID")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx or 3xx responses/ {print $NF}' <<<"$out")
  printf '%-30s %12s %10s %10s %10s\n' "$label" "$rps" "$p50" "$p99" "${bad:-0}"
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  SERVER=""
}

config memory-swl true memory sliding_window_log
config memory-tb true memory token_bucket
config redis-swl true redis sliding_window_log
config redis-tb true redis token_bucket
scenario "off" off
scenario "memory sliding_window_log" memory-swl
scenario "memory token_bucket" memory-tb
scenario "redis sliding_window_log" redis-swl
scenario "redis token_bucket" redis-tb

# The same script call the server makes, without the server: one key (the client's), ARGV =
# "" (server clock), "c" (commit), then algorithm code, limit, window µs, interval µs.
echo
echo "== redis-benchmark: EVALSHA of agora-ratelimit's check.lua, $REQUESTS requests, $CONNECTIONS connections, on CPU 1"
SHA=$(rcli script load "$(cat crates/agora-ratelimit/src/scripts/check.lua)")
INTERVAL_US=$(( (WINDOW_US + LIMIT - 1) / LIMIT ))
for alg in swl tb; do
  key="rl:{ip:127.0.0.1}:$RUN-redis-benchmark:$alg"
  rps=$(taskset -c 1 redis-benchmark -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REQUESTS" -c "$CONNECTIONS" -q \
          evalsha "$SHA" 1 "$key" "" c "$alg" "$LIMIT" "$WINDOW_US" "$INTERVAL_US" \
        | tr '\r' '\n' | awk '/requests per second/ {for (i = 1; i <= NF; i++) if ($i == "requests") print $(i-1)}' | tail -n1)
  printf '%-30s %12s req/s\n' "EVALSHA check.lua ($alg)" "$rps"
done
taskset -c 1 redis-benchmark -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REQUESTS" -c "$CONNECTIONS" -q -t ping_mbulk \
  | tr '\r' '\n' | awk '/requests per second/ {for (i = 1; i <= NF; i++) if ($i == "requests") print "PING (ceiling)                 " $(i-1) " req/s"}' | tail -n1

echo
echo "== the limiter alone (no HTTP, no database): agora-ratelimit's limiter_cost example"
cargo run --release --quiet -p agora-ratelimit --example limiter_cost -- "$REDIS_URL"
