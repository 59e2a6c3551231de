# Helpers shared by the benchmark scripts (sourced, not run).

# wait_for_server BASE_URL LABEL LOG [SECONDS]: waits until BASE_URL/healthz answers; if it
# does not within SECONDS (default 20: a server under valgrind starts slowly), prints the
# server's log and exits.
wait_for_server() {
  local base="$1" label="$2" log="$3" seconds="${4:-20}"
  for _ in $(seq 1 $((seconds * 10))); do
    if curl -sf "$base/healthz" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "server '$label' did not start:" >&2
  cat "$log" >&2
  exit 1
}
