#!/usr/bin/env bash
# test_limits_redis.sh - test_limits.py with the queue and the limiter in a throw-away Redis: the quota
# pause set by one process holds for another.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../redis_env.sh
. "$here/redis_env.sh"
command -v redis-server >/dev/null || { echo "redis-server not installed: skipped"; exit 77; }
redis_start
/usr/bin/python3 "$here/integration/test_limits.py"
