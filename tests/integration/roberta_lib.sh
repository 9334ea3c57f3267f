# roberta_lib.sh - shared by the RoBERTa integration tests (sourced, not a test itself).
# Picks the command that runs `model run|info`: `$CHATTER_BIN model ...` once main.c dispatches to it, else the
# bench_roberta driver built next to it (same code: cmd_model_run.c).
SRC="${CHATTER_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
model_cmd() {
    if [ -n "${CHATTER_BIN:-}" ] && "$CHATTER_BIN" model run --help >/dev/null 2>&1; then
        echo "$CHATTER_BIN model"
    elif [ -n "${CHATTER_BIN:-}" ] && [ -x "$(dirname "$CHATTER_BIN")/bench_roberta" ]; then
        echo "$(dirname "$CHATTER_BIN")/bench_roberta"
    else
        echo "no chatter binary with 'model run' and no bench_roberta (set CHATTER_BIN)" >&2
        return 1
    fi
}
# compare GOT EXPECTED TOL: same number of lines, every logit within TOL; prints the worst difference.
compare_logits() {
    /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import json, sys
got = [json.loads(l)["logits"] for l in open(sys.argv[1]) if l.strip()]
exp = [json.loads(l)["logits"] for l in open(sys.argv[2]) if l.strip()]
tol = float(sys.argv[3])
if len(got) != len(exp):
    sys.exit("FAIL: %d output lines for %d inputs" % (len(got), len(exp)))
worst = max(abs(a - b) for g, e in zip(got, exp) for a, b in zip(g, e))
print("max |logit - reference| = %.3g over %d sequences (tolerance %g)" % (worst, len(got), tol))
sys.exit(0 if worst <= tol else "FAIL: outside tolerance")
PY
}
