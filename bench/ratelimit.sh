#!/usr/bin/env bash
# What rate limiting costs: GET /v2/users/{id} with limiting off, in process and in Redis,
# all in one run, plus redis-benchmark's EVALSHA rate for the same Lua script, and
# a check of the two targets:
#
#   in-process  >= 95% of the requests/s with limiting off
#   Redis       >= 50% of redis-benchmark's EVALSHA rate for the same script
#
# Six servers run at once, one per scenario, each pinned to CPU 0 (only the one under load
# does any work); wrk is pinned to CPU 1:
#
#   off                        [rate_limit] enabled = false
#   off (control)              the same again: its ratio to "off" is the noise floor
#   memory sliding_window_log  in-process store
#   memory token_bucket
#   redis  sliding_window_log  one EVALSHA per request (Redis at REDIS_URL, not pinned)
#   redis  token_bucket
#
# The Redis targets are then checked a second way, on the whole machine (WHOLE_ROUNDS): the
# reference, redis-benchmark, has its client on one core and Redis on the other, so the
# "off" and Redis servers are unpinned and loaded by an unpinned two-thread wrk, with the
# server's and Redis's CPU time per request printed.
#
# Each has one policy over every route, keyed by `ip`, with a limit so large that nothing is
# rejected (the non-2xx column proves it), so the numbers are the cost of the check. All wrk
# connections come from 127.0.0.1, so every request hits the same key: the worst case for
# contention (one memory shard, one Redis key).
#
# Shared machines drift by tens of percent over a minute, more than the effect measured, so
# the scenarios run in ROUNDS short rounds, in a rotating order, and each scenario is compared
# with "off" within the same round; the verdicts use the median of those in-round ratios. The
# server's CPU time per request (user + system, from /proc) is printed too: on a saturated
# core it is the cost of a request, and its ratio to "off" is the same comparison measured
# without wrk in the loop. The "off (control)" row shows how far two identical servers drift
# apart; a difference smaller than that is not a measurement.
#
# Every round starts new server processes (FRESH=1, the default). Two processes of the same
# binary and configuration can differ by several percent for as long as they run (where the
# kernel and the allocator placed their memory, their hash seeds, how their threads happen to
# interleave on the core): kept for a whole run, one "off (control)" process measured
# 0.90-0.99 of "off" in run after run, a bias no number of rounds averages away. Started anew
# each round, those differences vary from round to round and the medians average them out:
# over 40 such rounds the control's median was 1.006. The in-process verdict also prints a 95%
# confidence interval for the median (from the order statistics of the rounds' ratios) and
# calls the target met only when the whole interval clears 0.95.
#
# (An earlier version also loaded "off" and the in-process servers at the same moment on one
# core. That is not a fair comparison: the scheduler shares the core between processes by
# their runnable threads, not by their cost per request, and two identical "off" servers
# loaded that way differed by up to 12%.)
#
# Usage: bash bench/ratelimit.sh
#   env: DB=sqlite|postgres (default sqlite, the embedded default)  USERS=20000  ROUNDS=30
#        FRESH=1 (new server processes every round; 0 keeps the first ones for the whole run)
#        WHOLE_ROUNDS=5 (the Redis scenarios on the whole machine; 0 skips them)
#        WHOLE_EVALSHA=60000 (redis-benchmark calls per script in each of those rounds)
#        DURATION=2s  CONNECTIONS=64  PORT=18081 (uses PORT..PORT+5)  REDIS_URL=redis://127.0.0.1:6379
#        REQUESTS=200000 (redis-benchmark requests per script)  AGORA_BIN=path (skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DB="${DB:-sqlite}"
USERS="${USERS:-20000}"
ROUNDS="${ROUNDS:-30}"
FRESH="${FRESH:-1}"
WHOLE_ROUNDS="${WHOLE_ROUNDS:-5}"
WHOLE_EVALSHA="${WHOLE_EVALSHA:-60000}"
DURATION="${DURATION:-2s}"
CONNECTIONS="${CONNECTIONS:-64}"
PORT="${PORT:-18081}"
PGHOST_URL="${PGHOST_URL:-postgres://postgres@127.0.0.1:5432}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
REQUESTS="${REQUESTS:-200000}"
LIMIT=100000000                  # x 60 s in µs stays under 2^53 (the Lua scripts' exact range)
WINDOW_US=60000000

require_tools wrk redis-cli redis-benchmark taskset curl
bash scripts/services.sh >/dev/null
agora_binary

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
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rcli --scan --pattern "rl:*$RUN*" 2>/dev/null | while IFS= read -r k; do rcli del "$k" >/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

case "$DB" in
  sqlite) DATABASE_URL="sqlite://$WORK/bench.db" ;;
  postgres)
    command -v psql >/dev/null || { echo "psql is required" >&2; exit 1; }
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS agora_bench_rl" -c "CREATE DATABASE agora_bench_rl"
    DATABASE_URL="$PGHOST_URL/agora_bench_rl" ;;
  *) echo "DB must be sqlite or postgres" >&2; exit 1 ;;
esac

NAMES=(off off-control memory-swl memory-tb redis-swl redis-tb)
LABELS=("off" "off (control)" "memory sliding_window_log" "memory token_bucket" "redis sliding_window_log" "redis token_bucket")

# config INDEX ENABLED BACKEND ALGORITHM: writes $WORK/NAME.toml for the scenario at INDEX
config() {
  local i="$1" enabled="$2" backend="$3" algorithm="$4"
  {
    echo "listen = \"127.0.0.1:$((PORT + i))\""
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
  } >"$WORK/${NAMES[$i]}.toml"
}
config 0 false memory sliding_window_log
config 1 false memory sliding_window_log
config 2 true memory sliding_window_log
config 3 true memory token_bucket
config 4 true redis sliding_window_log
config 5 true redis token_bucket

echo "== seeding $USERS users ($DB)"
RUST_LOG=error "$BIN" --config "$WORK/off.toml" seed --users "$USERS" --posts 0 --products 10
if [ "$DB" = postgres ]; then
  # Let the seed's aftermath (autovacuum, the checkpoint of its WAL) finish before measuring:
  # otherwise the first rounds run against a busy PostgreSQL.
  psql -q -h 127.0.0.1 -U postgres -d agora_bench_rl -c "VACUUM ANALYZE" -c "CHECKPOINT"
fi
PATH_ID="/v2/users/$(( USERS / 2 ))"

# start_servers CPUS: starts one server per scenario, all threads on CPUS, and warms each
# up. Every round starts new processes (see FRESH above); the first start also checks that
# each answers 200, with rate-limit headers iff limiting is on.
CHECKED=""
start_servers() {
  local cpus="$1" i url headers
  PIDS=()
  for i in "${!NAMES[@]}"; do
    taskset -c "$cpus" "$BIN" --config "$WORK/${NAMES[$i]}.toml" serve >"$WORK/${NAMES[$i]}.log" 2>&1 &
    PIDS+=("$!")
  done
  for i in "${!NAMES[@]}"; do
    url="http://127.0.0.1:$((PORT + i))$PATH_ID"
    wait_for_server "http://127.0.0.1:$((PORT + i))" "${LABELS[$i]}" "$WORK/${NAMES[$i]}.log" 10
    if [ -z "$CHECKED" ]; then
      headers=$(curl -s -o /dev/null -D - "$url")
      grep -q '^HTTP/1.1 200' <<<"$headers" || { echo "GET $PATH_ID failed for '${LABELS[$i]}':" >&2; echo "$headers" >&2; exit 1; }
      if [ "$i" -gt 1 ] && ! grep -qi '^x-ratelimit-limit:' <<<"$headers"; then
        echo "no rate-limit headers for '${LABELS[$i]}'" >&2; exit 1
      fi
    fi
    if [ "$cpus" = 0 ]; then
      taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d1s "$url" >/dev/null   # warm-up
    else
      wrk -t2 -c"$CONNECTIONS" -d1s "$url" >/dev/null
    fi
  done
  CHECKED=1
}
stop_servers() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)
RESULTS="$WORK/results.tsv"      # round, scenario index, req/s, CPU µs/request, non-2xx, p99
: >"$RESULTS"

printf '\n== wrk: %s rounds x %s per scenario, %s connections, GET %s, server on CPU 0, load on CPU 1\n' \
  "$ROUNDS" "$DURATION" "$CONNECTIONS" "$PATH_ID"
printf '%-6s' "round"
for l in "${LABELS[@]}"; do printf '%28s' "$l"; done
printf '\n'
for r in $(seq 1 "$ROUNDS"); do
  if [ "$FRESH" = 1 ] || [ "$r" = 1 ]; then stop_servers; start_servers 0; fi
  declare -A line=()
  for k in "${!NAMES[@]}"; do
    i=$(( (k + r) % ${#NAMES[@]} ))     # rotate the order so no scenario always runs first
    pid="${PIDS[$i]}"
    c1=$(cpu_ticks "$pid")
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$((PORT + i))$PATH_ID")
    c2=$(cpu_ticks "$pid")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    bad=$(awk '/Non-2xx or 3xx responses/ {print $NF}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    cpu=$(awk -v c=$((c2 - c1)) -v n="$n" -v t="$TCK" 'BEGIN { printf "%.1f", c / t * 1e6 / n }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$i" "$rps" "$cpu" "${bad:-0}" "$p99" >>"$RESULTS"
    line[$i]=$(printf '%.0f (%s µs)' "$rps" "$cpu")
  done
  printf '%-6s' "$r"
  for i in "${!NAMES[@]}"; do printf '%28s' "${line[$i]}"; done
  printf '\n'
  unset line
done
echo "(req/s, and in parentheses the server's CPU time per request)"

# The same script call the server makes, without the server: one key, ARGV = "" (server
# clock), "c" (commit), then algorithm code, limit, window µs, interval µs.
INTERVAL_US=$(( (WINDOW_US + LIMIT - 1) / LIMIT ))
SHA=$(rcli script load "$(cat crates/agora-ratelimit/src/scripts/check.lua)")
evalsha_rate() {
  local alg="$1" key="rl:{ip:127.0.0.1}:$RUN-redis-benchmark:$1"
  ${PIN-taskset -c 1} redis-benchmark -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REQUESTS" -c "$CONNECTIONS" -q \
      evalsha "$SHA" 1 "$key" "" c "$alg" "$LIMIT" "$WINDOW_US" "$INTERVAL_US" \
    | tr '\r' '\n' | awk '/requests per second/ {for (i = 1; i <= NF; i++) if ($i == "requests") print $(i-1)}' | tail -n1
}
# The Redis targets compare with redis-benchmark, which has the whole machine: its client on
# one core, Redis on the other. The rounds above give the server one core and make Redis share
# the other with wrk, a handicap the reference does not have. So the Redis scenarios are also
# run on the whole machine: the servers are unpinned (all their threads), wrk runs unpinned
# with two threads, and "off" runs beside them as the bound. The reference is measured inside
# each round too (redis-benchmark, unpinned, WHOLE_EVALSHA calls), and each Redis scenario is
# judged by the median of its in-round ratios to it: this machine's speed drifts by half
# between rounds, which a reference measured once would carry into the verdict. Redis's own
# CPU time per request is printed when Redis runs on this machine: the script's cost is paid
# on the same cores.
REDIS_PID=$(rcli info server 2>/dev/null | awk -F: '/^process_id:/ {gsub(/\r/, "", $2); print $2}')
[ -n "$REDIS_PID" ] && [ -r "/proc/$REDIS_PID/stat" ] || REDIS_PID=""
WHOLE=(0 4 5 6 7)                # off, Redis sliding log, Redis token bucket, EVALSHA swl, EVALSHA tb
WHOLE_LABELS=("off" "redis swl" "redis tb" "EVALSHA swl" "EVALSHA tb")
WHOLE_RESULTS="$WORK/whole.tsv"  # round, scenario index, req/s, server CPU µs/request, Redis CPU µs/request, non-2xx
: >"$WHOLE_RESULTS"
if [ "$WHOLE_ROUNDS" -gt 0 ]; then
  printf '\n== whole machine: %s rounds, servers and wrk (2 threads, %s) and redis-benchmark (%s calls) unpinned\n' \
    "$WHOLE_ROUNDS" "$DURATION" "$WHOLE_EVALSHA"
  printf '%-6s' "round"
  for l in "${WHOLE_LABELS[@]}"; do printf '%28s' "$l"; done
  printf '\n'
  for r in $(seq 1 "$WHOLE_ROUNDS"); do
    if [ "$FRESH" = 1 ] || [ "$r" = 1 ]; then stop_servers; start_servers 0,1; fi
    declare -A line=()
    for k in 0 1 2 3 4; do
      i=${WHOLE[$(( (k + r) % 5 ))]}
      rc1=$([ -n "$REDIS_PID" ] && cpu_ticks "$REDIS_PID" || echo 0)
      if [ "$i" -ge 6 ]; then
        rps=$(PIN="" REQUESTS="$WHOLE_EVALSHA" evalsha_rate "$([ "$i" = 6 ] && echo swl || echo tb)")
        n="$WHOLE_EVALSHA" cpu="-" bad=0
      else
        pid="${PIDS[$i]}"
        c1=$(cpu_ticks "$pid")
        out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$((PORT + i))$PATH_ID")
        c2=$(cpu_ticks "$pid")
        n=$(awk '/requests in/ {print $1}' <<<"$out")
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        bad=$(awk '/Non-2xx or 3xx responses/ {print $NF}' <<<"$out")
        cpu=$(awk -v c=$((c2 - c1)) -v n="$n" -v t="$TCK" 'BEGIN { printf "%.1f", c / t * 1e6 / n }')
      fi
      rc2=$([ -n "$REDIS_PID" ] && cpu_ticks "$REDIS_PID" || echo 0)
      rcpu=$(awk -v c=$((rc2 - rc1)) -v n="$n" -v t="$TCK" -v known="$REDIS_PID" 'BEGIN { if (known == "") print "-"; else printf "%.1f", c / t * 1e6 / n }')
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$i" "$rps" "$cpu" "$rcpu" "${bad:-0}" >>"$WHOLE_RESULTS"
      line[$i]=$(printf '%.0f (%s + %s µs)' "$rps" "$cpu" "$rcpu")
    done
    printf '%-6s' "$r"
    for i in "${WHOLE[@]}"; do printf '%28s' "${line[$i]}"; done
    printf '\n'
    unset line
  done
  echo "(req/s or calls/s, and in parentheses the server's and Redis's CPU time per request)"
fi

EVAL_SWL=()
EVAL_TB=()
for _ in 1 2 3; do
  EVAL_SWL+=("$(evalsha_rate swl)")
  EVAL_TB+=("$(evalsha_rate tb)")
done

median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{v[NR] = $1} END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The middle half of the values (first to third quartile, nearest rank): how far single rounds
# spread around the median. A verdict whose threshold lies inside the control's spread, or
# inside the scenario's own, is not decided by this run.
quartiles() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{v[NR] = $1} END { q1 = int((NR + 3) / 4); q3 = NR + 1 - q1; printf "%.3f-%.3f", v[q1], v[q3] }'; }
# A 95% confidence interval for the median: the values at ranks n/2 -/+ 1.96 sqrt(n)/2 of the
# sorted sample (the order-statistic interval; it assumes nothing about the distribution, only
# that rounds are independent, which fresh processes per round make them).
median_ci() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{v[NR] = $1} END {
  if (NR == 0) exit
  lo = int(NR / 2 - 0.98 * sqrt(NR)); hi = int(NR / 2 + 1 + 0.98 * sqrt(NR) + 0.999)
  if (lo < 1) lo = 1; if (hi > NR) hi = NR
  printf "%.3f %.3f", v[lo], v[hi] }'; }
col() { awk -F'\t' -v i="$1" -v c="$2" '$2 == i {print $c}' "$RESULTS" | tr '\n' ' '; }
# Ratio of scenario i to "off" within each round: req/s (scenario / off), or with CPU, the
# cost ratio (off's CPU per request / the scenario's), so that both read "1.0 = as fast".
ratios() {
  awk -F'\t' -v i="$1" '$2 == 0 {off[$1] = $3} $2 == i {s[$1] = $3} END {for (r in s) if (off[r] > 0) print s[r] / off[r]}' "$RESULTS" | tr '\n' ' '
}
cpu_ratios() {
  awk -F'\t' -v i="$1" '$2 == 0 {off[$1] = $4} $2 == i {s[$1] = $4} END {for (r in s) if (s[r] > 0) print off[r] / s[r]}' "$RESULTS" | tr '\n' ' '
}
# The Redis verdict: the scenario's req/s as a share of the EVALSHA rate, and whether it is at
# least half. The server with limiting off bounds every limited scenario, so where "off" is
# itself below half the EVALSHA rate the target cannot be met on this machine whatever the
# limiter does; the verdict then says so, with off's share.
OFF_RPS=$(col 0 3 | median)
redis_verdict() {
  awk -v a="$1" -v b="$2" -v off="$OFF_RPS" 'BEGIN {
    if (a >= 0.5 * b) v = "met"; else if (off < 0.5 * b) v = sprintf("NOT MET (off: %.0f%%)", 100 * off / b); else v = "NOT MET"
    printf "%.0f%% %s", 100 * a / b, v }'
}
MED_EVAL_SWL=$(echo "${EVAL_SWL[*]}" | median)
MED_EVAL_TB=$(echo "${EVAL_TB[*]}" | median)

printf '\n== medians over %s rounds ("vs off": in-round ratio of req/s; "CPU vs off": of CPU per request, off / scenario)\n' "$ROUNDS"
printf '%-30s %10s %10s %10s %13s %11s %9s %24s\n' "scenario" "req/s" "µs CPU/req" "vs off" "(middle half)" "CPU vs off" "non-2xx" "target"
for i in "${!NAMES[@]}"; do
  rps=$(col "$i" 3 | median)
  cpu=$(col "$i" 4 | median)
  bad=$(awk -F'\t' -v i="$i" '$2 == i {s += $5} END {print s + 0}' "$RESULTS")
  target="" vs="1.000" cvs="1.000" spread=""
  if [ "$i" -gt 0 ]; then
    vs=$(ratios "$i" | median | awk '{printf "%.3f", $1}')
    spread=$(ratios "$i" | quartiles)
    cvs=$(cpu_ratios "$i" | median | awk '{printf "%.3f", $1}')
  fi
  case "$i" in
    1) target=$(ratios "$i" | median_ci | awk '{printf "noise: CI %.3f-%.3f", $1, $2}') ;;
    2|3) target=$(ratios "$i" | median_ci | awk '{
           v = ($1 >= 0.95) ? "met" : ($2 < 0.95) ? "NOT MET" : "undecided"
           printf "%s (CI %.3f-%.3f)", v, $1, $2 }') ;;
    4) target=$(redis_verdict "$rps" "$MED_EVAL_SWL") ;;
    5) target=$(redis_verdict "$rps" "$MED_EVAL_TB") ;;
  esac
  printf '%-30s %10.0f %10s %10s %13s %11s %9s %24s\n' "${LABELS[$i]}" "$rps" "$cpu" "$vs" "$spread" "$cvs" "$bad" "$target"
done
printf '%-30s %10s   (runs: %s)\n' "EVALSHA check.lua (swl)" "$MED_EVAL_SWL" "${EVAL_SWL[*]}"
printf '%-30s %10s   (runs: %s)\n' "EVALSHA check.lua (tb)" "$MED_EVAL_TB" "${EVAL_TB[*]}"
echo "(In-process target: the median in-round ratio must be >= 0.95; \"CI\" is its 95% confidence"
echo " interval: \"met\" when all of it is >= 0.95, \"NOT MET\" when all of it is below, else \"undecided\".)"
echo "(Redis targets: the Redis scenario's req/s as a share of redis-benchmark's EVALSHA rate of the"
echo " same script, $CONNECTIONS connections, $REQUESTS requests, median of 3, pinned to CPU 1;"
echo " \"off: N%\" marks a target this machine cannot reach: limiting off is itself below 50%)"

if [ "$WHOLE_ROUNDS" -gt 0 ]; then
  wcol() { awk -F'\t' -v i="$1" -v c="$2" '$2 == i {print $c}' "$WHOLE_RESULTS" | tr '\n' ' '; }
  CORES=$(nproc)
  # Per round, for Redis scenario i against the EVALSHA rate e of its script: the share
  # rps_i / e, and the ceiling. "Off" keeps every core busy (server and wrk), so it costs the
  # machine CORES / off_rps of CPU time per request; a Redis-backed request also costs Redis's
  # CPU time per call, on the same cores. A limiter that cost the server nothing would reach
  # CORES / (CORES / off_rps + redis_cpu_per_request), as a share: ceiling / e.
  # (No Redis CPU reading, e.g. a remote Redis: no ceiling.)
  shares() {
    awk -F'\t' -v i="$1" -v e="$2" '$2 == i {s[$1] = $3} $2 == e {ev[$1] = $3} END {for (r in s) if (ev[r] > 0) print s[r] / ev[r]}' "$WHOLE_RESULTS" | tr '\n' ' '
  }
  ceilings() {
    awk -F'\t' -v i="$1" -v e="$2" -v n="$CORES" '$2 == 0 {off[$1] = $3} $2 == i {c[$1] = $5} $2 == e {ev[$1] = $3}
      END {for (r in c) if (c[r] != "-" && off[r] > 0 && ev[r] > 0) print n / (n / off[r] + c[r] / 1e6) / ev[r]}' "$WHOLE_RESULTS" | tr '\n' ' '
  }
  printf '\n== whole machine: medians over %s rounds ("share": in-round req/s / EVALSHA calls/s of the same script)\n' "$WHOLE_ROUNDS"
  printf '%-30s %10s %14s %14s %9s %8s %13s %9s %12s\n' "scenario" "req/s" "server µs/req" "Redis µs/req" "non-2xx" "share" "(middle half)" "ceiling" "target"
  for i in 0 4 5 6 7; do
    rps=$(wcol "$i" 3 | median)
    rcpu=$(wcol "$i" 5 | tr ' ' '\n' | { grep -v '^-$' || true; } | median)
    scpu=$(wcol "$i" 4 | tr ' ' '\n' | { grep -v '^-$' || true; } | median)
    bad=$(awk -F'\t' -v i="$i" '$2 == i {s += $6} END {print s + 0}' "$WHOLE_RESULTS")
    share="" spread="" ceiling="" target=""
    if [ "$i" = 4 ] || [ "$i" = 5 ]; then
      e=$((i + 2))
      share=$(shares "$i" "$e" | median | awk '{printf "%.0f%%", 100 * $1}')
      spread=$(shares "$i" "$e" | quartiles)
      ceiling=$(ceilings "$i" "$e" | median | awk 'NF {printf "%.0f%%", 100 * $1}')
      target=$(awk -v s="${share%\%}" -v c="${ceiling%\%}" 'BEGIN {
        if (s >= 50) print "met"; else if (c != "" && c < 50) print "unreachable"; else print "NOT MET" }')
    fi
    label=${WHOLE_LABELS[$(( i == 0 ? 0 : i - 3 ))]}
    [ "$i" -ge 6 ] && label="$label (calls/s)"
    printf '%-30s %10.0f %14s %14s %9s %8s %13s %9s %12s\n' "$label" "$rps" "${scpu:--}" "${rcpu:--}" "$bad" "$share" "$spread" "$ceiling" "$target"
  done
  echo "(\"ceiling\": the share a limiter costing the server nothing would reach, from off's rate and"
  echo " Redis's CPU time per call on the same $CORES cores; \"unreachable\": that ceiling is below 50%.)"
fi

echo
echo "== the limiter alone (no HTTP, no database): agora-ratelimit's limiter_cost example"
COST=$(cargo run --release --quiet -p agora-ratelimit --example limiter_cost -- "$REDIS_URL")
echo "$COST"
# The Redis limiter's own decision rate against the same EVALSHA rates: what the store's client
# (one multiplexed, pipelined connection) gets out of Redis when HTTP is not in the way.
awk -v swl="$MED_EVAL_SWL" -v tb="$MED_EVAL_TB" '
  /^Redis/ { redis = 1; next }
  redis && $1 == "SlidingWindowLog" { printf "limiter alone, sliding log:   %.0f%% of EVALSHA\n", 100 * $2 / swl }
  redis && $1 == "TokenBucket"      { printf "limiter alone, token bucket:  %.0f%% of EVALSHA\n", 100 * $2 / tb }' <<<"$COST"
