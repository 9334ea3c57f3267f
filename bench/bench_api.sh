#!/usr/bin/env bash
# bench_api.sh - chatter's HTTP API against the reference Django/DRF/Celery stack (../shared/anchors/django_seed),
# measured with the same wrk parameters in the same invocation, interleaved over several rounds (the machine
# is shared and noisy, so only ratios measured side by side mean much).
#
#   cmake --build build && bash bench/bench_api.sh          (as root: apt installs, initdb via runuser)
#   env: ROUNDS=3 DUR=15s THREADS=2 CONNS=32 OUT=DIR
#        REF_CONFIGS="sqlite:sync:0 pg:sync:60"   reference configs, db:gunicorn_class:CONN_MAX_AGE
#        CHATTER_DBS="sqlite pg"                  pg only when src/store/postgres.c exists
#
# Per target (chatter on SQLite, chatter on PostgreSQL + Redis, each reference config) and round:
#   start the server -> check the CSV -> 3 s warm-up -> wrk GET /api/jobs/{id} (random id 1..1000),
#   GET the 10,000-row CSV, [chatter: GET the 100,000-row CSV at CONNS_BIG=4 connections; reference: the
#   10,000-row CSV again at 4 connections], POST /api/jobs (no workers running)
#   -> stop the server, drop the jobs the create test made / flush the broker.
# The order of targets alternates between rounds. Raw wrk output: $OUT/rN/TARGET/*.txt; every measurement
# is one line of $OUT/results.jsonl; the table (medians, per-round ratios) is printed and kept in $OUT/table.md.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
DUR=${DUR:-15s} THREADS=${THREADS:-2} CONNS=${CONNS:-32}
# The 100,000-row CSV (25 MB) at 32 connections takes longer per response than the whole test lasts, and wrk
# counts only finished responses; so it runs at CONNS_BIG connections, and so does a second reference download.
CONNS_BIG=${CONNS_BIG:-4}
export DUR THREADS CONNS
REF_CONFIGS=${REF_CONFIGS-"sqlite:sync:0 pg:sync:60"}   # "" = chatter only
CHATTER_DBS=${CHATTER_DBS:-"sqlite pg"}
OUT=${OUT:-/tmp/chatter-bench-api-$(date -u +%Y%m%dT%H%M%S)}
WORK=$(mktemp -d /tmp/chatter-bench-api.XXXXXX)
mkdir -p "$OUT"
trap 'bench_stop_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

apt_install wrk curl procps redis-server postgresql python3-django python3-djangorestframework python3-celery \
    python3-redis python3-psycopg2 gunicorn
need wrk curl redis-server redis-cli gunicorn pgrep
[ -x "$CHATTER" ] || { log "build chatter first ($CHATTER)"; exit 2; }

HTTP_PORT=$(free_port)
BASE=http://127.0.0.1:$HTTP_PORT
RESULTS=$OUT/results.jsonl
: >"$RESULTS"

need_pg=0
case "$REF_CONFIGS" in *pg:*) need_pg=1 ;; esac
CHATTER_TARGETS=()
for db in $CHATTER_DBS; do
    if [ "$db" = pg ] && ! has_pg_store; then log "no src/store/postgres.c: chatter runs on SQLite only"; continue; fi
    [ "$db" = pg ] && need_pg=1
    CHATTER_TARGETS+=("chatter-$db")
done
redis_start
[ "$need_pg" = 1 ] && pg_start

{
    echo "date $(date -u +%FT%TZ)"; echo "nproc $(nproc)"; grep -m1 'model name' /proc/cpuinfo || true
    echo "chatter $(git -C "$BENCH_ROOT" rev-parse --short HEAD) $("$CHATTER" --version 2>/dev/null | head -1)"
    "$PY" -c 'import django,rest_framework,celery;print("django",django.__version__,"drf",rest_framework.__version__,"celery",celery.__version__)'
    echo "gunicorn $(gunicorn --version 2>&1)"; redis-server --version
    { wrk -v 2>&1 || true; } | head -1
    echo "ROUNDS=$ROUNDS DUR=$DUR THREADS=$THREADS CONNS=$CONNS CONNS_BIG=$CONNS_BIG REF_CONFIGS=$REF_CONFIGS chatter=${CHATTER_TARGETS[*]}"
} >"$OUT/env.txt"

# ---------------------------------------------------------------- chatter
# A fake YouTube so that job creation finds its platform configured; no worker ever calls it here.
start_fake "$BENCH_ROOT/tests/fakes/fake_youtube.py" --port 0
CH_ENV=(env CHATTER_JOBS_PER_MINUTE=0 CHATTER_MAX_ACTIVE_JOBS=0 CHATTER_LOG_LEVEL=warn YOUTUBE_API_KEY=bench
        CHATTER_YOUTUBE_API_URL="http://127.0.0.1:$FAKE_PORT/youtube/v3")
CH_SQLITE=$WORK/chatter.db
CH_PG_URL=""

seed_chatter() {
    log "seeding chatter (sqlite)"
    "$CHATTER" migrate --database-url "sqlite://$CH_SQLITE" >/dev/null
    "$PY" "$BENCH_ROOT/bench/seed_api.py" --sqlite "$CH_SQLITE" 2>"$OUT/chatter-seed.txt"
    if [[ " ${CHATTER_TARGETS[*]} " == *" chatter-pg "* ]]; then
        log "seeding chatter (postgres)"
        pg_fresh_db chatter
        CH_PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/chatter"
        "$CHATTER" migrate --database-url "$CH_PG_URL" >/dev/null
        "$PY" "$BENCH_ROOT/bench/seed_api.py" --psql 2>/dev/null | psql_pg -d chatter >/dev/null
    fi
}

# Drop what the create test added, so that later rounds start from the same database.
unseed_created() {   # sqlite|pg
    if [ "$1" = sqlite ]; then
        "$PY" -c 'import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); d.execute("PRAGMA foreign_keys=ON");
d.execute("DELETE FROM jobs WHERE id > 1001"); d.commit(); d.execute("PRAGMA wal_checkpoint(TRUNCATE)")' "$CH_SQLITE"
    else
        psql_pg -d chatter -c "DELETE FROM jobs WHERE id > 1001" -c "VACUUM ANALYZE" >/dev/null
    fi
    redis-cli -p "$REDIS_PORT" flushall >/dev/null
}

check_csv() {   # URL FILE ROWS -> appends "download_check" to FILE; fails when the row count is wrong
    local lines bytes
    curl -s "$1" -o "$WORK/dl.csv"
    lines=$(wc -l <"$WORK/dl.csv"); bytes=$(wc -c <"$WORK/dl.csv")
    echo "download_check $1 lines=$lines bytes=$bytes" >>"$2"
    if [ "$lines" -ne $(( $3 + 1 )) ]; then log "CSV $1 has $lines lines, expected $(( $3 + 1 ))"; return 1; fi
}

record() {   # ROUND TARGET TEST ROWS JSON
    echo "{\"round\": $1, \"target\": \"$2\", \"test\": \"$3\", \"rows\": $4, \"wrk\": $5}" >>"$RESULTS"
    log "  $2 $3: $(echo "$5" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print("req/s", d["rps"], "p50", d["p50_ms"], "p99", d["p99_ms"], "non2xx", d["non2xx"], "cpu ours/foreign", d.get("ours_pct"), d.get("foreign_pct"))')"
}

bench_chatter() {   # ROUND TARGET
    local r=$1 t=$2 db=${2#chatter-} d=$OUT/r$1/$2 pid
    mkdir -p "$d"
    local args=(serve --listen "127.0.0.1:$HTTP_PORT" --no-workers --analyzer vader --model-dir "$SHARED/data/vader")
    if [ "$db" = pg ]; then args+=(--database-url "$CH_PG_URL" --redis-url "redis://127.0.0.1:$REDIS_PORT/0")
    else args+=(--database-url "sqlite://$CH_SQLITE"); fi
    echo "${CH_ENV[*]} $CHATTER ${args[*]}" >"$d/meta.txt"
    bg_start "$d/serve.log" "${CH_ENV[@]}" "$CHATTER" "${args[@]}"; pid=$BG_PID
    wait_http "$BASE/healthz"
    check_csv "$BASE/api/jobs/1/results.csv" "$d/meta.txt" 10000
    check_csv "$BASE/api/jobs/1001/results.csv" "$d/meta.txt" 100000
    wrk -t"$THREADS" -c"$CONNS" -d3s -s "$BENCH_ROOT/bench/status.lua" "$BASE" >/dev/null 2>&1 || true
    export JOB_MIN=1 JOB_MAX=1000
    record "$r" "$t" status 0 "$(run_wrk "$d/status.txt" -s "$BENCH_ROOT/bench/status.lua" "$BASE")"
    "$PY" "$REF/bench/cpu.py" idle "$pid" 60
    record "$r" "$t" download 10000 "$(run_wrk "$d/download.txt" "$BASE/api/jobs/1/results.csv")"
    "$PY" "$REF/bench/cpu.py" idle "$pid" 60
    record "$r" "$t" download100k 100000 "$(CONNS=$CONNS_BIG run_wrk "$d/download100k.txt" "$BASE/api/jobs/1001/results.csv")"
    "$PY" "$REF/bench/cpu.py" idle "$pid" 60
    record "$r" "$t" create 0 "$(run_wrk "$d/create.txt" -s "$BENCH_ROOT/bench/create.lua" "$BASE")"
    "$PY" "$REF/bench/cpu.py" idle "$pid" 60
    echo "rss_kb(VmRSS VmHWM) $(awk '/^VmRSS:/{r=$2} /^VmHWM:/{h=$2} END{print r+0, h+0}' "/proc/$pid/status")" >>"$d/meta.txt"
    stop_pid "$pid" TERM
    unseed_created "$db"
}

# ---------------------------------------------------------------- reference (Django seed)
export DJANGO_SETTINGS_MODULE=seed.settings PYTHONPATH=$REF PYTHONWARNINGS=ignore PYTHONDONTWRITEBYTECODE=1
export SEED_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/1" SEED_FAKE_COMMENTS=100
export SEED_PG_HOST=127.0.0.1 SEED_PG_PORT=${PG_PORT:-0} SEED_PG_NAME=seed SEED_PG_USER=postgres
REF_SQLITE=$WORK/ref.sqlite3
declare -A REF_MINMAX REF_BIG

seed_ref() {   # sqlite|pg  (once per database kind, as bench.sh does once per config)
    log "seeding reference ($1)"
    if [ "$1" = pg ]; then pg_fresh_db seed; else rm -f "$REF_SQLITE"*; fi
    (cd "$REF" && SEED_DB=$1 SEED_SQLITE_PATH=$REF_SQLITE "$PY" manage.py migrate -v0 &&
        SEED_DB=$1 SEED_SQLITE_PATH=$REF_SQLITE "$PY" manage.py seed_bench --jobs 1000 --big-rows 10000) \
        >"$OUT/ref-seed-$1.txt" 2>&1 || { cat "$OUT/ref-seed-$1.txt" >&2; return 1; }
    local line; line=$(tail -1 "$OUT/ref-seed-$1.txt")
    REF_MINMAX[$1]="$(sed -n 's/.*min_id=\([0-9]*\).*/\1/p' <<<"$line") $(sed -n 's/.*max_id=\([0-9]*\).*/\1/p' <<<"$line")"
    REF_BIG[$1]=$(sed -n 's/.*big_job=\([0-9]*\).*/\1/p' <<<"$line")
}

bench_ref() {   # ROUND CONFIG(db:class:cma)
    local r=$1 db wc cma pid
    IFS=: read -r db wc cma <<<"$2"
    local t="ref-$db-$wc-cma$cma" d=$OUT/r$1/ref-$db-$wc-cma$cma
    mkdir -p "$d"
    local gargs=(-b "127.0.0.1:$HTTP_PORT" -w 2 -k "$wc" --chdir "$REF" --log-level warning)
    [ "$wc" = gthread ] && gargs+=(--threads 4)
    echo "SEED_DB=$db SEED_CONN_MAX_AGE=$cma gunicorn ${gargs[*]} seed.wsgi:application" >"$d/meta.txt"
    bg_start "$d/gunicorn.log" env SEED_DB="$db" SEED_CONN_MAX_AGE="$cma" SEED_SQLITE_PATH="$REF_SQLITE" \
        gunicorn "${gargs[@]}" seed.wsgi:application; pid=$BG_PID
    local big=${REF_BIG[$db]}
    wait_http "$BASE/api/jobs/$big/status"
    check_csv "$BASE/api/jobs/$big/download/" "$d/meta.txt" 10000
    read -r JOB_MIN JOB_MAX <<<"${REF_MINMAX[$db]}"; export JOB_MIN JOB_MAX
    wrk -t"$THREADS" -c"$CONNS" -d3s -s "$REF/bench/status.lua" "$BASE" >/dev/null 2>&1 || true
    record "$r" "$t" status 0 "$(run_wrk "$d/status.txt" -s "$REF/bench/status.lua" "$BASE")"
    "$PY" "$REF/bench/cpu.py" idle "$pid" 60
    record "$r" "$t" download 10000 "$(run_wrk "$d/download.txt" "$BASE/api/jobs/$big/download/")"
    "$PY" "$REF/bench/cpu.py" idle "$pid" 60
    record "$r" "$t" download_c$CONNS_BIG 10000 \
        "$(CONNS=$CONNS_BIG run_wrk "$d/download_c$CONNS_BIG.txt" "$BASE/api/jobs/$big/download/")"
    "$PY" "$REF/bench/cpu.py" idle "$pid" 60
    record "$r" "$t" create 0 "$(run_wrk "$d/create.txt" -s "$REF/bench/create.lua" "$BASE/api/jobs/create")"
    "$PY" "$REF/bench/cpu.py" idle "$pid" 60
    {
        echo "queued_tasks_after_create $(redis-cli -p "$REDIS_PORT" -n 1 llen celery)"
        echo "gunicorn_master $pid $(awk '/^VmHWM:/{print $2}' "/proc/$pid/status")"
        for k in $(pgrep -P "$pid"); do echo "gunicorn_worker_hwm_kb $k $(awk '/^VmHWM:/{print $2}' "/proc/$k/status")"; done
    } >>"$d/meta.txt"
    stop_tree "$pid"
    redis-cli -p "$REDIS_PORT" flushall >/dev/null
}

# ---------------------------------------------------------------- run
seed_chatter
for db in $(for c in $REF_CONFIGS; do echo "${c%%:*}"; done | sort -u); do seed_ref "$db"; done
TARGETS=()
for t in "${CHATTER_TARGETS[@]}"; do TARGETS+=("$t"); done
for c in $REF_CONFIGS; do TARGETS+=("ref:$c"); done
for r in $(seq 1 "$ROUNDS"); do
    order=("${TARGETS[@]}")
    if [ $((r % 2)) = 0 ]; then   # reverse the order on even rounds: drift hits both sides alike
        order=(); for ((i = ${#TARGETS[@]} - 1; i >= 0; i--)); do order+=("${TARGETS[$i]}"); done
    fi
    log "== round $r/$ROUNDS: ${order[*]}"
    for t in "${order[@]}"; do
        case "$t" in
        chatter-*) bench_chatter "$r" "$t" ;;
        ref:*) bench_ref "$r" "${t#ref:}" ;;
        esac
    done
done
"$PY" "$BENCH_ROOT/bench/report_api.py" "$RESULTS" | tee "$OUT/table.md"
log "raw results in $OUT"
