#!/usr/bin/env bash
# pg_env.sh - a throw-away PostgreSQL 15 cluster for tests, on a free loopback port in a temp dir.
#
#   source tests/pg_env.sh && pg_env_start   # exports CHATTER_TEST_PG_URL, stops the cluster on EXIT
#   tests/pg_env.sh CMD ARGS...              # runs CMD with CHATTER_TEST_PG_URL set, then stops it
#   pg_env_restart [S]                       # crash-stop (-m immediate), stay down S s, start on the same port
#
# As root the server runs as the `postgres` user (initdb refuses root). Trust auth is fine here: the
# server listens on 127.0.0.1 and a private socket dir only, and lives as long as the test.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

pg_env_stop() {
    if [[ -n "${PG_ENV_DIR:-}" && -d "$PG_ENV_DIR" ]]; then
        _pg_as "$PG_BIN/pg_ctl" -D "$PG_ENV_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$PG_ENV_DIR"
    fi
    PG_ENV_DIR=
}

_pg_as() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

_pg_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

_pg_launch() {
    _pg_as "$PG_BIN/pg_ctl" -D "$PG_ENV_DIR/data" -l "$PG_ENV_DIR/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $PG_ENV_PORT -k $PG_ENV_DIR -c fsync=off -c max_connections=60" start >/dev/null
}

pg_env_restart() {
    _pg_as "$PG_BIN/pg_ctl" -D "$PG_ENV_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    if [[ -n "${1:-}" ]]; then sleep "$1"; fi
    _pg_launch
}

pg_env_start() {
    [[ -x "$PG_BIN/initdb" ]] || { echo "pg_env: $PG_BIN/initdb not found (apt-get install postgresql-15)" >&2; return 1; }
    PG_ENV_DIR=$(mktemp -d /tmp/chatter-pg-XXXXXX) || return 1
    chmod 755 "$PG_ENV_DIR"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$PG_ENV_DIR"
    trap pg_env_stop EXIT
    trap 'pg_env_stop; exit 130' INT TERM
    if ! _pg_as "$PG_BIN/initdb" -D "$PG_ENV_DIR/data" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$PG_ENV_DIR/initdb.log" 2>&1; then
        cat "$PG_ENV_DIR/initdb.log" >&2
        return 1
    fi
    local port tries=0
    # Another process may take the port between our probe and the bind: try a few.
    while :; do
        port=$(_pg_free_port)
        PG_ENV_PORT=$port
        if _pg_launch; then
            break
        fi
        tries=$((tries + 1))
        if [[ $tries -ge 3 ]]; then
            cat "$PG_ENV_DIR/server.log" >&2
            return 1
        fi
    done
    export CHATTER_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    pg_env_start
    "$@"
fi
