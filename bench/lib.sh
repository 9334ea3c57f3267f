# shellcheck shell=bash disable=SC2034
# lib.sh - helpers shared by bench_api.sh, bench_pipeline.sh and bench_vader.sh. Source it.
#
# Every process a benchmark starts goes through bg_start, which records its pid; bench_stop_all (the EXIT
# trap) stops exactly those pids, so nothing is left running and nothing else is touched.
# CPU accounting and wrk parsing reuse the reference's own tools (read from ../shared, never copied) so
# both sides are measured by the same code.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${CHATTER_SHARED:-$BENCH_ROOT/../shared}
SHARED=$(cd "$SHARED" && pwd)
REF=$SHARED/anchors/django_seed
CHATTER=${CHATTER_BIN:-$BENCH_ROOT/build/chatter}
PY=/usr/bin/python3
PGBIN=/usr/lib/postgresql/15/bin
BENCH_PIDS=()
PG_DIR="" PG_PORT="" PG_PID=""

log() { echo "[$(date +%T)] $*" >&2; }

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# stop_pid PID [SIG]: signal one pid we started, wait up to 10 s, then KILL it.
stop_pid() {
    local pid=$1 sig=${2:-TERM} i
    alive "$pid" || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then log "pid $pid ignored SIG$sig for 10 s: KILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
}

# stop_tree PID: the pid and the children it had (gunicorn/celery workers), children last.
stop_tree() {
    local pid=$1 kids
    alive "$pid" || return 0
    kids=$(pgrep -P "$pid" || true)
    stop_pid "$pid" TERM
    for k in $kids; do stop_pid "$k" KILL; done
}

# bg_start LOGFILE CMD...: start CMD in the background, record its pid in BG_PID and BENCH_PIDS.
bg_start() {
    local logf=$1; shift
    "$@" >"$logf" 2>&1 &
    BG_PID=$!
    BENCH_PIDS+=("$BG_PID")
}

bench_stop_all() {
    set +e
    local i
    for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do stop_tree "${BENCH_PIDS[$i]}"; done
    BENCH_PIDS=()
    pg_stop
}

wait_http() {   # URL [seconds]
    local i n=$(( ${2:-30} * 10 ))
    for i in $(seq 1 "$n"); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
    log "no answer from $1"; return 1
}

# start_fake SCRIPT ARGS...: a fake platform on a free port; sets FAKE_PORT.
start_fake() {
    local script=$1; shift
    local f; f=$(mktemp "$WORK/fake.XXXX")
    CHATTER_SHARED=$SHARED "$PY" "$script" "$@" >"$f" 2>"$f.err" &
    BG_PID=$!; BENCH_PIDS+=("$BG_PID")
    local i; for i in $(seq 1 200); do grep -q '^READY' "$f" && break; sleep 0.05; done
    FAKE_PORT=$(sed -n 's/^READY \([0-9]*\)/\1/p' "$f")
    [ -n "$FAKE_PORT" ] || { log "$script did not start: $(cat "$f.err")"; return 1; }
}

# A throw-away PostgreSQL 15 cluster (defaults: fsync and synchronous_commit on) on a free port.
pg_start() {
    [ -x "$PGBIN/initdb" ] || { log "postgresql 15 not installed"; return 1; }
    PG_DIR=$(mktemp -d /tmp/chatter-bench-pg.XXXXXX); chmod 755 "$PG_DIR"
    local as=()
    if [ "$(id -u)" = 0 ]; then chown postgres: "$PG_DIR"; as=(runuser -u postgres --); fi
    "${as[@]}" "$PGBIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
        >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
    PG_PORT=$(free_port)
    "${as[@]}" "$PGBIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null ||
        { cat "$PG_DIR/server.log" >&2; return 1; }
    PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
    log "postgres pid $PG_PID on 127.0.0.1:$PG_PORT"
}

pg_stop() {
    [ -n "$PG_DIR" ] || return 0
    local as=(); [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
    "${as[@]}" "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || stop_pid "$PG_PID" INT
    rm -rf "$PG_DIR"; PG_DIR="" PG_PID=""
}

psql_pg() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }

pg_fresh_db() {   # NAME
    "$PGBIN/dropdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres --if-exists "$1"
    "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$1"
}

# Redis on a free port, no persistence (as the reference runs it). Sets REDIS_PORT.
redis_start() {
    REDIS_PORT=$(free_port)
    mkdir -p "$WORK/redis"
    bg_start "$WORK/redis/out.log" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --dir "$WORK/redis" --logfile "$WORK/redis/redis.log"
    local i; for i in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
    log "redis-server did not start"; return 1
}

cpu_snap() { "$PY" "$REF/bench/cpu.py" snap $$ ${PG_PID:+"$PG_PID"}; }
cpu_delta() { "$PY" "$REF/bench/cpu.py" delta "$1" "$2"; }

# run_wrk FILE WRKARGS...: wrk with the reference's parameters; the output plus a "cpu:" line (our
# process tree incl. wrk vs. everything else on the machine) go to FILE; prints parse_wrk.py's JSON.
run_wrk() {
    local f=$1; shift
    local cmd=(wrk -t"${THREADS:-2}" -c"${CONNS:-32}" -d"${DUR:-15s}" --timeout 30s --latency "$@")
    local a b
    echo "\$ ${cmd[*]}" >"$f"
    a=$(cpu_snap)
    "${cmd[@]}" >>"$f" 2>&1 || true
    b=$(cpu_snap)
    echo "cpu: foreign_before=0% during: $(cpu_delta "$a" "$b") load=$(cut -d' ' -f1 /proc/loadavg)" >>"$f"
    "$PY" "$REF/bench/parse_wrk.py" "$f"
}

need() {   # CMD... : fail with the apt line when a command is missing
    local miss=""
    for c in "$@"; do command -v "$c" >/dev/null || miss="$miss $c"; done
    [ -z "$miss" ] || { log "missing:$miss"; return 1; }
}

apt_install() {   # PACKAGES...: install what is missing (Debian); quiet when all are present
    local missing=() p
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "apt-get install ${missing[*]}"
    if [ "$(id -u)" != 0 ]; then log "not root: install these yourself"; return 1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"$WORK/apt.log" 2>&1 ||
        { apt-get update >>"$WORK/apt.log" 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$WORK/apt.log" 2>&1; } ||
        { tail -5 "$WORK/apt.log" >&2; return 1; }
}

has_pg_store() { [ -f "$BENCH_ROOT/src/store/postgres.c" ]; }
