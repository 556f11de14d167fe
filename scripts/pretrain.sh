#!/usr/bin/env bash
# Trains the built-in model duo-tiny with the committed recipe and copies it to models/duo-tiny.
# Resumable: run it again after an interruption and it continues from the last checkpoint.
#   bash scripts/pretrain.sh            (OUT=outputs/duo-tiny-run THREADS=1 by default)
# On a busy 2-core machine one thread is far faster than two (OpenMP threads that lose their
# core stall each other); use THREADS=2 only when the machine is otherwise idle.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-outputs/duo-tiny-run}
THREADS=${THREADS:-1}
DUO=${DUO:-./${BUILD_DIR:-build}/duo}
[ -x "$DUO" ] || bash scripts/build.sh
RESUME=()
[ -f "$OUT/checkpoint.safetensors" ] && RESUME=(--resume)
"$DUO" pretrain --config configs/pretrain/duo-tiny.yaml --out "$OUT" --threads "$THREADS" "${RESUME[@]}"
mkdir -p models/duo-tiny
cp "$OUT"/model/{config.json,model.safetensors,tokenizer.json,generation_config.json} models/duo-tiny/
cp "$OUT"/recall.txt models/duo-tiny/recall.txt 2>/dev/null || true
echo "pretrain: model copied to models/duo-tiny"
