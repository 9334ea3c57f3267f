#!/usr/bin/env bash
# store_bench.sh - builds bench/store_bench.c against build/libchatter_lib.a and runs it on SQLite and
# on a throw-away PostgreSQL cluster. Usage: bench/store_bench.sh [build-dir]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
out=$(mktemp -d /tmp/chatter-store-bench-XXXXXX)
trap 'rm -rf "$out"' EXIT
cc -O2 -std=c17 -D_GNU_SOURCE -I"$root/src" "$root/bench/store_bench.c" "$build/libchatter_lib.a" \
    $(pkg-config --libs sqlite3 libpq jansson gnutls) -lpthread -lm -o "$out/store_bench"
"$out/store_bench" "sqlite://$out/bench.db"
# shellcheck source=../tests/pg_env.sh
source "$root/tests/pg_env.sh"
pg_env_start
trap 'pg_env_stop; rm -rf "$out"' EXIT # pg_env_start replaced the trap above
"$out/store_bench" "$CHATTER_TEST_PG_URL"
