// The plain attention reference (the one oracle of every attention path): materialized masked
// softmax over explicit positions, with visibility from the same predicate the kernels use
// (kernels::HeadMask::visible). Slow and O(n x L) in memory; tests only. Differentiable by
// autograd, so gradient tests can use it too.
#pragma once

#include <ATen/core/Tensor.h>

#include "attention/attention.h"
#include "attention/decode.h"

namespace duo::attention {

// q [Hq, n, D] at absolute positions q_pos [n] (int64); k, v [Hkv, L, D] at positions k_pos [L]
// (int64, -1 = empty slot, never visible). Mask of attention.h per KV head kind (or the gated mix
// when spec.alpha is defined). Computes in fp32 (fp64 for double), returns q's dtype; a query
// that sees no key gets 0.
at::Tensor attend_positions_reference(const at::Tensor& q, const at::Tensor& q_pos, const at::Tensor& k,
                                      const at::Tensor& v, const at::Tensor& k_pos, const LayerSpec& spec);

// attend() through the reference: queries and keys at 0 .. T-1.
at::Tensor attend_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const LayerSpec& spec);

// attend_chunk() through the reference: the cache's keys followed by the chunk's.
at::Tensor attend_chunk_reference(const at::Tensor& q, const at::Tensor& k_new, const at::Tensor& v_new, int64_t p0,
                                  const CacheView& cache, HeadKind kind, const LayerSpec& spec);

// Visibility [n, L] (bool) of keys at k_pos from queries at q_pos for one head kind.
at::Tensor visibility(const at::Tensor& q_pos, const at::Tensor& k_pos, bool streaming, const LayerSpec& spec);

}  // namespace duo::attention
