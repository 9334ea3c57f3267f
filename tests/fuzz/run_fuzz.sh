#!/usr/bin/env bash
# run_fuzz.sh SECONDS - builds tests/fuzz/fuzz_url.c with clang's libFuzzer + ASan + UBSan and runs it for
# SECONDS (default 60) on the committed seed corpus. New inputs go to $CHATTER_FUZZ_OUT/corpus (default
# build-fuzz, not committed); crashes, leaks and UB abort the run (non-zero exit) and leave the input in
# that folder. Needs clang with compiler-rt.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TO_RUN="${1:-60}"
OUT="${CHATTER_FUZZ_OUT:-build-fuzz}"
mkdir -p "$OUT/corpus"
CC="${CC:-clang}"
# shellcheck disable=SC2046
"$CC" -std=c17 -D_GNU_SOURCE -DCHATTER_VERSION='"fuzz"' -g -O1 -Isrc \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
  tests/fuzz/fuzz_url.c src/sources/url.c src/core/err.c src/core/util.c src/core/buf.c \
  $(pkg-config --cflags --libs libcurl gnutls) -o "$OUT/fuzz_url"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
exec "$OUT/fuzz_url" -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
  -artifact_prefix="$OUT/" -print_final_stats=1 "$OUT/corpus" tests/fuzz/corpus_url
