#!/usr/bin/env bash
# The main job on the built-in model. Until the full pipeline lands this shows `duo info` and
# `duo forward` on a small checkpoint that it writes itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
OUT=outputs/demo
mkdir -p "$OUT"
./build/duo make-checkpoint --preset configs/models/tiny-llama.yaml --out "$OUT/tiny-llama" --seed 0
./build/duo info --model "$OUT/tiny-llama"
./build/duo forward --model "$OUT/tiny-llama" --ids 1,2,3,4,5,6,7,8 --out "$OUT/forward.h5"
echo "demo: wrote $OUT/forward.h5 (datasets logits, hidden)"
