#!/usr/bin/env bash
# svc.sh - PostgreSQL and Redis for a test written in another language, which cannot keep the shell
# functions of pg_env.sh and redis_env.sh alive between calls: each call restores the servers' state
# from STATE_DIR/svc.env, acts, and saves it again.
#   svc.sh start STATE_DIR          PostgreSQL + Redis (appendonly, so a restart keeps the stream);
#                                   prints "PG_URL REDIS_URL"
#   svc.sh start-redis STATE_DIR    Redis only (appendonly); prints "REDIS_URL"
#   svc.sh restart-pg STATE_DIR [S]     crash-stop PostgreSQL, stay down S s, start it on the same port
#   svc.sh restart-redis STATE_DIR [S]  stop Redis (AOF flushed), stay down S s, start on the same port
#   svc.sh stop STATE_DIR           stop what runs and delete its data
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=pg_env.sh
source "$here/pg_env.sh"
# shellcheck source=redis_env.sh
source "$here/redis_env.sh"

cmd=${1:?usage: svc.sh start|restart-pg|restart-redis|stop STATE_DIR [S]}
state=${2:?STATE_DIR missing}
env_file="$state/svc.env"

PG_ENV_DIR="" PG_ENV_PORT="" CHATTER_TEST_PG_URL="" CHATTER_TEST_REDIS_URL=""

save() {
    declare -p PG_ENV_DIR PG_ENV_PORT REDIS_DIR REDIS_PORT REDIS_PID REDIS_AOF CHATTER_TEST_PG_URL \
        CHATTER_TEST_REDIS_URL >"$env_file"
}

case "$cmd" in
start)
    mkdir -p "$state"
    pg_env_start
    redis_start aof
    trap - EXIT INT TERM # the servers outlive this call; `stop` ends them
    save
    echo "$CHATTER_TEST_PG_URL $CHATTER_TEST_REDIS_URL"
    ;;
start-redis)
    mkdir -p "$state"
    redis_start aof
    trap - EXIT INT TERM
    save
    echo "$CHATTER_TEST_REDIS_URL"
    ;;
restart-pg | restart-redis | stop)
    # shellcheck disable=SC1090
    source "$env_file"
    case "$cmd" in
    restart-pg) pg_env_restart "${3:-}" ;;
    restart-redis) redis_restart "${3:-}" ;;
    stop)
        redis_stop
        pg_env_stop
        rm -f "$env_file"
        exit 0
        ;;
    esac
    trap - EXIT INT TERM
    save
    ;;
*)
    echo "svc.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
