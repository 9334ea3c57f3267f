#!/usr/bin/env bash
# bench_vader.sh - `chatter analyze --analyzer vader` comments/s on one thread, over the TweetEval texts of
# ../shared/data/vader/tweeteval_test_first2000.jsonl repeated to LINES lines (real tweets: mentions, emoji,
# hashtags). Reports wall-clock and per-CPU-second rates for each of RUNS runs and their median, and checks
# that every input line got an output row.
#
#   cmake --build build && bash bench/bench_vader.sh
#   env: LINES=300000 RUNS=3 FORMAT=csv|jsonl
set -euo pipefail
. "$(dirname "$0")/lib.sh"
LINES=${LINES:-300000} RUNS=${RUNS:-3} FORMAT=${FORMAT:-csv}
WORK=$(mktemp -d /tmp/chatter-bench-vader.XXXXXX)
trap 'bench_stop_all; rm -rf "$WORK"' EXIT
[ -x "$CHATTER" ] || { log "build chatter first ($CHATTER)"; exit 2; }

# one comment per line: newlines inside a tweet become spaces
"$PY" - "$SHARED/data/vader/tweeteval_test_first2000.jsonl" "$LINES" >"$WORK/in.txt" <<'EOF'
import json, sys
texts = [" ".join(json.loads(l)["text"].splitlines()) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
n = int(sys.argv[2])
out = sys.stdout
for i in range(n):
    out.write(texts[i % len(texts)] + "\n")
EOF
bytes=$(wc -c <"$WORK/in.txt")
log "input: $LINES lines, $bytes bytes (TweetEval test, first 2000, repeated)"

rates=()
for r in $(seq 1 "$RUNS"); do
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" env OPENBLAS_NUM_THREADS=1 \
        "$CHATTER" analyze --analyzer vader --model-dir "$SHARED/data/vader" --format "$FORMAT" "$WORK/in.txt" \
        >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
    rows=$(wc -l <"$WORK/out")
    [ "$FORMAT" = csv ] && rows=$((rows - 1))   # header
    [ "$rows" -eq "$LINES" ] || { log "expected $LINES output rows, got $rows"; exit 1; }
    read -r wall user sys maxrss <"$WORK/time"
    line=$("$PY" -c 'import sys; n,w,u,s,m=int(sys.argv[1]),*map(float,sys.argv[2:5]),int(sys.argv[5]);
print(f"{n/w:.0f} {n/(u+s):.0f} {w:.2f} {u+s:.2f} {m/1024:.1f}")' "$LINES" "$wall" "$user" "$sys" "$maxrss")
    read -r per_wall per_cpu w c m <<<"$line"
    log "run $r: $LINES comments in ${w}s wall, ${c}s CPU: $per_wall comments/s wall, $per_cpu per CPU-second; max RSS ${m} MiB"
    rates+=("$per_wall $per_cpu")
done
printf '%s\n' "${rates[@]}" | "$PY" -c 'import sys, statistics as st
r=[tuple(map(float,l.split())) for l in sys.stdin if l.strip()]
print(f"chatter analyze (VADER, 1 thread, {sys.argv[1]} lines, {sys.argv[2]}): median {st.median(x[0] for x in r):,.0f} comments/s wall, "
      f"{st.median(x[1] for x in r):,.0f} comments per CPU-second (runs: " + ", ".join(f"{x[0]:,.0f}" for x in r) + ")")' "$LINES" "$FORMAT"
