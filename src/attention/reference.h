// The plain attention reference: materialized masked softmax over explicit positions. Slow and
// O(n x L) in memory, kept as the oracle the kernels are tested against (and differentiable by
// autograd, so gradient tests can use it too).
#pragma once

#include <ATen/core/Tensor.h>

#include "attention/attention.h"

namespace duo::attention {

// q [Hq, n, D] at absolute positions q_pos [n] (int64); k, v [Hkv, L, D] at positions k_pos [L]
// (int64, -1 = empty slot, never visible). Mask of DESIGN.md section 1 per KV head kind (or the
// gated mix when spec.alpha is defined). Computes in fp32 (fp64 for double), returns q's dtype.
at::Tensor attend_positions_reference(const at::Tensor& q, const at::Tensor& q_pos, const at::Tensor& k,
                                      const at::Tensor& v, const at::Tensor& k_pos, const LayerSpec& spec);

// Visibility [n, L] (bool) of keys at k_pos from queries at q_pos for one head kind.
at::Tensor visibility(const at::Tensor& q_pos, const at::Tensor& k_pos, bool streaming, const LayerSpec& spec);

}  // namespace duo::attention
