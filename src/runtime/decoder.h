// Decoder: a Llama-family model run token by token over a SplitKVCache (full cache for retrieval
// heads, sink + recent ring for streaming heads), with chunked prefill and greedy decoding.
//
//   runtime::Decoder dec(model, HeadLayout::from_mask(mask.mask, mask.window), capacity);
//   at::Tensor last = dec.prefill(prompt_ids, /*chunk=*/512);   // [vocab] float32
//   at::Tensor next = dec.step(token);                          // [vocab]
//
// Semantics (DESIGN.md section 1): the result does not depend on the chunk size. Each layer of a
// chunk at positions p0 .. p0 + C - 1 computes q/k/v with RoPE at absolute positions; streaming
// heads attend over (the ring as it was before the chunk) + (the chunk's own keys) under the
// mask j < sink || i - j < recent; full heads attend over the whole cache before the chunk plus
// the chunk causally; only then is the chunk appended to both stores. The first chunk (p0 = 0) goes through
// attention::attend (blockwise kernels, block-sparse for streaming heads). With every head full
// this is plain causal attention, equal to Model::logits up to rounding.
//
// KV precision: the cache may hold K/V in another dtype than the model computes in (kv_dtype:
// float32, bfloat16 or float16). The chunk's new keys and values are rounded to kv_dtype before
// attention sees them, so every query sees exactly the values the cache holds, whether they come
// from the cache or from its own chunk: the chunk-size invariance above still holds (up to fp32
// summation order), and a 16-bit cache changes the result only by that one rounding of K and V.
//
// The one-token path: a chunk of one token (each decoded token) runs without LibTorch ops when the
// model computes in fp32 on the CPU: the layer's non-attention work on duo's kernels
// (runtime/row_step.h), the token appended to the cache first and attention read over the cache
// in place (attention::attend_rows). Same arithmetic as the chunk path without its per-op cost;
// the two agree to fp32 rounding.
//
// Lean prefill: callers prefill in chunks of kDefaultPrefillChunk tokens unless told otherwise, so
// that peak memory is weights + KV cache + O(chunk) activations rather than O(prompt).
#pragma once

#include <ATen/core/Tensor.h>

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "model/model.h"
#include "runtime/head_layout.h"
#include "runtime/kv_cache.h"
#include "runtime/row_step.h"

namespace duo::runtime {

// Prompt tokens per prefill chunk that the run commands use by default (0 = whole prompt): peak
// activation memory O(1024 x hidden) per layer instead of O(prompt), at no cost in results.
// Measured (duo bench, bench-12l-768, bf16 weights, 2 threads): chunks of 4096 / 2048 / 1024
// prefill 8K tokens at the same speed within noise; peak RSS of a 4K-token full-attention run
// 897 / 809 / 768 MiB.
inline constexpr int64_t kDefaultPrefillChunk = 1024;

class Decoder {
 public:
  // capacity: total tokens (prompt + generated) when known, so the caches are allocated once;
  // 0 = grow as needed. The layout must match the model's [layers, kv heads]. kv_dtype: the
  // cache's dtype (float32, bfloat16 or float16); none = the model's compute dtype.
  Decoder(model::Model model, HeadLayout layout, int64_t capacity = 0,
          std::optional<at::ScalarType> kv_dtype = std::nullopt);

  // Feeds ids [C] int64 at positions position() .. position() + C - 1 as one chunk and returns
  // the final normed hidden states [C, hidden] (before the LM head).
  at::Tensor forward(const at::Tensor& ids);
  // Feeds the prompt in chunks of `chunk` tokens (0 = one chunk). Returns the logits of the last
  // token [vocab] (float32), or of every prompt token [T, vocab] when all_logits.
  at::Tensor prefill(const at::Tensor& ids, int64_t chunk = 0, bool all_logits = false);
  // Feeds one token; returns its logits [vocab] (float32).
  at::Tensor step(int64_t token);

  // Whether one-token chunks take the one-token path (on by default where the model supports it).
  // Off: every chunk takes the chunk path (tests compare the two; decode_step_bench times them).
  void use_row_step(bool on);
  bool uses_row_step() const { return row_.has_value(); }

  int64_t position() const { return position_; }
  const SplitKVCache& cache() const { return cache_; }
  const model::Model& model() const { return model_; }

 private:
  at::Tensor attend_layer(int64_t l, model::Model::QKV qkv, int64_t p0);
  at::Tensor mlp_rows(int64_t l, const at::Tensor& x) const;
  at::Tensor forward_row(const at::Tensor& ids);  // ids [1] on the one-token path -> [1, hidden] normed

  model::Model model_;
  SplitKVCache cache_;
  std::vector<attention::LayerSpec> specs_;  // [L] each layer's heads, window and sliding window (built once)
  std::optional<RowStep> row_;               // set when one-token chunks take the one-token path
  int64_t position_ = 0;
};

struct GenerateOptions {
  int64_t max_new_tokens = 32;                    // tokens to generate (>= 1)
  int64_t prefill_chunk = kDefaultPrefillChunk;   // prompt chunk size; 0 = the whole prompt at once
  std::optional<at::ScalarType> kv_dtype;         // KV cache dtype; none = the model's compute dtype
  std::vector<int64_t> stop_ids;  // stop once one of these is generated (it is kept)
};

struct GenerateResult {
  int64_t prompt_tokens = 0;
  std::vector<int64_t> tokens;    // generated ids
  double prefill_seconds = 0.0;   // prompt forward + first token
  double decode_seconds = 0.0;    // every later step
  int64_t decode_steps = 0;       // tokens fed after the prompt
  int64_t kv_bytes = 0;           // K/V buffers allocated at the end
  int64_t kv_used_bytes = 0;      // K/V slots holding tokens at the end

  double prefill_tokens_per_second() const {
    return prefill_seconds > 0 ? static_cast<double>(prompt_tokens) / prefill_seconds : 0.0;
  }
  double decode_ms_per_token() const { return decode_steps > 0 ? 1000.0 * decode_seconds / decode_steps : 0.0; }
};

// Throws when the KV cache for prompt + max_new_tokens tokens (full heads all of them, streaming
// heads their window) would not fit in this machine's physical memory.
// kv_dtype: the cache's dtype (none = the model's).
void check_kv_fits(const model::Model& model, const HeadLayout& layout, int64_t prompt_tokens, int64_t max_new_tokens,
                   std::optional<at::ScalarType> kv_dtype = std::nullopt);

// The KV dtypes the cache accepts: float32, bfloat16, float16 (others throw, naming `what`).
void check_kv_dtype(at::ScalarType kv_dtype, const char* what);

// Greedy decoding (argmax, first index on ties) of `prompt` with the heads in `layout`; the cache
// is allocated for prompt + max_new_tokens tokens (check_kv_fits first).
GenerateResult generate_greedy(const model::Model& model, const HeadLayout& layout, const std::vector<int64_t>& prompt,
                               const GenerateOptions& opts);

}  // namespace duo::runtime
