#!/usr/bin/env bash
# Builds the whole suite with -fsanitize=address,undefined (every UB report fatal) into
# build-sanitize/ and runs it through ctest; prints how long the build and the tests took.
# Not part of CI (see README: it takes longer than CI's budget allows on 2 cores).
#   scripts/sanitize.sh [ctest args...]      e.g. scripts/sanitize.sh -R 'Safetensors|Hdf5'
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-sanitize}
bash scripts/setup.sh
bash scripts/fixtures.sh
start=$(date +%s)
BUILD_DIR="$BUILD_DIR" bash scripts/build.sh -DDUO_SANITIZE=ON
built=$(date +%s)
export DUO_FIXTURES=${DUO_FIXTURES:-$HOME/.cache/duo/fixtures}
# LeakSanitizer runs at every process exit; UBSan stops at the first report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
rc=0
(cd "$BUILD_DIR" && ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 3600 "$@") || rc=$?
end=$(date +%s)
echo "sanitize: build $((built - start)) s, tests $((end - built)) s, exit $rc"
exit $rc
