# redis_env.sh - a throw-away redis-server on a free loopback port, for tests. Source it, then:
#   redis_start [aof]   start (aof: appendonly on, so data survives redis_restart); exports
#                       CHATTER_TEST_REDIS_URL=redis://127.0.0.1:PORT and REDIS_PORT
#   redis_restart [S]   stop (SIGTERM: flushes the AOF), stay down S seconds (default 0), and start again
#                       on the same port and data dir
#   redis_stop          stop and remove the data dir (also run on EXIT)
# Used as a standalone command it starts Redis, runs the given command with the URL set, and stops:
#   bash tests/redis_env.sh ./build/test_queue

REDIS_DIR=""
REDIS_PID=""
REDIS_PORT=""
REDIS_AOF=no

_redis_free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

_redis_launch() {
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly "$REDIS_AOF" \
        --appendfsync everysec --dir "$REDIS_DIR" --logfile "$REDIS_DIR/redis.log" --daemonize no \
        --protected-mode yes >/dev/null 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 1 100); do
        if redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then return 0; fi
        if ! kill -0 "$REDIS_PID" 2>/dev/null; then break; fi
        sleep 0.05
    done
    echo "redis-server did not start on port $REDIS_PORT:" >&2
    cat "$REDIS_DIR/redis.log" >&2 2>/dev/null
    return 1
}

redis_start() {
    command -v redis-server >/dev/null || { echo "redis-server not installed (apt-get install redis-server)" >&2; return 1; }
    REDIS_AOF=no
    [ "${1:-}" = aof ] && REDIS_AOF=yes
    REDIS_DIR=$(mktemp -d /tmp/chatter-redis.XXXXXX)
    # A port can be taken between choosing and binding: try a few.
    for _ in 1 2 3 4 5; do
        REDIS_PORT=$(_redis_free_port)
        if _redis_launch; then
            export REDIS_PORT
            export CHATTER_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
            trap redis_stop EXIT
            return 0
        fi
    done
    return 1
}

_redis_kill() {
    [ -n "$REDIS_PID" ] || return 0
    # Every step may find the server gone already; none of that is an error (callers may use set -e).
    kill "$REDIS_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$REDIS_PID" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    REDIS_PID=""
}

redis_restart() {
    _redis_kill
    if [ -n "${1:-}" ]; then sleep "$1"; fi
    _redis_launch
}

redis_stop() {
    _redis_kill
    if [ -n "$REDIS_DIR" ]; then rm -rf "$REDIS_DIR"; fi
    REDIS_DIR=""
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -e
    redis_start "${REDIS_MODE:-}"
    set +e
    "$@"
    rc=$?
    redis_stop
    exit $rc
fi
