#!/usr/bin/env bash
# Fuzzes every operation of the OpenAPI document with schemathesis (`--checks all`) against a
# seeded server, on SQLite and then on PostgreSQL, and fails on any failure.
#
#   bash scripts/fuzz.sh                 # both databases (PostgreSQL from AGORA_TEST_DATABASE_URL)
#   AGORA_FUZZ_DATABASES=sqlite bash scripts/fuzz.sh
#
# Budget: AGORA_FUZZ_EXAMPLES generated cases per operation and phase (default 40), seed
# AGORA_FUZZ_SEED (default fixed, so a failure reproduces; set another to explore).
# The operations that can take the acting principal's credentials away (deleting or replacing
# a user, deleting an API key, revoking a token, signing out) run last, as a throwaway
# administrator of their own, so the main run keeps its credentials throughout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SCHEMATHESIS_VERSION=4.32.5
VENV="${AGORA_FUZZ_VENV:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/agora-fuzz-venv}"
EXAMPLES="${AGORA_FUZZ_EXAMPLES:-40}"
SEED="${AGORA_FUZZ_SEED:-20261203}"
DATABASES="${AGORA_FUZZ_DATABASES:-sqlite postgres}"
PG_URL="${AGORA_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
PORT="${AGORA_FUZZ_PORT:-18089}"
BASE="http://127.0.0.1:$PORT"
DESTRUCTIVE='^v[12]_(delete_user|replace_user|update_user|delete_api_key|revoke_token|delete_session)$'

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build --quiet -p agora-server --bin agora
AGORA="${CARGO_TARGET_DIR:-$ROOT/target}/debug/agora"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# Prints the value at `key` of the JSON object on standard input.
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# Creates an administrator and exports its bearer token, API key and an OAuth client for it.
principal() {
    local email="$1" password="fuzz-password-$RANDOM$RANDOM"
    AGORA_PASSWORD="$password" "$AGORA" user create --email "$email" --name "Fuzz $email" --admin >/dev/null
    AGORA_FUZZ_API_KEY="$("$AGORA" apikey create --user "$email" --scopes read,write,admin --name fuzz 2>/dev/null)"
    AGORA_FUZZ_TOKEN="$(curl -sf "$BASE/v2/auth/token" -d grant_type=password -d "username=$email" \
        --data-urlencode "password=$password" -d "scope=read write admin" | json_field "['access_token']")"
    local client
    client="$("$AGORA" oauth create-client --name "fuzz $email" --grant-types client_credentials \
        --scopes read,write 2>/dev/null)"
    AGORA_FUZZ_CLIENT_ID="$(printf '%s\n' "$client" | sed -n 's/^client_id[:=] *//p')"
    AGORA_FUZZ_CLIENT_SECRET="$(printf '%s\n' "$client" | sed -n 's/^client_secret[:=] *//p')"
    export AGORA_FUZZ_API_KEY AGORA_FUZZ_TOKEN AGORA_FUZZ_CLIENT_ID AGORA_FUZZ_CLIENT_SECRET
}

run_schemathesis() {
    local label="$1"; shift
    echo "-- schemathesis: $label"
    (cd "$WORK" && SCHEMATHESIS_HOOKS="$ROOT/scripts/schemathesis_hooks.py" "$VENV/bin/schemathesis" --config-file "$ROOT/scripts/schemathesis.toml" run \
        "$BASE/openapi.json" --checks all --max-examples "$EXAMPLES" --seed "$SEED" \
        --generation-deterministic --no-shrink --request-timeout 30 "$@")
}

fuzz_one() {
    local db="$1"
    case "$db" in
        sqlite) export AGORA_DATABASE_URL="sqlite://$WORK/fuzz.db" ;;
        postgres)
            local name="agora_fuzz_$$"
            psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name"
            export AGORA_DATABASE_URL="${PG_URL%/*}/$name"
            ;;
        *) echo "unknown database $db" >&2; return 2 ;;
    esac
    echo "== fuzz on $db"
    export AGORA_LISTEN="127.0.0.1:$PORT" AGORA_RATE_LIMIT_ENABLED=false AGORA_LOG_FORMAT=json RUST_LOG=warn
    "$AGORA" migrate >/dev/null
    "$AGORA" seed --users 50 --posts 300 --products 50 --orders 40 >/dev/null
    "$AGORA" serve >"$WORK/server-$db.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do curl -sf "$BASE/readyz" >/dev/null && break; sleep 0.2; done
    curl -sf "$BASE/readyz" >/dev/null || { echo "the server did not start:"; cat "$WORK/server-$db.log"; return 1; }

    principal "fuzz-main-$db@example.com"
    run_schemathesis "$db, every operation but the destructive ones" --exclude-operation-id-regex "$DESTRUCTIVE"
    principal "fuzz-throwaway-$db@example.com"
    run_schemathesis "$db, destructive operations as a throwaway administrator" --include-operation-id-regex "$DESTRUCTIVE"

    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
    if grep -q '"level":"ERROR"' "$WORK/server-$db.log"; then
        echo "the server logged errors on $db:"; grep '"level":"ERROR"' "$WORK/server-$db.log" | head -20
        return 1
    fi
    if [ "$db" = postgres ]; then psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS agora_fuzz_$$ WITH (FORCE)"; fi
}

for db in $DATABASES; do fuzz_one "$db"; done
echo "fuzz: no failures on: $DATABASES"
