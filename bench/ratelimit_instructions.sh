#!/usr/bin/env bash
# What rate limiting costs, counted rather than timed: user-space instructions and heap
# allocations per request of GET /v2/users/{id}, with limiting off and with the in-process
# store (sliding window log, token bucket), under valgrind's callgrind.
#
# `bench/ratelimit.sh` measures requests/s, which is what the targets are stated in, but on a
# shared or virtualised machine two identical servers can differ by more than the 5% being
# judged. Instruction and allocation counts do not drift with the machine's load. They still
# vary a little from run to run, because each server process gets its own hash seeds and
# memory layout: about 1% of a request's instructions and 0.5 allocations. Repeat a run
# before reading a difference smaller than that. They leave out the kernel
# (socket reads and writes, SQLite's file locks), which is part of every request's real cost,
# so the percentages here are upper bounds on the share of a request the limiter takes.
#
# Per scenario: the server runs under callgrind, takes WARMUP requests (first-use
# initialisation: clock calibration, metric registration, SQLite's page cache), has its
# counters zeroed, takes REQUESTS sequential keep-alive requests (curl), and dumps; the dump
# divided by REQUESTS is the cost of one request (plus a share of the idle timers, the same
# in every scenario).
#
# Usage: bash bench/ratelimit_instructions.sh
#   env: REQUESTS=2000  WARMUP=300  PORT=18181  AGORA_BIN=path (skips the build)
#        KEEP=dir (copies the dumps there, for callgrind_annotate)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

REQUESTS="${REQUESTS:-2000}"
WARMUP="${WARMUP:-300}"
PORT="${PORT:-18181}"

require_tools valgrind callgrind_control curl
agora_binary

while IFS= read -r var; do unset "$var"; done < <(env | awk -F= '/^AGORA_/ {print $1}')
export RUST_LOG=error

WORK=$(mktemp -d)
VG=""
cleanup() {
  [ -n "$VG" ] && kill "$VG" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# config NAME ENABLED ALGORITHM
config() {
  {
    echo "listen = \"127.0.0.1:$PORT\""
    echo "database_url = \"sqlite://$WORK/bench.db\""
    echo "log_format = \"json\""
    echo
    echo "[rate_limit]"
    echo "enabled = $2"
    echo "backend = \"memory\""
    echo
    echo "[[rate_limit.policy]]"
    echo "name = \"bench\""
    echo "algorithm = \"$3\""
    echo "limit = 100000000"
    echo "window = \"60s\""
    echo "key = \"ip\""
    echo "principals = \"any\""
    echo "routes = [\"*\"]"
  } >"$WORK/$1.toml"
}
config off false sliding_window_log
config swl true sliding_window_log
config tb true token_bucket

"$BIN" --config "$WORK/off.toml" seed --users 1000 --posts 0 --products 10 >/dev/null
URL="http://127.0.0.1:$PORT/v2/users/500"
# One curl process, one keep-alive connection, N requests.
requests() {
  local n="$1" file="$WORK/curl-$1.cfg"
  [ -f "$file" ] || for _ in $(seq 1 "$n"); do printf 'url = "%s"\noutput = "/dev/null"\n' "$URL"; done >"$file"
  curl -sf -K "$file"
}

# The heap allocations in a callgrind dump: calls into mimalloc's allocation entry points.
allocations() {
  awk '
    /^c?fn=\(/ {
      id = $1; sub(/^c?fn=/, "", id)
      name = $0; sub(/^c?fn=\([0-9]+\) ?/, "", name)
      if (name != "") names[id] = name
      if ($0 ~ /^cfn=/) callee = names[id]
      next
    }
    /^calls=/ {
      split(substr($0, 7), f, " ")
      if (callee ~ /^mi_(malloc|zalloc|realloc)(_aligned)?$/) total += f[1]
    }
    END { print total + 0 }
  ' "$1"
}

declare -A INSTR ALLOCS
for name in off swl tb; do
  valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$name" \
    "$BIN" --config "$WORK/$name.toml" serve >"$WORK/$name.log" 2>&1 &
  VG=$!
  wait_for_server "http://127.0.0.1:$PORT" "$name" "$WORK/$name.log" 60
  requests "$WARMUP"
  callgrind_control -z "$VG" >/dev/null
  requests "$REQUESTS"
  callgrind_control -d "$VG" >/dev/null
  kill -INT "$VG"; wait "$VG" || true; VG=""
  dump="$WORK/cg.$name.1"
  [ -f "$dump" ] || { echo "no callgrind dump for '$name'" >&2; exit 1; }
  [ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$dump" "$KEEP/cg.$name"
  INSTR[$name]=$(awk -v n="$REQUESTS" '/^summary:/ {printf "%.0f", $2 / n}' "$dump")
  ALLOCS[$name]=$(awk -v n="$REQUESTS" -v a="$(allocations "$dump")" 'BEGIN {printf "%.1f", a / n}')
done

printf '\n== per request of GET /v2/users/{id}, %s sequential keep-alive requests, SQLite\n' "$REQUESTS"
printf '%-28s %14s %10s %14s %14s\n' "scenario" "instructions" "vs off" "allocations" "vs off"
for name in off swl tb; do
  case $name in off) label="limiting off" ;; swl) label="in-process sliding log" ;; tb) label="in-process token bucket" ;; esac
  printf '%-28s %14s %10s %14s %14s\n' "$label" "${INSTR[$name]}" \
    "$(awk -v a="${INSTR[$name]}" -v b="${INSTR[off]}" 'BEGIN {printf "%+.1f%%", (a - b) * 100 / b}')" \
    "${ALLOCS[$name]}" \
    "$(awk -v a="${ALLOCS[$name]}" -v b="${ALLOCS[off]}" 'BEGIN {printf "%+.1f", a - b}')"
done
