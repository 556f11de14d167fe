// The one-token layer pieces on fp32 rows (see row_step.h).
#include "runtime/row_step.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "kernels/cpu/matvec.h"

namespace duo::runtime {
namespace {

using kernels::cpu::MatVec;

// y = w * (x * rsqrt(mean(x^2) + eps)) over n values (sum of squares in double).
void rms_norm(const float* x, const float* w, int64_t n, double eps, float* y) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float r = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + static_cast<float>(eps));
  for (int64_t i = 0; i < n; ++i) y[i] = w[i] * (x[i] * r);
}

// RoPE on one head x [D] in place: (x1, x2) -> (x1 c - x2 s, x2 c + x1 s) over the halves, with
// the tables' first half (they repeat it: cat(freqs, freqs)).
void rope(float* x, const float* cos, const float* sin, int64_t d) {
  const int64_t half = d / 2;
  for (int64_t i = 0; i < half; ++i) {
    const float x1 = x[i], x2 = x[i + half];
    x[i] = x1 * cos[i] - x2 * sin[i];
    x[i + half] = x2 * cos[i] + x1 * sin[i];
  }
}

kernels::cpu::RowType weight_type(const at::Tensor& w) {
  switch (w.scalar_type()) {
    case at::kFloat: return kernels::cpu::RowType::kF32;
    case at::kBFloat16: return kernels::cpu::RowType::kBF16;
    case at::kHalf: return kernels::cpu::RowType::kF16;
    default: fail("row step: weight dtype {} is not fp32, bf16 or f16", c10::toString(w.scalar_type()));
  }
}

MatVec mat(const at::Tensor& w, const at::Tensor& bias, float* y) {
  DUO_CHECK(w.dim() == 2 && w.is_contiguous(), "row step: weights must be a contiguous matrix; got {}", w.sizes());
  MatVec m;
  m.w = w.data_ptr();
  m.type = weight_type(w);
  m.rows = w.size(0);
  m.bias = bias.defined() ? bias.data_ptr<float>() : nullptr;
  m.y = y;
  return m;
}

const float* ptr(const at::Tensor& t) { return t.data_ptr<float>(); }

}  // namespace

bool RowStep::supports(const model::Model& model) {
  const auto w = model.weight_dtype();
  return model.options().dtype == at::kFloat && model.options().device.is_cpu() &&
         (w == at::kFloat || w == at::kBFloat16 || w == at::kHalf);
}

RowStep::RowStep(const model::Model& model) {
  DUO_CHECK(supports(model), "row step: needs an fp32 model on the cpu; got {} on {}",
            c10::toString(model.options().dtype), model.options().device.str());
  const auto& c = model.config();
  DUO_CHECK(c.hidden_act == "silu", "row step: only silu MLPs are supported; got {}", c.hidden_act);
  hidden_ = c.hidden_size, n_heads_ = c.n_heads, n_kv_heads_ = c.n_kv_heads, head_dim_ = c.head_dim;
  inter_ = c.intermediate_size;
  for (int64_t l = 0; l < c.n_layers; ++l) layers_.push_back(model.layer_weights(l));
  h_.resize(static_cast<size_t>(hidden_));
  y_.resize(static_cast<size_t>(hidden_));
  g_.resize(static_cast<size_t>(inter_));
  u_.resize(static_cast<size_t>(inter_));
}

void RowStep::qkv(int64_t l, const float* x, const float* cos, const float* sin, float* q, float* k, float* v) {
  const auto& w = layers_[static_cast<size_t>(l)];
  rms_norm(x, ptr(w.attn_norm), hidden_, w.eps, h_.data());
  const MatVec mats[3] = {mat(w.q, w.q_bias, q), mat(w.k, w.k_bias, k), mat(w.v, w.v_bias, v)};
  kernels::cpu::matvec(h_.data(), hidden_, mats, 3);
  const int64_t d = head_dim_;
  if (w.q_norm.defined()) {  // qwen3: RMSNorm over each head, before RoPE
    for (int64_t h = 0; h < n_heads_; ++h) rms_norm(q + h * d, ptr(w.q_norm), d, w.eps, q + h * d);
    for (int64_t h = 0; h < n_kv_heads_; ++h) rms_norm(k + h * d, ptr(w.k_norm), d, w.eps, k + h * d);
  }
  for (int64_t h = 0; h < n_heads_; ++h) rope(q + h * d, cos, sin, d);
  for (int64_t h = 0; h < n_kv_heads_; ++h) rope(k + h * d, cos, sin, d);
}

void RowStep::attn_out(int64_t l, const float* o, float* x) {
  const auto& w = layers_[static_cast<size_t>(l)];
  const MatVec m = mat(w.o, w.o_bias, y_.data());
  kernels::cpu::matvec(o, n_heads_ * head_dim_, &m, 1);
  for (int64_t i = 0; i < hidden_; ++i) x[i] += y_[static_cast<size_t>(i)];
}

void RowStep::mlp(int64_t l, float* x) {
  const auto& w = layers_[static_cast<size_t>(l)];
  rms_norm(x, ptr(w.mlp_norm), hidden_, w.eps, h_.data());
  const MatVec gu[2] = {mat(w.gate, w.gate_bias, g_.data()), mat(w.up, w.up_bias, u_.data())};
  kernels::cpu::matvec(h_.data(), hidden_, gu, 2);
  for (int64_t i = 0; i < inter_; ++i) {
    const float g = g_[static_cast<size_t>(i)];
    g_[static_cast<size_t>(i)] = g / (1.0f + std::exp(-g)) * u_[static_cast<size_t>(i)];  // silu(g) * u
  }
  const MatVec down = mat(w.down, w.down_bias, y_.data());
  kernels::cpu::matvec(g_.data(), inter_, &down, 1);
  for (int64_t i = 0; i < hidden_; ++i) x[i] += y_[static_cast<size_t>(i)];
}

}  // namespace duo::runtime
