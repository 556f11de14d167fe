#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, clang-14, ASan + UBSan, every UB report fatal) into
# build-fuzz/ and runs each target for SECONDS (default 60) on its committed corpus
# (tests/fuzz/corpus/<target>/). Crash, leak and UB reproducers are written into that folder, where
# the corpus replay test of the normal suite (tests/fuzz/corpus_replay_test.cpp) replays them.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 300 safetensors tokenizer
#   UPDATE_CORPUS=1 scripts/fuzz.sh 600       also merge what the run found (minimized) into the
#                                             committed corpus
#   FUZZ_RUNS=1000000 scripts/fuzz.sh 3600    stop each target after 10^6 executions (or SECONDS)
# Installs clang-14, libclang-rt-14-dev and libfuzzer-14-dev when missing (Debian packages).
# Prints one line per target: executions, corpus size, crashes; exits 1 if any target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
shift || true
ALL=(safetensors checkpoint_index model_config tokenizer gate_tsv yaml_options dataset run_state dataset_items
     run_state_items)
[ $# -gt 0 ] && TARGETS=("$@") || TARGETS=("${ALL[@]}")
BUILD_DIR=${BUILD_DIR:-build-fuzz}

bash scripts/setup.sh
missing=()
for p in clang-14 libclang-rt-14-dev libfuzzer-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuzz: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

LAUNCHER=()
command -v ccache >/dev/null 2>&1 && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DDUO_FUZZ=ON -DDUO_TESTS=OFF \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 "${LAUNCHER[@]}" >/dev/null
build_targets=()
for t in "${TARGETS[@]}"; do build_targets+=("fuzz_$t"); done
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" --target "${build_targets[@]}"

# Leaks are checked after every input; UB aborts; a single input may take at most 30 s (the HDF5 reader's own
# guard stops the library after 2 s of CPU time) and 4 GiB
# of resident memory. A single huge allocation returns NULL, as it does outside the sanitizer (an
# HDF5 file can ask the library for a terabyte; duo's own code then sees std::bad_alloc, which the
# targets report as a bug), rather than ending the run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1:allocator_may_return_null=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export OMP_NUM_THREADS=1
LOG_DIR="$BUILD_DIR/logs"
mkdir -p "$LOG_DIR"
status=0
report=()
for t in "${TARGETS[@]}"; do
  seeds="tests/fuzz/corpus/$t"
  work="$BUILD_DIR/corpus/$t"
  mkdir -p "$work"
  log="$LOG_DIR/$t.log"
  before=$(find "$seeds" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s (log: $log)"
  rc=0
  runs=()
  [ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
  "$BUILD_DIR/fuzz_$t" "$work" "$seeds" -max_total_time="$SECONDS_PER_TARGET" "${runs[@]}" -timeout=30 -rss_limit_mb=4096 -malloc_limit_mb=1073741824 \
    -print_final_stats=1 -artifact_prefix="$seeds/" >"$log" 2>&1 || rc=$?
  after=$(find "$seeds" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{print $2}' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{print $2}' | tail -1)
  found=$((after - before))
  if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
    status=1
    grep -m3 -E "ERROR: |BUG in|runtime error|SUMMARY" "$log" || true
  fi
  if [ "${UPDATE_CORPUS:-0}" = "1" ] && [ "$rc" -eq 0 ]; then
    # Keep the valid-* seeds and reproducers; replace the rest with a minimized merge.
    merged="$BUILD_DIR/merged/$t"
    rm -rf "$merged"; mkdir -p "$merged"
    "$BUILD_DIR/fuzz_$t" -merge=1 "$merged" "$seeds" "$work" >>"$log" 2>&1
    find "$seeds" -maxdepth 1 -type f ! -name 'valid-*' ! -name 'crash-*' ! -name 'leak-*' ! -name 'timeout-*' ! -name 'oom-*' -delete
    cp "$merged"/* "$seeds/" 2>/dev/null || true
    # Drop the merged copies of the seeds themselves (same bytes as a valid-* file).
    for v in "$seeds"/valid-*; do
      sum=$(sha1sum "$v" | cut -c1-40)
      rm -f "$seeds/$sum"
    done
  fi
  corpus=$(find "$seeds" "$work" -maxdepth 1 -type f | wc -l)
  report+=("$(printf '%-18s %12s %10s %10s %8s %6s' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "$found" "$rc")")
done
echo
printf '%-18s %12s %10s %10s %8s %6s\n' target executions exec/s corpus crashes exit
for line in "${report[@]}"; do echo "$line"; done
exit $status
