#!/usr/bin/env bash
# Agora read benchmark on PostgreSQL.
#
# Seeds a dedicated database, starts the release server pinned to CPU 0, drives it with wrk
# pinned to CPU 1, and prints requests/s and latency percentiles for:
#   GET /v2/users/{id}                      by id
#   GET /v2/users?limit=20                  first cursor page
#   GET /v2/users?limit=20&cursor=…         a cursor page 4,000 pages deep
#   GET /v1/users?page=4000&per_page=20     the same depth by page number (OFFSET + COUNT)
# plus pgbench -S on the same machine as a ceiling for the by-id read, and the server's peak RSS.
#
# Usage: bash bench/run.sh   (env: USERS=100000 DURATION=10s CONNECTIONS=64; AGORA_BIN=path skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

USERS="${USERS:-100000}"
POSTS="${POSTS:-0}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
PORT="${PORT:-18080}"
PGHOST_URL="${PGHOST_URL:-postgres://postgres@127.0.0.1:5432}"
DB="agora_bench"

require_tools wrk taskset psql pgbench curl
bash scripts/services.sh >/dev/null
agora_binary

psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
export AGORA_DATABASE_URL="$PGHOST_URL/$DB"
export AGORA_LISTEN="127.0.0.1:$PORT"
export AGORA_RATE_LIMIT_ENABLED=false
export AGORA_DB_MAX_CONNECTIONS="${DB_CONNECTIONS:-16}"
export RUST_LOG=warn

echo "== seeding $USERS users, $POSTS posts"
"$BIN" seed --users "$USERS" --posts "$POSTS" --products 1000

taskset -c 0 "$BIN" serve >/tmp/agora-bench.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
wait_for_server "http://127.0.0.1:$PORT" "agora" /tmp/agora-bench.log 10

echo "== walking 4,000 cursor pages to get a deep cursor"
DEEP=$(python3 - "$PORT" <<'PY'
import json, sys, urllib.request, urllib.parse
port = sys.argv[1]
url = f"http://127.0.0.1:{port}/v2/users?limit=20"
cursor = None
for _ in range(3999):
    u = url + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
    with urllib.request.urlopen(u) as r:
        cursor = json.load(r)["pagination"]["next_cursor"]
print(cursor)
PY
)
MID=$(( USERS / 2 ))

run() {
  local name="$1" path="$2"
  local out
  out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT$path")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '%-34s %12s req/s   p50 %-9s p99 %s\n' "$name" "$rps" "$p50" "$p99"
}

echo "== wrk: $CONNECTIONS connections, $DURATION each, server on CPU 0, load on CPU 1"
run "GET /v2/users/{id}" "/v2/users/$MID"
run "GET /v2/users?limit=20" "/v2/users?limit=20"
run "GET /v2/users?cursor=<4000 deep>" "/v2/users?limit=20&cursor=$DEEP"
run "GET /v1/users?page=4000&per_page=20" "/v1/users?page=4000&per_page=20"
echo "server peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$SERVER/status)"

echo "== pgbench -S (select-only ceiling), same connections, load on CPU 1"
psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS agora_pgbench" -c "CREATE DATABASE agora_pgbench"
pgbench -q -i -s 10 -h 127.0.0.1 -U postgres agora_pgbench >/dev/null 2>&1
secs="${DURATION%s}"
taskset -c 1 pgbench -S -n -c "$CONNECTIONS" -j 1 -T "$secs" -h 127.0.0.1 -U postgres agora_pgbench 2>/dev/null \
  | awk '/^tps/ {print "pgbench -S: " $3 " tps"}'
