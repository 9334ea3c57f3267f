#!/usr/bin/env bash
# bench_pipeline.sh - end-to-end posts/s and comments/s with 1, 2 and 4 workers: one job of POSTS YouTube
# videos of COMMENTS comments each, served by a fake YouTube API that answers every request after DELAY_MS,
# classified by VADER (ANALYZER=roberta MODEL_DIR=... for the transformer), from POST to the finished status.
#
#   cmake --build build && bash bench/bench_pipeline.sh
#   ANALYZER=roberta POSTS=20 COMMENTS=10 WORKERS=1 bash bench/bench_pipeline.sh   (random-weight roberta-base
#   generated on the fly unless MODEL_DIR is given: the issue's overhead target is for the transformer)
#   env: POSTS=200 COMMENTS=200 PAGE=100 DELAY_MS=50 WORKERS="1 2 4" REPEAT=1 OUT=DIR
#        MODES="sqlite pg+redis"   sqlite = `chatter serve --workers N` (embedded default);
#                                  pg+redis = `chatter serve --no-workers` + N `chatter worker --concurrency 1`
#                                  processes (only when src/store/postgres.c exists); sqlite+redis = the same
#                                  processes sharing one SQLite file
#
# Pipeline overhead = wall - (fetch + classify) / N, as a share of wall, where
#   fetch    = seconds the fake spent answering this job's requests (its fixed delay included: the upstream
#              latency a real API would add), summed over requests;
#   classify = comments / the rate of `chatter analyze` on exactly these texts (minus its model loading),
#              measured here (one thread for VADER; the transformer uses its own thread pool);
#   N        = concurrent workers (each processes one post at a time: fetch, then classify).
# So the overhead is everything else: queueing, HTTP client and JSON parsing, storage, job bookkeeping,
# and idle workers at the end of the job (the last posts). A negative value means N workers overlapped
# better than the sum suggests (e.g. classify ran on more cores than one).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
POSTS=${POSTS:-200} COMMENTS=${COMMENTS:-200} PAGE=${PAGE:-100} DELAY_MS=${DELAY_MS:-50}
WORKERS=${WORKERS:-"1 2 4"} REPEAT=${REPEAT:-1}
ANALYZER=${ANALYZER:-vader}
MODEL_DIR=${MODEL_DIR:-}
MODES=${MODES:-"sqlite pg+redis"}
OUT=${OUT:-/tmp/chatter-bench-pipeline-$(date -u +%Y%m%dT%H%M%S)}
WORK=$(mktemp -d /tmp/chatter-bench-pipe.XXXXXX)
mkdir -p "$OUT"
trap 'bench_stop_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
[ -x "$CHATTER" ] || { log "build chatter first ($CHATTER)"; exit 2; }
need curl redis-server redis-cli
if [ -z "$MODEL_DIR" ] && [ "$ANALYZER" = roberta ]; then
    # No trained weights on this machine: a random-weight model of the full roberta-base shape costs the same
    # to run (tests/reference/roberta_ref.py, needs python3-torch), with the real tokenizer files.
    MODEL_DIR=$WORK/roberta
    log "generating a random-weight roberta-base in $MODEL_DIR (about a minute)"
    "$PY" "$BENCH_ROOT/tests/reference/roberta_ref.py" gen "$MODEL_DIR" --size base --formats safetensors \
        --inputs 1 >"$WORK/gen.log" 2>&1 || { cat "$WORK/gen.log" >&2; exit 1; }
    cp "$SHARED/data/roberta-base/vocab.json" "$SHARED/data/roberta-base/merges.txt" "$MODEL_DIR/"
fi
MODEL_DIR=${MODEL_DIR:-$SHARED/data/vader}
RESULTS=$OUT/results.jsonl
: >"$RESULTS"

modes=()
for m in $MODES; do
    if [[ $m == pg* ]] && ! has_pg_store; then log "no src/store/postgres.c: skipping $m"; continue; fi
    modes+=("$m")
done
[[ " ${modes[*]} " == *redis* ]] && redis_start
[[ " ${modes[*]} " == *pg* ]] && pg_start

start_fake "$BENCH_ROOT/bench/fake_youtube_many.py" --videos "$POSTS" --comments "$COMMENTS" --port 0 \
    --page-size "$PAGE" --delay-ms "$DELAY_MS" --dump-texts "$WORK/texts.txt"
FAKE=http://127.0.0.1:$FAKE_PORT
for _ in $(seq 1 100); do [ -s "$WORK/texts.txt" ] && break; sleep 0.05; done

# classify alone on the very texts the job will classify: `chatter analyze` on them minus `chatter analyze` on
# one line (model loading, which the server does before the job starts); best of 3, the least disturbed run
analyze_s() {   # FILE -> seconds
    /usr/bin/time -f "%e" -o "$WORK/t" env OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" "$CHATTER" analyze \
        --analyzer "$ANALYZER" --model-dir "$MODEL_DIR" "$1" >/dev/null 2>"$WORK/analyze.err" ||
        { cat "$WORK/analyze.err" >&2; return 1; }
    cat "$WORK/t"
}
head -1 "$WORK/texts.txt" >"$WORK/one.txt"
ntexts=$(wc -l <"$WORK/texts.txt")
classify_rate=$(for _ in 1 2 3; do echo "$(analyze_s "$WORK/texts.txt") $(analyze_s "$WORK/one.txt")"; done |
    "$PY" -c 'import sys; n=int(sys.argv[1]); d=min(float(a)-float(b) for a,b in (l.split() for l in sys.stdin)); print(f"{n/max(d,0.01):.1f}")' "$ntexts")
log "classify alone: $classify_rate comments/s ($ANALYZER, $ntexts texts)"

{
    echo "date $(date -u +%FT%TZ)"; echo "nproc $(nproc)"; grep -m1 'model name' /proc/cpuinfo || true
    echo "chatter $(git -C "$BENCH_ROOT" rev-parse --short HEAD)"
    echo "POSTS=$POSTS COMMENTS=$COMMENTS PAGE=$PAGE DELAY_MS=$DELAY_MS WORKERS=$WORKERS MODES=${modes[*]} ANALYZER=$ANALYZER"
    echo "classify_rate=$classify_rate"
} >"$OUT/env.txt"

CH_ENV=(env CHATTER_JOBS_PER_MINUTE=0 CHATTER_MAX_ACTIVE_JOBS=0 CHATTER_LOG_LEVEL=warn YOUTUBE_API_KEY=bench
        CHATTER_YOUTUBE_API_URL="$FAKE/youtube/v3" OPENBLAS_NUM_THREADS=1)

run_one() {   # MODE N REP
    local mode=$1 n=$2 rep=$3 d=$OUT/$1-w$2-r$3 port db pids=() r
    mkdir -p "$d"
    port=$(free_port)
    case "$mode" in
    pg*) pg_fresh_db "bench_w${n}_$rep"; db="postgres://postgres@127.0.0.1:$PG_PORT/bench_w${n}_$rep" ;;
    *) db="sqlite://$WORK/$mode-w$n-$rep.db" ;;
    esac
    [[ $mode == *redis ]] && redis-cli -p "$REDIS_PORT" flushall >/dev/null
    "$CHATTER" migrate --database-url "$db" >/dev/null
    local common=(--database-url "$db" --analyzer "$ANALYZER" --model-dir "$MODEL_DIR")
    if [ "$mode" = sqlite ]; then
        bg_start "$d/serve.log" "${CH_ENV[@]}" "$CHATTER" serve --listen "127.0.0.1:$port" --workers "$n" "${common[@]}"
        pids+=("$BG_PID")
    else
        local redis=(--redis-url "redis://127.0.0.1:$REDIS_PORT/0")
        bg_start "$d/serve.log" "${CH_ENV[@]}" "$CHATTER" serve --listen "127.0.0.1:$port" --no-workers "${common[@]}" "${redis[@]}"
        pids+=("$BG_PID")
        for k in $(seq 1 "$n"); do
            bg_start "$d/worker$k.log" "${CH_ENV[@]}" "$CHATTER" worker --concurrency 1 "${common[@]}" "${redis[@]}"
            pids+=("$BG_PID")
        done
    fi
    wait_http "http://127.0.0.1:$port/healthz"
    sleep 0.5   # workers connect to the broker
    local a b
    a=$(cpu_snap)
    r=$("$PY" "$BENCH_ROOT/bench/pipeline_job.py" "http://127.0.0.1:$port" "$FAKE" "$POSTS" "$COMMENTS") ||
        { log "$mode N=$n: job failed: $r"; tail -5 "$d"/*.log >&2; }
    b=$(cpu_snap)
    local cpu; cpu=$(cpu_delta "$a" "$b")
    for ((k = ${#pids[@]} - 1; k >= 0; k--)); do stop_pid "${pids[$k]}" TERM; done
    echo "{\"mode\": \"$mode\", \"workers\": $n, \"rep\": $rep, \"classify_rate\": $classify_rate, \"cpu\": \"$cpu\", \"job\": ${r:-null}}" >>"$RESULTS"
    log "  $mode workers=$n: $r ($cpu)"
}

for rep in $(seq 1 "$REPEAT"); do
    for mode in "${modes[@]}"; do
        for n in $WORKERS; do run_one "$mode" "$n" "$rep"; done
    done
done

"$PY" - "$RESULTS" "$DELAY_MS" <<'EOF' | tee "$OUT/table.md"
import json, sys, statistics as st
from collections import defaultdict
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
groups = defaultdict(list)
for r in rows:
    j = r["job"]
    if not j or "wall_s" not in j:
        continue
    fetch = j["fake_busy_s"]
    classify = j["comments"] / r["classify_rate"]
    n = r["workers"]
    over = j["wall_s"] - (fetch + classify) / n
    groups[(r["mode"], n)].append((j["wall_s"], j["posts_done"] / j["wall_s"], j["comments"] / j["wall_s"],
                                   fetch, classify, over / j["wall_s"], j["fake_requests"], r["cpu"]))
print(f"| store/queue | workers | wall s | posts/s | comments/s | fetch s (fake, {sys.argv[2]} ms/request) "
      "| classify s (analyze alone) | overhead share | requests |")
print("|---|---|---|---|---|---|---|---|---|")
for (mode, n), g in groups.items():
    m = lambda i: st.median(x[i] for x in g)
    print(f"| {mode} | {n} | {m(0):.2f} | {m(1):.1f} | {m(2):.0f} | {m(3):.1f} | {m(4):.2f} | {100*m(5):.1f}% | {g[0][6]} |")
EOF
log "raw results in $OUT"
