#!/usr/bin/env bash
# A peer comparison users can run: llama.cpp (the prebuilt CPU build of the npm package
# node-llama-cpp) and `duo bench` one after the other, same shapes, context and threads, printed as
# one table. Not part of the test suite.
#
#   scripts/bench-llamacpp.sh [--context 32768] [--threads 2] [--decode-tokens 16]
#                             [--preset configs/models/bench-12l-768.yaml] [--mask random:0.75]
#                             [--weights f32|f16|both] [--kv-dtype bf16] [--out DIR]
#
# 1. installs node-llama-cpp with npm into $DUO_CACHE/llamacpp (default ~/.cache/duo/llamacpp:
#    outside the clone, as the tokenizer fixtures are);
# 2. writes a random GGUF with the preset's shapes (scripts/gguf_random.py, our own writer) in the
#    same cache;
# 3. runs llama.cpp (f16 KV cache, its default; flash attention) then `duo bench` (full attention
#    and the mask, KV dtype --kv-dtype, lean prefill);
# 4. prints one table per weight precision (and writes DIR/llamacpp-W.json, DIR/duo-W.json and
#    DIR/table.md with every table).
# Weights, matched: an F32 GGUF against duo's fp32 weights (--weights f32), an F16 GGUF against
# duo's weight matrices stored in bf16 under fp32 compute (--weights f16: duo bench --weight-dtype
# bf16); --weights both runs the two one after the other.
set -euo pipefail
cd "$(dirname "$0")/.."
CONTEXT=32768
THREADS=2
DECODE=16
PRESET=configs/models/bench-12l-768.yaml
MASK=random:0.75
WEIGHTS=f32
KV_DTYPE=bf16
OUT=outputs/bench-llamacpp
NODE_LLAMA_CPP_VERSION=${NODE_LLAMA_CPP_VERSION:-3.22.1}
while [ $# -gt 0 ]; do
  case "$1" in
    --context) CONTEXT=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --decode-tokens) DECODE=$2; shift 2 ;;
    --preset) PRESET=$2; shift 2 ;;
    --mask) MASK=$2; shift 2 ;;
    --weights) WEIGHTS=$2; shift 2 ;;
    --kv-dtype) KV_DTYPE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-llamacpp: unknown argument '$1'; expected one of the options in --help" >&2; exit 2 ;;
  esac
done
case "$WEIGHTS" in f32|f16) LIST=("$WEIGHTS") ;; both) LIST=(f32 f16) ;;
  *) echo "bench-llamacpp: --weights must be f32, f16 or both; got '$WEIGHTS'" >&2; exit 2 ;; esac
[ -f "$PRESET" ] || { echo "bench-llamacpp: preset '$PRESET' not found; expected configs/models/*.yaml" >&2; exit 2; }
CACHE=${DUO_CACHE:-$HOME/.cache/duo}/llamacpp
mkdir -p "$CACHE" "$OUT"

if [ ! -f "$CACHE/node_modules/node-llama-cpp/package.json" ]; then
  echo "== installing node-llama-cpp@$NODE_LLAMA_CPP_VERSION into $CACHE"
  (cd "$CACHE" && npm install --no-audit --no-fund "node-llama-cpp@$NODE_LLAMA_CPP_VERSION" >/dev/null)
fi
[ -x build/duo ] || TARGETS=duo bash scripts/build.sh

VOCAB=$(sed -n 's/^vocab_size: *\([0-9]*\).*/\1/p' "$PRESET")
rm -f "$OUT/table.md"
for WEIGHTS in "${LIST[@]}"; do
[ "$WEIGHTS" = f32 ] && DUO_WEIGHTS=fp32 || DUO_WEIGHTS=bf16
GGUF="$CACHE/$(basename "$PRESET" .yaml)-$WEIGHTS.gguf"
if [ ! -f "$GGUF" ]; then
  echo "== writing $GGUF"
  python3 scripts/gguf_random.py "$PRESET" "$GGUF.tmp" --dtype "$WEIGHTS"
  mv "$GGUF.tmp" "$GGUF"
fi

echo "== llama.cpp: $WEIGHTS GGUF, $CONTEXT tokens, $THREADS threads"
node scripts/llamacpp_bench.mjs "$GGUF" "$CONTEXT" "$THREADS" "$DECODE" "$VOCAB" "$CACHE/node_modules" \
  | tail -1 > "$OUT/llamacpp-$WEIGHTS.json"
cat "$OUT/llamacpp-$WEIGHTS.json"

echo "== duo bench: $DUO_WEIGHTS weights, $CONTEXT tokens, $THREADS threads, KV $KV_DTYPE"
rm -f "$OUT/duo-$WEIGHTS.json" "$OUT/duo-$WEIGHTS.config.yaml"
./build/duo bench --model "$PRESET" --mask "$MASK" --contexts "$CONTEXT" --threads "$THREADS" \
  --decode-tokens "$DECODE" --kv-dtype "$KV_DTYPE" --weight-dtype "$DUO_WEIGHTS" --out "$OUT/duo-$WEIGHTS.json"

python3 - "$OUT" "$WEIGHTS" "$KV_DTYPE" <<'EOF'
import json, sys
out, weights, kv = sys.argv[1:4]
l = json.load(open(f"{out}/llamacpp-{weights}.json"))
d = json.load(open(f"{out}/duo-{weights}.json"))
row = d["rows"][0]
full, duo = row["full"], row["duo"]
mib = lambda b: b / 1048576
w = "F32" if weights == "f32" else "F16"
lines = [
    f"{row['tokens']} tokens, {d['threads']} threads; llama.cpp {l.get('llama_cpp_release') or '?'} "
    f"(node-llama-cpp {l['node_llama_cpp']}, {w} GGUF, f16 KV, flash attention); duo {d['weight_dtype']} weights, {d['kv_dtype']} KV, "
    f"mask {d['mask']}",
    "",
    "| | llama.cpp | duo full | duo mask | llama.cpp / duo mask |",
    "|---|---|---|---|---|",
    f"| prefill, s | {l['prefill_seconds']:.1f} | {full['prefill_seconds']:.1f} | {duo['prefill_seconds']:.1f} | "
    f"{l['prefill_seconds'] / duo['prefill_seconds']:.2f}x |",
    f"| decode, ms/token | {l['decode_ms_per_token']:.1f} | {full['decode_ms_per_token']:.1f} | "
    f"{duo['decode_ms_per_token']:.1f} | {l['decode_ms_per_token'] / duo['decode_ms_per_token']:.2f}x |",
    f"| peak RSS, MiB | {mib(l['peak_rss_bytes']):.0f} | {mib(full['peak_rss_bytes']):.0f} | "
    f"{mib(duo['peak_rss_bytes']):.0f} | |",
    f"| KV cache, MiB | | {mib(full['kv_bytes']):.0f} | {mib(duo['kv_bytes']):.0f} | |",
    "",
    f"duo full decode / its bandwidth bound: {row['ratios']['full_decode_over_bandwidth_bound']:.2f} "
    f"(a plain read of the bytes each step reads, timed after every step: {full['plain_read_gb_per_s']:.1f} GB/s); "
    f"against the 1 GiB sums around the run ({full['bandwidth_gb_per_s']:.1f} GB/s): "
    f"{row['ratios']['full_decode_over_sum_bandwidth_bound']:.2f}",
]
text = "\n".join(lines) + "\n"
open(f"{out}/table.md", "a").write(text + "\n")
print(text, end="")
EOF
done
