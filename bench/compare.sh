#!/usr/bin/env bash
# Two builds of the server side by side on one read, in alternating rounds (this machine's
# speed drifts between runs, so only figures taken in the same run compare).
#
# Seeds PostgreSQL once, then for each round starts BASE_BIN and NEW_BIN in turn, pinned to
# CPU 0, and drives each with wrk pinned to CPU 1. Prints every round and the medians.
#
# Usage: BASE_BIN=/path/to/old/agora bash bench/compare.sh
#   env: NEW_BIN=path (default: this checkout's release build)  ROUNDS=6  DURATION=5s
#        CONNECTIONS=64  USERS=100000  TARGET=/v2/users/{mid}  PORT=18090
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

: "${BASE_BIN:?set BASE_BIN to the binary to compare against}"
ROUNDS="${ROUNDS:-6}"
DURATION="${DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-64}"
USERS="${USERS:-100000}"
PORT="${PORT:-18090}"
DB="agora_compare"

require_tools wrk taskset psql curl
bash scripts/services.sh >/dev/null
if [ -z "${NEW_BIN:-}" ]; then
  agora_binary
  NEW_BIN="$BIN"
fi
TARGET="${TARGET:-/v2/users/$((USERS / 2))}"

psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
export AGORA_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export AGORA_LISTEN="127.0.0.1:$PORT" AGORA_RATE_LIMIT_ENABLED=false RUST_LOG=warn
"$NEW_BIN" seed --users "$USERS" --posts 0 --products 10 >/dev/null

# one BIN: requests/s of TARGET served by BIN.
one() {
  taskset -c 0 "$1" serve >/tmp/agora-compare.log 2>&1 &
  local server=$!
  wait_for_server "http://127.0.0.1:$PORT" "$1" /tmp/agora-compare.log 10
  curl -sf "http://127.0.0.1:$PORT$TARGET" >/dev/null
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$PORT$TARGET" | awk '/Requests\/sec/ {print $2}'
  kill "$server"
  wait "$server" 2>/dev/null || true
}

echo "== GET $TARGET: $ROUNDS alternating rounds of $DURATION, $CONNECTIONS connections"
base=() new=()
for round in $(seq 1 "$ROUNDS"); do
  b=$(one "$BASE_BIN") n=$(one "$NEW_BIN")
  base+=("$b") new+=("$n")
  printf 'round %d   base %10s req/s   new %10s req/s\n' "$round" "$b" "$n"
done
mb=$(median "${base[@]}") mn=$(median "${new[@]}")
printf 'median    base %10s req/s   new %10s req/s   new/base %.3f\n' "$mb" "$mn" "$(echo "$mn / $mb" | bc -l)"
