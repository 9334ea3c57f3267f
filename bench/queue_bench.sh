#!/usr/bin/env bash
# queue_bench.sh - throughput of the in-process and Redis queues and limiters on this machine.
#   cmake --build build && bash bench/queue_bench.sh [threads] [messages]
# Starts its own throw-away redis-server on loopback (tests/redis_env.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
threads=${1:-4}
n=${2:-50000}
out=$(mktemp -d /tmp/chatter-qbench.XXXXXX)
# shellcheck disable=SC2046
cc -O2 -std=c17 -D_GNU_SOURCE -I"$root/src" "$root/bench/queue_bench.c" "$build/libchatter_lib.a" \
    $(pkg-config --libs libmicrohttpd libcurl jansson librhonabwy sqlite3 libpq hiredis openblas libpcre2-8 libutf8proc gnutls) \
    -lpthread -lm -o "$out/queue_bench"
. "$root/tests/redis_env.sh"
redis_start
"$out/queue_bench" "" "$threads" "$((n * 4))"
"$out/queue_bench" "$CHATTER_TEST_REDIS_URL" "$threads" "$n"
redis_stop
rm -rf "$out"
