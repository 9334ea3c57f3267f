#!/usr/bin/env bash
# test.sh - the whole test suite, as CI runs it:
#   1. builds chatter (./build) and a sanitizer build (./build-asan, ASan + UBSan);
#   2. runs the unit tests once under the sanitizers;
#   3. runs every test (unit + integration) against the normal build. Integration tests start their own
#      fake platform servers, PostgreSQL and Redis on loopback and stop them afterwards.
# Usage: ./test.sh [ctest args...]     e.g. ./test.sh -R e2e
set -euo pipefail
cd "$(dirname "$0")"
jobs=$(nproc)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCHATTER_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
ctest --test-dir build-asan -L unit --output-on-failure -j"$jobs" "$@"
echo "== all tests"
ctest --test-dir build --output-on-failure "$@"
