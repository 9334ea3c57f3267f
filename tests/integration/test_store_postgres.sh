#!/usr/bin/env bash
# test_store_postgres.sh - runs the storage test suite against SQLite and a throw-away PostgreSQL
# cluster, so both backends pass the same cases (see tests/unit/test_store.c).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin_dir=$(dirname "${CHATTER_BIN:?CHATTER_BIN must name the built chatter binary}")
test_bin="$bin_dir/test_store"
[[ -x "$test_bin" ]] || { echo "test_store not built at $test_bin" >&2; exit 1; }

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
if [[ ! -x "$PG_BIN/initdb" ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "installing postgresql-15 (needed to test the PostgreSQL store)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15 >/dev/null
    else
        echo "PostgreSQL 15 is not installed: apt-get install postgresql-15" >&2
        exit 1
    fi
fi

# shellcheck source=../pg_env.sh
source "$here/../pg_env.sh"
pg_env_start
CHATTER_TEST_STORE_URLS="sqlite-temp $CHATTER_TEST_PG_URL" "$test_bin"
