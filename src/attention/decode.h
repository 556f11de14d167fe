// Decode / chunked-prefill attention for the runtime: new queries against a split KV cache.
//
// The runtime keeps, per layer, a store for full (retrieval) heads and a sink + recent ring for
// streaming heads (runtime/kv_cache.h), both holding keys AFTER RoPE at absolute positions. For
// each head kind it calls attend_chunk with the chunk's queries and new keys/values BEFORE
// appending them to the cache: cached keys are visible by their stored positions, the chunk's
// keys causally within the chunk, all under the mask of attention.h. This makes chunked prefill
// equal to one unchunked pass for every chunk size. Validates once, then dispatches by device.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "attention/attention.h"
#include "kernels/cpu/decode_attention.h"

namespace duo::attention {

// The cached keys/values of one group of KV heads (one head kind of one layer).
struct CacheView {
  at::Tensor k;    // [Hkv_sub, S, D]; undefined or S = 0 when nothing is cached
  at::Tensor v;    // [Hkv_sub, S, D]
  at::Tensor pos;  // [S] int64: absolute position of each slot's key, -1 = empty slot
  bool empty() const { return !k.defined() || k.size(1) == 0; }
};

// q [Hq_sub, n, D] at absolute positions p0 .. p0 + n - 1; k_new, v_new [Hkv_sub, n, D] at the
// same positions; every head of the call has `kind`; spec supplies window, sliding_window and
// scale (spec.kinds and spec.alpha are ignored). Returns [Hq_sub, n, D] in q's dtype. Not
// differentiable (inference only).
at::Tensor attend_chunk(const at::Tensor& q, const at::Tensor& k_new, const at::Tensor& v_new, int64_t p0,
                        const CacheView& cache, HeadKind kind, const LayerSpec& spec);

// The one-token path on raw rows (the runtime's decoding on the CPU; kernels::cpu::decode_rows):
// q [Hkv, G, D] fp32 rows of the layer's every KV head at position p; groups[i] a cache store of
// kind kinds[i] that ALREADY holds position p's key and value (its mask is set here from kinds[i]
// and spec); writes out [Hkv, G, D]. No tensor op, so callers check shapes once up front.
void attend_rows(const float* q, int64_t g, int64_t d, int64_t p, kernels::cpu::RowGroup* groups,
                 const HeadKind* kinds, int64_t n_groups, const LayerSpec& spec, float* out);

}  // namespace duo::attention
