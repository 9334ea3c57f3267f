#!/usr/bin/env bash
# A short libFuzzer run of url_parse in every CI run (CHATTER_FUZZ_SECONDS, default 15). Skips when clang
# or its libFuzzer runtime is missing; any crash, leak or UB fails the test.
set -euo pipefail
src="${CHATTER_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz_url: skipped (no clang)"
  exit 0
fi
out="$(mktemp -d /tmp/chatter-fuzz.XXXXXX)"
trap 'rm -rf "$out"' EXIT
probe="$out/probe.c"
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' > "$probe"
if ! clang -fsanitize=fuzzer "$probe" -o "$out/probe" >/dev/null 2>&1; then
  echo "fuzz_url: skipped (clang has no libFuzzer runtime)"
  exit 0
fi
CHATTER_FUZZ_OUT="$out" "$src/tests/fuzz/run_fuzz.sh" "${CHATTER_FUZZ_SECONDS:-15}" > "$out/log" 2>&1 || {
  tail -50 "$out/log"
  echo "fuzz_url: FAILED"
  exit 1
}
grep -E "^stat::number_of_executed_units|^Done" "$out/log" || true
echo "fuzz_url: passed"
