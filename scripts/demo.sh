#!/usr/bin/env bash
# The main job, end to end, on the built-in model models/duo-tiny (a 4-layer, 8-head Llama that
# duo pretrained on passkey retrieval; see models/duo-tiny/README.md):
#   1. installs what is missing and builds `duo`;
#   2. generates gate-training data (classic passkey, 256..1024 tokens)       -> outputs/demo/data.h5
#   3. trains one gate per KV head (distillation + L1, training sink 4 / recent 32)
#                                                                             -> outputs/demo/gates/
#   4. exports masks at 0, 25, 50, 75 and 100% streaming heads (deploy sink 16 / recent 64) and
#      evaluates each with the passkey test at 256..2048 tokens and 5 depths, next to 5 random
#      masks with as many streaming heads                                     -> outputs/demo/sweep/
#   5. prints the summary table and writes it into README.md (between the demo markers).
# SVGs: outputs/demo/gates/gates.svg, outputs/demo/sweep/sweep.svg, and a passkey heatmap per mask
# (outputs/demo/sweep/masks/s=*/eval/niah.svg).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
TARGETS=duo bash scripts/build.sh
DUO=./build/duo
MODEL=models/duo-tiny
OUT=outputs/demo
THREADS=${THREADS:-0}
rm -rf "$OUT"
mkdir -p "$OUT"
start=$(date +%s)

echo "== 1. the built-in model"
$DUO info --model "$MODEL"

echo "== 2. gate-training data"
$DUO gen-data --config configs/data/duo-tiny.yaml --tokenizer "$MODEL" --out "$OUT/data.h5" --threads "$THREADS"

echo "== 3. gate training"
$DUO train --config configs/train/duo-tiny.yaml --set dataset="$OUT/data.h5" --set output_dir="$OUT/gates" \
  --threads "$THREADS"
cat "$OUT/gates/full_attention_heads.tsv"

echo "== 4. masks at several sparsities, each against 5 random masks of the same size"
$DUO sweep --model "$MODEL" --gates "$OUT/gates" --sparsities 0,0.25,0.5,0.75,1 --eval passkey \
  --config configs/eval/duo-tiny.yaml --random 5 --sink 16 --recent 64 --out "$OUT/sweep" --threads "$THREADS"

echo "== 5. summary"
elapsed=$(( $(date +%s) - start ))
{
  echo "<!-- demo:begin (written by scripts/demo.sh; do not edit by hand) -->"
  echo "Passkey accuracy of \`models/duo-tiny\` (exact match of the 5-digit key; 4 lengths 256..2048 x"
  echo "5 depths x 4 keys = 80 prompts per mask; deploy sink 16 / recent 64; KV ratio at 2048 tokens),"
  echo "measured by \`scripts/demo.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, ${elapsed} s after the build):"
  echo
  cat "$OUT/sweep/sweep.md"
  echo "<!-- demo:end -->"
} > "$OUT/summary.md"
cat "$OUT/summary.md"
# Replace the block between the markers in README.md (temp file + rename).
awk -v table="$OUT/summary.md" '
  /<!-- demo:begin/ { while ((getline line < table) > 0) print line; skip = 1; next }
  /<!-- demo:end -->/ { skip = 0; next }
  !skip { print }' README.md > README.md.tmp && mv README.md.tmp README.md
echo "demo: outputs in $OUT (README.md table updated)"
