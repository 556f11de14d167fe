#!/usr/bin/env bash
# Builds the benchmark programs (tests/bench, -DDUO_BENCH=ON, into build-bench/) and runs the
# ones named (default: all). Each prints ratios measured side by side in one run; run them on an
# otherwise idle machine. Not part of the test suite.
#   scripts/bench.sh                      all of them (tens of minutes on 2 cores)
#   scripts/bench.sh tokenizer attention  only these
# Extra arguments per program: FORWARD_ARGS, ATTENTION_ARGS, TOKENIZER_ARGS, TRAIN_ARGS, DECODE_ARGS,
# STEP_ARGS, STREAM_ARGS, GEMM_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/fixtures.sh
BUILD_DIR=build-bench bash scripts/build.sh -DDUO_BENCH=ON
export DUO_FIXTURES=${DUO_FIXTURES:-$HOME/.cache/duo/fixtures}
which=("$@")
[ ${#which[@]} -gt 0 ] || which=(tokenizer forward attention train decode step stream gemm)
for b in "${which[@]}"; do
  echo "=== $b"
  case "$b" in
    tokenizer) ./build-bench/tokenizer_bench ${TOKENIZER_ARGS:---runs 5} ;;
    forward)   ./build-bench/forward_bench ${FORWARD_ARGS:---sizes 1024,4096,16384 --runs 3} ;;
    attention) ./build-bench/attention_bench ${ATTENTION_ARGS:---sizes 4096,16384,32768 --reps 3} ;;
    train)     ./build-bench/train_bench ${TRAIN_ARGS:---sizes 1024,2048,4096,8192 --long 32768} ;;
    decode)    ./build-bench/duo bench --model configs/models/bench-12l-768.yaml --mask random:0.75 \
                 ${DECODE_ARGS:---contexts 4096,16384,32768} --out outputs/bench/decode.json ;;
    step)      ./build-bench/decode_step_bench ${STEP_ARGS:---context 4096 --rounds 64} ;;
    stream)    ./build-bench/decode_stream_bench ${STREAM_ARGS:---tokens 32768 --rounds 8} ;;
    gemm)      ./build-bench/gemm_bench ${GEMM_ARGS:---rows 4096 --rounds 7} ;;
    *) echo "unknown benchmark '$b'; expected tokenizer, forward, attention, train, decode, step, stream or gemm" >&2
       exit 2 ;;
  esac
done
