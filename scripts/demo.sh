#!/usr/bin/env bash
# The main job, as far as the pipeline exists today: installs and builds, then
#   1. writes a small random Llama checkpoint and shows `duo info` and `duo forward` on it;
#   2. imports an official DuoAttention gate pattern and exports deployable masks at several
#      sparsities, printing the true KV-cache ratio of each;
#   3. decodes with full attention and with a 50%-streaming mask side by side (`duo bench`).
# The end-to-end demo on the built-in trained model (models/duo-tiny: gen-data -> train -> export
# -> passkey sweep) replaces this once that model is trained (issue 8).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
DUO=./build/duo
OUT=outputs/demo
rm -rf "$OUT"
mkdir -p "$OUT"

echo "== 1. a small random Llama checkpoint"
$DUO make-checkpoint --preset configs/models/tiny-llama.yaml --out "$OUT/tiny-llama" --seed 0
$DUO info --model "$OUT/tiny-llama"
$DUO forward --model "$OUT/tiny-llama" --ids 1,2,3,4,5,6,7,8 --out "$OUT/forward.h5"

echo "== 2. official gate pattern -> masks"
PATTERN=../shared/reference/duo-attention-patterns/Llama-3-8B-Instruct-Gradient-1048k
if [ -d "$PATTERN" ]; then
  for s in 0.5 0.75 0.9; do
    $DUO export --gates "$PATTERN" --sparsity "$s" --sink 64 --recent 256 --out "$OUT/masks/llama3-gradient-1048k-s$s"
  done
else
  echo "(skipped: $PATTERN not found beside the checkout)"
fi

echo "== 3. full attention vs a 50%-streaming mask, side by side"
$DUO bench --model configs/models/tiny-llama.yaml --mask random:0.5 --sink 16 --recent 64 \
  --contexts 512,2048 --decode-tokens 8 --out "$OUT/bench.json"
echo "demo: outputs in $OUT"
