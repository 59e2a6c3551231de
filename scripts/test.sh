#!/usr/bin/env bash
# The test command: every crate's tests. PostgreSQL and Redis variants run when
# AGORA_TEST_DATABASE_URL / AGORA_TEST_REDIS_URL are set (they skip otherwise, and fail
# instead of skipping when CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --workspace --all-targets "$@"
