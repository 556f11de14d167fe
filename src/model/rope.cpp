// RoPE frequencies and rotation (see rope.h for the formulas and their source).
#include "model/rope.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

#include "core/error.h"

namespace duo::model {
namespace {

constexpr double kPi = 3.14159265358979323846;

// 1 / theta^(2i / D) in float32, as transformers computes it.
at::Tensor default_inv_freq(double theta, int64_t dim) {
  auto exponents = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(dim);
  return 1.0 / at::pow(theta, exponents);
}

at::Tensor llama3_inv_freq(const at::Tensor& inv_freq, const RopeScaling& rs) {
  const double old_len = static_cast<double>(rs.original_max_position_embeddings);
  const double low_freq_wavelen = old_len / rs.low_freq_factor;
  const double high_freq_wavelen = old_len / rs.high_freq_factor;
  auto wavelen = (2.0 * kPi) / inv_freq;
  // Long wavelengths (low frequencies) are divided by factor, short ones kept.
  auto scaled = at::where(wavelen > low_freq_wavelen, inv_freq / rs.factor, inv_freq);
  auto smooth = (old_len / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
  auto smoothed = (1 - smooth) * scaled / rs.factor + smooth * scaled;
  auto medium = (wavelen < high_freq_wavelen).logical_not() & (wavelen > low_freq_wavelen).logical_not();
  return at::where(medium, smoothed, scaled);
}

double yarn_mscale(double scale, double mscale) {
  if (scale <= 1) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

// Dimension index at which a frequency completes `rotations` turns over `max_pos` positions.
double yarn_correction_dim(double rotations, int64_t dim, double base, double max_pos) {
  return (static_cast<double>(dim) * std::log(max_pos / (rotations * 2 * kPi))) / (2 * std::log(base));
}

RopeParams yarn_params(const ModelConfig& cfg) {
  const RopeScaling& rs = cfg.rope_scaling;
  const int64_t dim = cfg.head_dim;
  const double base = cfg.rope_theta;
  RopeParams p;
  if (rs.attention_factor > 0) {
    p.attention_factor = rs.attention_factor;
  } else if (rs.mscale != 0 && rs.mscale_all_dim != 0) {
    p.attention_factor = yarn_mscale(rs.factor, rs.mscale) / yarn_mscale(rs.factor, rs.mscale_all_dim);
  } else {
    p.attention_factor = yarn_mscale(rs.factor, 1.0);
  }
  const double max_pos = static_cast<double>(rs.original_max_position_embeddings);
  double low = yarn_correction_dim(rs.beta_fast, dim, base, max_pos);
  double high = yarn_correction_dim(rs.beta_slow, dim, base, max_pos);
  if (rs.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dim - 1));
  if (low == high) high += 0.001;  // avoid a zero-width ramp

  auto pos_freqs = at::pow(base, at::arange(0, dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(dim));
  auto extrapolation = 1.0 / pos_freqs;
  auto interpolation = 1.0 / (rs.factor * pos_freqs);
  auto ramp = ((at::arange(dim / 2, at::kFloat) - low) / (high - low)).clamp(0, 1);
  auto extrapolation_weight = 1 - ramp;  // 1 for high frequencies (kept), 0 for low ones (interpolated)
  p.inv_freq = interpolation * (1 - extrapolation_weight) + extrapolation * extrapolation_weight;
  return p;
}

}  // namespace

RopeParams rope_params(const ModelConfig& cfg) {
  const RopeScaling& rs = cfg.rope_scaling;
  if (rs.type == "yarn") return yarn_params(cfg);
  RopeParams p;
  p.inv_freq = default_inv_freq(cfg.rope_theta, cfg.head_dim);
  if (rs.none()) return p;
  if (rs.type == "linear") {
    p.inv_freq = p.inv_freq / rs.factor;
  } else if (rs.type == "llama3") {
    p.inv_freq = llama3_inv_freq(p.inv_freq, rs);
  } else {
    fail("config.json: rope_scaling type '{}' is not supported; supported: default, linear, llama3, yarn", rs.type);
  }
  return p;
}

std::pair<at::Tensor, at::Tensor> rope_cos_sin(const RopeParams& rope, const at::Tensor& positions,
                                               at::ScalarType dtype) {
  DUO_CHECK(positions.dim() == 1, "rope: positions must be [T]; got {}", positions.sizes());
  auto inv = rope.inv_freq.to(positions.device(), at::kFloat);
  auto freqs = positions.to(at::kFloat).unsqueeze(1) * inv.unsqueeze(0);  // [T, D/2]
  auto emb = at::cat({freqs, freqs}, 1);                                  // [T, D]
  auto cos = emb.cos(), sin = emb.sin();
  if (rope.attention_factor != 1.0) {
    cos = cos * rope.attention_factor;
    sin = sin * rope.attention_factor;
  }
  return {cos.to(dtype), sin.to(dtype)};
}

at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  auto x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  if (c10::GradMode::is_enabled() && (x.requires_grad() || cos.requires_grad() || sin.requires_grad())) {
    auto rotated = at::cat({-x2, x1}, -1);  // rotate_half
    return x * cos + rotated * sin;
  }
  // No autograd: write both halves straight into a contiguous output (about half the memory
  // passes). The tables repeat their first half (cat(freqs, freqs)), so the first half suffices.
  auto c = cos.narrow(-1, 0, half), s = sin.narrow(-1, 0, half);
  auto out = at::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::Contiguous));
  auto o1 = out.narrow(-1, 0, half), o2 = out.narrow(-1, half, half);
  at::mul_out(o1, x1, c);
  o1.addcmul_(x2, s, -1);  // x1 cos - x2 sin
  at::mul_out(o2, x2, c);
  o2.addcmul_(x1, s);      // x2 cos + x1 sin
  return out;
}

}  // namespace duo::model
