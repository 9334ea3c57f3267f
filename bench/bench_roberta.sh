#!/usr/bin/env bash
# bench_roberta.sh - the native RoBERTa engine against PyTorch 1.13 (Debian, OpenBLAS) on the same random-weight
# roberta-base-shaped model, in the same run: comments/s and peak RSS at batch 1, 8 and 32 on the token lengths
# of the real comments in ../shared/data/comments, fp32 and int8; sgemm peak; tokenizer comments/s.
#
#   bench/bench_roberta.sh            (from the repository root, after the cmake build into ./build)
# Environment: N (comments per run, default 128), REPS (best of, default 2), THREADS (default 2),
#   MODEL_DIR (default /tmp/chatter-bench-roberta; generated once with tests/reference/roberta_ref.py).
# Needs python3-torch, and OpenBLAS as the system BLAS for a meaningful PyTorch number:
#   update-alternatives --set libblas.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-128}
REPS=${REPS:-2}
THREADS=${THREADS:-2}
SHARED=${CHATTER_SHARED:-../shared}
MODEL_DIR=${MODEL_DIR:-/tmp/chatter-bench-roberta}
PY=/usr/bin/python3
OUT=bench/out
mkdir -p "$OUT"
cmake --build build --target bench_roberta -j2 > /dev/null
B=./build/bench_roberta

$PY -c 'import torch' 2>/dev/null || { echo "python3-torch is not installed (apt-get install python3-torch)"; exit 1; }
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 || true)
case "$blas" in *openblas*) ;; *) echo "WARNING: system BLAS is $blas, not OpenBLAS: the PyTorch numbers are not comparable" ;; esac

if [ ! -f "$MODEL_DIR/model.safetensors" ]; then
    echo "generating the random-weight roberta-base model in $MODEL_DIR ..."
    $PY tests/reference/roberta_ref.py gen "$MODEL_DIR" --size base --formats safetensors --inputs 1 2> /dev/null
fi
cp "$SHARED/data/roberta-base/vocab.json" "$SHARED/data/roberta-base/merges.txt" "$MODEL_DIR/"

# Real comments -> token lengths with the real tokenizer (+ its throughput). The issue's workload: 8-96 tokens.
$PY bench/comments_text.py "$SHARED" > "$OUT/texts.txt"
$B lengths "$MODEL_DIR" "$OUT/texts.txt" > "$OUT/lens_all.txt" 2> "$OUT/tokenizer.json"
awk -v n="$N" '$1 >= 8 && $1 <= 96 && c < n { print; c++ }' "$OUT/lens_all.txt" > "$OUT/lens.txt"
head -n 64 "$OUT/lens.txt" > "$OUT/lens64.txt"
for _ in $(seq 64); do echo 16; done > "$OUT/lens16.txt"

# Environment ONLY=REGEX runs just the matching workloads.
: > "$OUT/runs.jsonl"
: > "$OUT/sgemm.jsonl"
run() { # name lensfile batch order quantize
    local name=$1 lens=$2 batch=$3 order=$4 q=$5
    if [ -n "${ONLY:-}" ] && ! [[ $name =~ $ONLY ]]; then return; fi
    # the sgemm peak is re-measured next to every workload and the best kept: on a shared machine a single
    # measurement can land in a busy moment and flatter the engine's percentage
    $B sgemm --threads "$THREADS" >> "$OUT/sgemm.jsonl"
    for r in $(seq "$REPS"); do # interleaved, so a busy machine slows both sides alike
        $B speed "$MODEL_DIR" "$lens" --batch "$batch" --order "$order" --quantize "$q" --threads "$THREADS" |
            sed "s/^{/{\"name\": \"$name\", \"impl\": \"chatter\", /" >> "$OUT/runs.jsonl"
        $PY bench/roberta_torch.py "$MODEL_DIR" "$lens" --batch "$batch" --order "$order" --quantize "$q" --threads "$THREADS" |
            sed "s/^{/{\"name\": \"$name\", /" >> "$OUT/runs.jsonl"
    done
    echo "  done: $name" >&2
}
run "fp32 batch 32, input order" "$OUT/lens.txt" 32 input none
run "fp32 batch 32, sorted" "$OUT/lens.txt" 32 sorted none
run "fp32 batch 8, input order" "$OUT/lens.txt" 8 input none
run "fp32 batch 1" "$OUT/lens64.txt" 1 input none
run "fp32 batch 1, 16 tokens" "$OUT/lens16.txt" 1 input none
run "int8 batch 32, input order" "$OUT/lens.txt" 32 input int8
run "int8 batch 8, input order" "$OUT/lens.txt" 8 input int8
run "int8 batch 1" "$OUT/lens64.txt" 1 input int8

$PY - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
runs = [json.loads(l) for l in open(os.path.join(out, "runs.jsonl"))]
sg = [json.loads(l) for l in open(os.path.join(out, "sgemm.jsonl"))]
peak = max(x["sgemm_gflops"] for x in sg)
tok = json.load(open(os.path.join(out, "tokenizer.json")))
names = list(dict.fromkeys(r["name"] for r in runs))
print("sgemm peak (OpenBLAS 2048^3 per thread, %d threads of our own, best of %d measurements): %.1f GFLOP/s (worst %.1f)"
      % (sg[0]["threads"], len(sg), peak, min(x["sgemm_gflops"] for x in sg)))
print("tokenizer: %.0f comments/s on one core (%d comments)\n" % (tok["tokenizer_comments_per_s"], tok["tokenizer_comments"]))
print("| workload | chatter comments/s | PyTorch comments/s | ratio | chatter useful GFLOP/s | % of sgemm peak | chatter peak RSS MB | PyTorch peak RSS MB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for n in names:
    c = max((r for r in runs if r["name"] == n and r["impl"] == "chatter"), key=lambda r: r["comments_per_s"])
    t = max((r for r in runs if r["name"] == n and r["impl"] != "chatter"), key=lambda r: r["comments_per_s"])
    print("| %s (%d comments, %d tokens) | %.2f | %.2f | %.2fx | %.1f | %.0f%% | %.0f | %.0f |" % (
        n, c["comments"], c["tokens"], c["comments_per_s"], t["comments_per_s"], c["comments_per_s"] / t["comments_per_s"],
        c["gflops"], 100 * c["gflops"] / peak, c["peak_rss_mb"], t["peak_rss_mb"]))
PY
