// Decode / chunked-prefill attention for the runtime: new queries against a split KV cache.
//
// The runtime keeps, per layer, a contiguous cache for full (retrieval) heads and a ring of
// sink + recent slots for streaming heads, both holding keys AFTER RoPE at absolute positions.
// For each group of heads of one kind it calls attend_chunk with the chunk's queries and new
// keys/values BEFORE appending them to the cache: cached keys are visible by their stored
// positions, the chunk's keys causally within the chunk, all under the mask of DESIGN.md
// section 1. This makes chunked prefill equal to one unchunked pass for every chunk size.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "attention/attention.h"

namespace duo::attention {

// The cached keys/values of one group of KV heads.
struct CacheView {
  at::Tensor k;    // [Hkv_sub, S, D]; undefined or S = 0 when nothing is cached
  at::Tensor v;    // [Hkv_sub, S, D]
  at::Tensor pos;  // [S] int64: absolute position of each slot's key, -1 = empty slot
};

// Ring slot of token t in a sink + recent ring (sink slots first, then the recent slots cycle).
inline int64_t ring_slot(int64_t t, int64_t sink, int64_t recent) {
  return t < sink ? t : sink + (t - sink) % recent;
}

// q [Hq_sub, n, D] at absolute positions p0 .. p0 + n - 1; k_new, v_new [Hkv_sub, n, D] at the
// same positions; every head of the call has `kind`; spec supplies sink, recent,
// sliding_window and scale (spec.kinds and spec.alpha are ignored). Returns [Hq_sub, n, D] in
// q's dtype. Not differentiable (inference only).
at::Tensor attend_chunk(const at::Tensor& q, const at::Tensor& k_new, const at::Tensor& v_new, int64_t p0,
                        const CacheView& cache, HeadKind kind, const LayerSpec& spec);

// The same through the materialized reference (tests).
at::Tensor attend_chunk_reference(const at::Tensor& q, const at::Tensor& k_new, const at::Tensor& v_new, int64_t p0,
                                  const CacheView& cache, HeadKind kind, const LayerSpec& spec);

}  // namespace duo::attention
