// Rotary position embedding (RoPE) in the Hugging Face convention: inv_freq per frequency pair,
// cos/sin tables of width head_dim (the half-table repeated: cat(freqs, freqs)), and
// x * cos + rotate_half(x) * sin with rotate_half(x) = cat(-x2, x1).
//
// Frequencies follow transformers' modeling_rope_utils.py, computed in float32 with the same
// torch ops so that results match it closely:
//   default: inv_freq[i] = 1 / theta^(2i / D)
//   linear:  inv_freq / factor
//   llama3:  wavelengths longer than original_max / low_freq_factor are divided by factor, shorter
//            than original_max / high_freq_factor kept, the band between smoothly interpolated
//   yarn:    interpolation/extrapolation blend over a linear ramp between the correction dims of
//            beta_fast and beta_slow (computed at original_max_position_embeddings), and cos/sin
//            scaled by attention_factor (default 0.1 ln(factor) + 1, or the mscale ratio).
// Note: transformers 4.51-4.55 replaced yarn's factor by max_position_embeddings /
// original_max_position_embeddings when the latter was set; that was reverted (PR #40320), and
// here the configured factor is used, as vLLM and TGI do.
#pragma once

#include <ATen/core/Tensor.h>

#include "model/model_config.h"

namespace duo::model {

struct RopeParams {
  at::Tensor inv_freq;            // [D/2] float32
  double attention_factor = 1.0;  // multiplies cos and sin (yarn); 1 otherwise
};

// inv_freq and attention factor for `cfg` (head_dim, rope_theta, rope_scaling).
RopeParams rope_params(const ModelConfig& cfg);

// cos and sin tables [T, D] in `dtype` for absolute positions [T] int64 (computed in float32).
std::pair<at::Tensor, at::Tensor> rope_cos_sin(const RopeParams& rope, const at::Tensor& positions,
                                               at::ScalarType dtype);

// x [H, T, D] (any strides) rotated by cos/sin [T, D] as made by rope_cos_sin (both halves of a
// row equal): x * cos + rotate_half(x) * sin. Returns a contiguous tensor when no autograd is
// needed; differentiable otherwise.
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace duo::model
