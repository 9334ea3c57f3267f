#!/usr/bin/env bash
# test_roberta_cli.sh - `model run` / `model info` on the committed tiny model: logits in input order within 2e-5
# of the float64 reference for both checkpoint formats and several batch sizes, int8, and the exit codes.
set -euo pipefail
. "$(dirname "$0")/roberta_lib.sh"
CMD=$(model_cmd)
FIX="$SRC/tests/fixtures/tiny-roberta"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# both formats, from a directory holding only one of them
for fmt in model.safetensors pytorch_model.bin; do
    mkdir -p "$tmp/$fmt"
    cp "$FIX/config.json" "$FIX/$fmt" "$tmp/$fmt/"
    for batch in 1 3 32; do
        $CMD run "$tmp/$fmt" --batch "$batch" < "$FIX/inputs.jsonl" > "$tmp/out.jsonl"
        compare_logits "$tmp/out.jsonl" "$FIX/expected.jsonl" 2e-5
    done
    $CMD info "$tmp/$fmt" > "$tmp/info.json"
    /usr/bin/python3 - "$tmp/info.json" "$fmt" <<'PY'
import json, sys
i = json.load(open(sys.argv[1]))
assert i["format"] == ("safetensors" if sys.argv[2].endswith("safetensors") else "pytorch"), i
assert i["config"]["layers"] == 2 and i["config"]["hidden"] == 32, i
assert [l["label"] for l in i["labels"]] == ["negative", "neutral", "positive"], i
# tiny: embeddings 100*32+40*32+32+64, 2 layers of 4*(32*32+32)+2*64+(32*64+64)+(64*32+32), head 32*32+32+3*32+3
assert i["parameters"] == 3200 + 1280 + 32 + 64 + 2 * (4 * 1056 + 2 * 64 + 2112 + 2080) + 1056 + 99, i["parameters"]
PY
done
$CMD run "$FIX" --quantize int8 < "$FIX/inputs.jsonl" > "$tmp/int8.jsonl"
compare_logits "$tmp/int8.jsonl" "$FIX/expected.jsonl" 0.25

# exit codes: usage 2, runtime 1
set +e
$CMD run > /dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: no DIR should exit 2"; exit 1; }
$CMD run "$FIX" --quantize int4 < /dev/null > /dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: bad --quantize should exit 2"; exit 1; }
$CMD run "$FIX" --help > /dev/null; [ $? -eq 0 ] || { echo "FAIL: --help should exit 0"; exit 1; }
$CMD run "$tmp/nonexistent" < /dev/null > /dev/null 2>&1; [ $? -eq 1 ] || { echo "FAIL: missing model should exit 1"; exit 1; }
echo '[0, 5, 2' | $CMD run "$FIX" > /dev/null 2> "$tmp/err"; [ $? -eq 1 ] || { echo "FAIL: bad JSON should exit 1"; exit 1; }
grep -q "line 1" "$tmp/err" || { echo "FAIL: error should name the line"; cat "$tmp/err"; exit 1; }
echo '[0, 500, 2]' | $CMD run "$FIX" > /dev/null 2> "$tmp/err"; [ $? -eq 1 ] || { echo "FAIL: id outside vocab should exit 1"; exit 1; }
set -e
echo "PASS"
