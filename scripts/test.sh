#!/usr/bin/env bash
# The test command: every crate's tests (cargo test --workspace --all-targets).
#
# PostgreSQL and Redis variants run against AGORA_TEST_DATABASE_URL / AGORA_TEST_REDIS_URL.
# When those are unset and a local server answers (PostgreSQL on 127.0.0.1:5432 with database
# `test`, Redis on 127.0.0.1:6379), it is used, and said so. Tests whose backend is missing are
# skipped — counted at the end, with the reason — and fail instead when CI=true.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ -z "${AGORA_TEST_DATABASE_URL:-}" ]; then
    local_pg="postgres://postgres@127.0.0.1:5432/test"
    if command -v psql >/dev/null && psql -qtA "$local_pg" -c 'SELECT 1' >/dev/null 2>&1; then
        export AGORA_TEST_DATABASE_URL="$local_pg"
        echo "test.sh: using the local PostgreSQL ($local_pg)"
    fi
fi
if [ -z "${AGORA_TEST_REDIS_URL:-}" ]; then
    if (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && IFS= read -r -t 2 pong <&3 \
        && [ "${pong%$'\r'}" = "+PONG" ]) 2>/dev/null; then
        export AGORA_TEST_REDIS_URL="redis://127.0.0.1:6379"
        echo "test.sh: using the local Redis (redis://127.0.0.1:6379)"
    fi
fi

AGORA_TEST_SKIPS="$(mktemp)"
export AGORA_TEST_SKIPS
trap 'rm -f "$AGORA_TEST_SKIPS"' EXIT

cargo test --workspace --all-targets "$@"
status=$?

if [ -s "$AGORA_TEST_SKIPS" ]; then
    echo
    echo "test.sh: $(wc -l <"$AGORA_TEST_SKIPS") test(s) skipped (their \"passed\" above ran nothing):"
    cut -f1 "$AGORA_TEST_SKIPS" | sort | uniq -c | sed 's/^/  /'
else
    echo "test.sh: nothing skipped"
fi
exit $status
