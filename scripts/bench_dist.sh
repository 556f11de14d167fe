#!/usr/bin/env bash
# Multi-process gate training vs threads on one machine (issue 17; a benchmark, not a test):
# the same 2-sample steps of 2K tokens as 1 process x 2 threads and as 2 processes x 1 thread
# (--nproc 2), side by side in one run. Prints each run's median step time and the share of the
# step spent gathering and reducing the gradients (duo train's closing log line), and checks
# that 2 processes x 1 thread ended with the same gates as 1 process x 1 thread.
#   scripts/bench_dist.sh                    duo-tiny (4 layers, hidden 128), 6 steps
#   MODEL=bench STEPS=3 scripts/bench_dist.sh  a random 12-layer, hidden 768 Llama (configs/models/bench-12l-768.yaml)
# Needs a built duo (scripts/build.sh); DUO=path overrides build/duo.
set -euo pipefail
cd "$(dirname "$0")/.."
DUO=${DUO:-build/duo}
STEPS=${STEPS:-6}
TOKENS=${TOKENS:-2048}
MODEL=${MODEL:-tiny}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
sed -e "s/^context_min: .*/context_min: $((TOKENS - 100))/" -e "s/^context_max: .*/context_max: $TOKENS/" \
    -e 's/^num_samples: .*/num_samples: 16/' configs/data/duo-tiny.yaml > "$TMP/data.yaml"
model=models/duo-tiny
if [ "$MODEL" = bench ]; then
  "$DUO" make-checkpoint -q --preset configs/models/bench-12l-768.yaml --out "$TMP/model" >/dev/null
  model=$TMP/model
fi
args=(train --config configs/train/duo-tiny.yaml --set model="$model" --set tokenizer=models/duo-tiny
      --set data_config="$TMP/data.yaml" --set steps="$STEPS" --set batch_size=2 --set checkpoint_every=0)
echo "model $model, $STEPS steps of 2 samples x $TOKENS tokens, $(nproc) cores"
echo "== 1 process x 2 threads"
"$DUO" "${args[@]}" --threads 2 --set output_dir="$TMP/one" 2>&1 | tr '\r' '\n' | grep -E "median step" || true
echo "== 2 processes x 1 thread (--nproc 2)"
"$DUO" "${args[@]}" --threads 1 --nproc 2 --set output_dir="$TMP/two" 2>&1 | tr '\r' '\n' | grep -E "median step" || true
echo "== 1 process x 1 thread (the gates' reference for 2 x 1)"
"$DUO" "${args[@]}" --threads 1 --set output_dir="$TMP/ref" 2>&1 | tr '\r' '\n' | grep -E "median step" || true
same() { cmp -s "$TMP/$1/full_attention_heads.tsv" "$TMP/$2/full_attention_heads.tsv" && echo identical || echo differ; }
echo "gates, 2 processes x 1 thread vs 1 process x 1 thread: $(same two ref) (must be identical)"
maxdiff() { paste <(tr '\t' '\n' < "$TMP/$1/full_attention_heads.tsv") <(tr '\t' '\n' < "$TMP/$2/full_attention_heads.tsv") |
  awk '{d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d} END {printf "%.3g", m}'; }
echo "gates, 2 processes x 1 thread vs 1 process x 2 threads: $(same two one), max |difference| $(maxdiff two one)" \
  "(may differ: a sample's gradient depends on the threads that sum it)"
