#!/usr/bin/env bash
# demo.sh - the whole product on one machine without a YouTube key: builds chatter, installs the VADER
# lexicon, starts a local fake YouTube Data API (real public comments from ../shared/data/comments),
# starts `chatter serve` against it, submits a job of five videos, waits, and saves the CSV.
# The server keeps running (http://127.0.0.1:8080) until Ctrl-C.
#   ./scripts/demo.sh            (runs ./setup.sh first: installs packages with apt and builds)
#   SKIP_SETUP=1 ./scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${CHATTER_SHARED:-$(cd .. && pwd)/shared}"
PORT="${PORT:-8080}" FAKE_PORT="${FAKE_PORT:-8091}"
WORK="${WORK:-$PWD/demo}"
[ -n "${SKIP_SETUP:-}" ] || ./setup.sh
mkdir -p "$WORK"
export CHATTER_MODEL_DIR="$WORK/models"
if [ -d "$SHARED/data/vader" ]; then
  ./build/chatter model fetch vader --from "$SHARED/data/vader"
else
  ./build/chatter model fetch vader
fi

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

CHATTER_SHARED="$SHARED" python3 tests/fakes/fake_youtube.py --port "$FAKE_PORT" --key demo-key >"$WORK/fake.log" 2>&1 &
pids+=($!)
export YOUTUBE_API_KEY=demo-key CHATTER_YOUTUBE_API_URL="http://127.0.0.1:$FAKE_PORT/youtube/v3"
export DATABASE_URL="sqlite://$WORK/chatter.db"
./build/chatter serve --listen "127.0.0.1:$PORT" &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

job=$(curl -fs -X POST "http://127.0.0.1:$PORT/api/jobs" -H 'Content-Type: application/json' -d '{
  "urls": ["https://www.youtube.com/watch?v=9bZkp7q19f0", "https://youtu.be/CevxZvSJLk8",
           "https://www.youtube.com/watch?v=KQ6zr6kCPj8", "https://www.youtube.com/shorts/uelHwf8o7_U",
           "https://m.youtube.com/watch?v=pRpeEdMmmQ0", "https://youtu.be/DISABLED_01"],
  "max_comments_per_post": 0, "include_replies": true}')
id=$(printf '%s' "$job" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "job $id submitted; waiting..."
while :; do
  status=$(curl -fs "http://127.0.0.1:$PORT/api/jobs/$id" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["status"])')
  case "$status" in done|partial|failed) break ;; esac
  sleep 0.5
done
curl -fs "http://127.0.0.1:$PORT/api/jobs/$id" | python3 -c '
import json, sys
j = json.load(sys.stdin)
print("counts:", j["counts"], "labels:", j["labels"])
for p in j["posts"]:
    print("  %s: %s, %d comments %s" % (p["url"], p["status"], p["comment_count"], p.get("reason") or ""))'
curl -fs "http://127.0.0.1:$PORT/api/jobs/$id/results.csv" -o "$WORK/job-$id.csv"
echo "job $id is $status; its CSV is saved to $WORK/job-$id.csv"
echo "chatter is serving http://127.0.0.1:$PORT (Ctrl-C to stop)"
wait
