#!/usr/bin/env bash
# Lists that touch many rows, on PostgreSQL: the first cursor page against page 2 with a
# total, page 4,000, search with and without a total, for users and for posts; then a
# single-row read with and without a stream of sign-ups, and the server's peak RSS.
#
# Seeds USERS users and POSTS posts, then pins the server AND PostgreSQL to CPU 0 and wrk to
# CPU 1 (the database does the work in these requests, so it shares the server's core, as it
# would on a one-core host). Every request kind runs once per round, in turn, so the machine's
# drift hits them alike; the table shows medians and each one's ratio to the first page.
#
# Usage: bash bench/lists.sh
#   env: USERS=100000  POSTS=1000000  ROUNDS=3  DURATION=5s  CONNECTIONS=64  SIGNUPS=8
#        PORT=18093  SKIP_SEED=1 (reuse the database of the previous run)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

USERS="${USERS:-100000}"
POSTS="${POSTS:-1000000}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-64}"
SIGNUPS="${SIGNUPS:-8}"
PORT="${PORT:-18093}"
DB="agora_bench_lists"

require_tools wrk taskset psql curl python3 pgrep
bash scripts/services.sh >/dev/null
agora_binary

export AGORA_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export AGORA_LISTEN="127.0.0.1:$PORT" AGORA_RATE_LIMIT_ENABLED=false RUST_LOG=warn
if [ -z "${SKIP_SEED:-}" ]; then
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
  "$BIN" seed --users "$USERS" --posts "$POSTS" --products 0
fi
# Fresh statistics and visibility maps: what autovacuum would have done by now.
psql -q -h 127.0.0.1 -U postgres -d "$DB" -c "VACUUM ANALYZE"

pin_postgres() { for p in $(pgrep -x postgres); do taskset -a -p -c "$1" "$p" >/dev/null 2>&1 || true; done; }
pin_postgres 0
taskset -c 0 "$BIN" serve >/tmp/agora-bench-lists.log 2>&1 &
server=$!
signups=""
cleanup() {
  [ -n "$signups" ] && kill "$signups" 2>/dev/null
  kill "$server" 2>/dev/null || true
  pin_postgres 0-"$(($(nproc) - 1))"
}
trap cleanup EXIT
base="http://127.0.0.1:$PORT"
wait_for_server "$base" agora /tmp/agora-bench-lists.log
# Backends started from now on inherit the postmaster's pinning; pin the ones already there.
pin_postgres 0

# one PATH: "requests/s p99" of PATH.
one() {
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "$base$1" \
    | awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} END {print rps, p99}'
}

# ms: wrk's latency with its unit, in milliseconds.
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; printf "%.2f", n }'; }

# check PATH: the request answers 200 (a benchmark of errors measures nothing).
check() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' "$base$1")
  [ "$code" = 200 ] || { echo "GET $1 answered $code" >&2; exit 1; }
}

mid=$((USERS / 2))
names=(
  "users: first cursor page"
  "users: page 2 with total"
  "users: page 4,000"
  "users: search with total"
  "users: search, no total"
  "posts: first cursor page"
  "posts: page 2 with total"
  "posts: page 4,000"
  "posts: search with total"
  "posts: search, no total"
)
paths=(
  "/v2/users?limit=20"
  "/v1/users?page=2&per_page=20&sort=-created_at"
  "/v1/users?page=4000&per_page=20&sort=-created_at"
  "/v1/users?q=user%2012&page=1&per_page=20&sort=-created_at"
  "/v2/users?q=user%2012"
  "/v2/posts?limit=20"
  "/v1/posts?page=2&per_page=20"
  "/v1/posts?page=4000&per_page=20"
  "/v1/posts?q=post%20123&page=1&per_page=20"
  "/v2/posts?q=post%20123"
)
for p in "${paths[@]}" "/v2/users/$mid"; do check "$p"; done
echo "== totals: $(curl -s "$base/v1/users?page=2&per_page=20" | python3 -c 'import json,sys; p=json.load(sys.stdin)["pagination"]; print("users", p["total"], "estimate" if p["total_is_estimate"] else "exact")'), \
$(curl -s "$base/v1/posts?page=2&per_page=20" | python3 -c 'import json,sys; p=json.load(sys.stdin)["pagination"]; print("posts", p["total"], "estimate" if p["total_is_estimate"] else "exact")')"

declare -A rps p99
echo "== lists ($USERS users, $POSTS posts; server and PostgreSQL on CPU 0, $CONNECTIONS connections)"
for round in $(seq 1 "$ROUNDS"); do
  for i in "${!paths[@]}"; do
    r=$(one "${paths[$i]}")
    rps[$i]="${rps[$i]:-} ${r%% *}"
    p99[$i]="${p99[$i]:-} $(ms "${r##* }")"
    printf 'round %d  %-28s %9s req/s  p99 %8s\n' "$round" "${names[$i]}" "${r%% *}" "${r##* }"
  done
done

# The single-row read, alone and while SIGNUPS sign-ups per second arrive (each an Argon2
# hash: 19 MiB and tens of milliseconds of a core).
signup_load() {
  taskset -c 1 python3 - "$base" "$SIGNUPS" <<'PY' &
import json, sys, threading, time, urllib.request, uuid
base, rate = sys.argv[1], float(sys.argv[2])
def one():
    body = json.dumps({"name": "Load", "email": f"load-{uuid.uuid4().hex}@example.com",
                       "password": "correct horse battery"}).encode()
    req = urllib.request.Request(base + "/v2/users", body, {"content-type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=30).read()
    except Exception:
        pass
nxt = time.monotonic()
while True:
    threading.Thread(target=one, daemon=True).start()
    nxt += 1.0 / rate
    time.sleep(max(0.0, nxt - time.monotonic()))
PY
  signups=$!
}
# peak: the server's peak RSS in MiB since the last reset (writing 5 to clear_refs resets it).
peak() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$server/status"; }
reset_peak() { echo 5 >"/proc/$server/clear_refs" 2>/dev/null || true; }
rss_lists=$(peak)
# A fresh server for the single-row reads: its memory is then that workload's, not what the
# list runs (or start-up's OpenAPI rendering) left resident. Peaks are taken from a reset
# after a warm-up.
kill "$server"; wait "$server" 2>/dev/null || true
taskset -c 0 "$BIN" serve >>/tmp/agora-bench-lists.log 2>&1 &
server=$!
wait_for_server "$base" agora /tmp/agora-bench-lists.log
DURATION=2s one "/v2/users/$mid" >/dev/null
rss_start=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$server/status")
echo "== GET /v2/users/$mid, alone and with $SIGNUPS sign-ups/s"
rss_alone=0 rss_busy=0
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
for round in $(seq 1 "$ROUNDS"); do
  reset_peak
  a=$(one "/v2/users/$mid")
  rss_alone=$(max "$rss_alone" "$(peak)")
  reset_peak
  signup_load
  sleep 1
  b=$(one "/v2/users/$mid")
  kill "$signups" 2>/dev/null; wait "$signups" 2>/dev/null || true; signups=""
  rss_busy=$(max "$rss_busy" "$(peak)")
  rps[alone]="${rps[alone]:-} ${a%% *}" p99[alone]="${p99[alone]:-} $(ms "${a##* }")"
  rps[busy]="${rps[busy]:-} ${b%% *}" p99[busy]="${p99[busy]:-} $(ms "${b##* }")"
  printf 'round %d  alone %9s req/s p99 %8s   with sign-ups %9s req/s p99 %8s\n' \
    "$round" "${a%% *}" "${a##* }" "${b%% *}" "${b##* }"
done
created=$(psql -qtA -h 127.0.0.1 -U postgres -d "$DB" -c "SELECT COUNT(*) FROM users WHERE name = 'Load'")

echo
echo "| request | req/s | p99 | vs first page |"
echo "|---|---:|---:|---:|"
for i in "${!paths[@]}"; do
  m=$(median ${rps[$i]})
  p=$(median ${p99[$i]})
  first=$([ "$i" -lt 5 ] && median ${rps[0]} || median ${rps[5]})
  printf '| %s | %.0f | %s ms | %.0f%% |\n' "${names[$i]}" "$m" "$p" "$(echo "100 * $m / $first" | bc -l)"
done
ma=$(median ${rps[alone]}) mb=$(median ${rps[busy]})
printf '| GET /v2/users/{id} | %.0f | %s ms | |\n' "$ma" "$(median ${p99[alone]})"
printf '| GET /v2/users/{id} with %s sign-ups/s | %.0f | %s ms | %.0f%% of alone |\n' "$SIGNUPS" "$mb" "$(median ${p99[busy]})" "$(echo "100 * $mb / $ma" | bc -l)"
echo
echo "peak RSS: ${rss_lists} MiB over the list runs (start-up included); fresh server after warm-up ${rss_start} MiB,"
echo "          peak ${rss_alone} MiB over the single-row reads alone, ${rss_busy} MiB with sign-ups ($created sign-ups created)"
