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

# require_tools TOOL...: exits with a message naming the first tool that is not installed.
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
  done
}

# agora_binary: sets BIN to the release server binary, building it first unless AGORA_BIN
# names one. The build goes to CARGO_TARGET_DIR (default ~/.cache/agora-target, shared with
# the tests and CI).
agora_binary() {
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/root}/.cache/agora-target}"
  if [ -z "${AGORA_BIN:-}" ]; then
    cargo build --release --quiet -p agora-server --bin agora
  fi
  BIN="${AGORA_BIN:-$CARGO_TARGET_DIR/release/agora}"
}

# median NUMBER...: prints the median.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
