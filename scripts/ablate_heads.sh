#!/usr/bin/env bash
# Per-head ablation: for every KV head, a mask that streams that one head (all others full) is
# exported with `duo export` and scored with `duo niah`; the table shows which heads a model
# cannot do without. On duo-tiny only layer 1, head 7 matters alone (see README.md, the demo).
#   scripts/ablate_heads.sh [MODEL] [EVAL_CONFIG] [OUT]
# defaults: models/duo-tiny, configs/eval/duo-tiny.yaml, outputs/ablation; needs a built ./build/duo
# (scripts/demo.sh or scripts/build.sh). SINK / RECENT (default 16 / 64) set the deploy window
# (--deploy-sink / --deploy-recent), THREADS the CPU threads. Writes OUT/ablation.tsv (layer,
# head, mean score) and prints it as a grid.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/duo-tiny}
EVAL=${2:-configs/eval/duo-tiny.yaml}
OUT=${3:-outputs/ablation}
DUO=${DUO:-./build/duo}
SINK=${SINK:-16}
RECENT=${RECENT:-64}
THREADS=${THREADS:-0}
[ -x "$DUO" ] || { echo "ablate_heads: $DUO not found; build first (scripts/build.sh)" >&2; exit 1; }
layers=$(grep -o '"num_hidden_layers": *[0-9]*' "$MODEL/config.json" | grep -o '[0-9]*$')
kv=$(grep -o '"num_key_value_heads": *[0-9]*' "$MODEL/config.json" | grep -o '[0-9]*$')
[ -n "$kv" ] || kv=$(grep -o '"num_attention_heads": *[0-9]*' "$MODEL/config.json" | grep -o '[0-9]*$')
mkdir -p "$OUT"
table="$OUT/ablation.tsv.tmp"
printf 'layer\thead\tscore\n' > "$table"
for ((l = 0; l < layers; ++l)); do
  for ((h = 0; h < kv; ++h)); do
    d="$OUT/L${l}H${h}"
    mkdir -p "$d"
    # Gates: 1 everywhere but 0 at (l, h); threshold 0.5 streams exactly that head.
    for ((i = 0; i < layers; ++i)); do
      row=""
      for ((j = 0; j < kv; ++j)); do
        g=1; [ $i -eq $l ] && [ $j -eq $h ] && g=0
        row="${row:+$row	}$g"
      done
      echo "$row"
    done > "$d/gates.tsv"
    "$DUO" export --gates "$d/gates.tsv" --threshold 0.5 --deploy-sink "$SINK" --deploy-recent "$RECENT" \
      --out "$d/mask" > /dev/null
    "$DUO" niah -q --model "$MODEL" --mask "$d/mask" --config "$EVAL" --out "$d/eval" --threads "$THREADS"
    # results.csv: score is column 6; the mean over the grid.
    score=$(awk -F, 'NR > 1 { s += $6; n++ } END { printf "%.3f", n ? s / n : 0 }' "$d/eval/results.csv")
    printf '%d\t%d\t%s\n' "$l" "$h" "$score" >> "$table"
    echo "ablate_heads: layer $l head $h streaming: $score"
  done
done
mv "$table" "$OUT/ablation.tsv"
echo "score with one head streaming (rows: layers, columns: KV heads):"
awk -F'\t' 'NR > 1 { if ($2 == 0 && NR > 2) printf "\n"; printf "%s ", $3 } END { printf "\n" }' "$OUT/ablation.tsv"
