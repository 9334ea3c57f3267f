#!/usr/bin/env bash
# test_policy_postgres.sh - the fetch-policy end-to-end checks (test_sampling.py) with `chatter serve` on a
# throw-away PostgreSQL cluster, so sampling, selection and shared fetches behave the same on both backends.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
[[ -x "$PG_BIN/initdb" ]] || { echo "PostgreSQL 15 is not installed: skipped"; exit 77; }
# shellcheck source=../pg_env.sh
source "$here/../pg_env.sh"
pg_env_start
/usr/bin/python3 "$here/test_sampling.py"
