// Differentiable attention through the CPU kernels: torch::autograd::Function wrappers whose
// backward is the blockwise backward of kernels/cpu. Gradients reach q, k, v (the trainer
// backprops through frozen layers to the gates of lower layers) and, for gated attention, the
// gates alpha.
#pragma once

#include <ATen/core/Tensor.h>

#include "kernels/cpu/flash_attention.h"

namespace duo::attention {

struct GatedSaved;  // attention.h

// q [Hq, T, D], k, v [Hkv, T, D]; each KV head full or streaming as params.streaming says.
at::Tensor flash_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const kernels::cpu::AttentionParams& params);

// Per KV head g: a * full + (1 - a) * streaming, a = clamp(alpha[g], 0, 1); alpha [Hkv].
// params.streaming is ignored. d alpha is zero where alpha lies outside [0, 1] (as torch.clamp).
// saved (may be null): filled with the kernel results when empty, reused when filled (attention.h).
at::Tensor gated_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& alpha,
                           const kernels::cpu::AttentionParams& params, GatedSaved* saved = nullptr);

}  // namespace duo::attention
