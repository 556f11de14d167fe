// RoPE: inv_freq for default, linear, llama3 and yarn against hand-computed values; rotation
// properties (norm kept, scores depend on relative position only).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "common/tiny_checkpoint.h"
#include "model/rope.h"

namespace {

using duo::model::ModelConfig;
namespace dt = duo::testing;

ModelConfig config_with(double theta, int64_t head_dim, nlohmann::json rope_scaling, int64_t max_pos = 8192) {
  auto j = dt::tiny_config("llama");
  j["rope_theta"] = theta;
  j["head_dim"] = head_dim;
  j["max_position_embeddings"] = max_pos;
  j["rope_scaling"] = rope_scaling;
  return ModelConfig::from_json(j);
}

double at_(const at::Tensor& t, int64_t i) { return t[i].item<double>(); }

TEST(Rope, DefaultAndLinear) {
  auto p = duo::model::rope_params(config_with(10000.0, 16, nullptr));
  ASSERT_EQ(p.inv_freq.sizes(), (std::vector<int64_t>{8}));
  EXPECT_FLOAT_EQ(at_(p.inv_freq, 0), 1.0f);
  EXPECT_FLOAT_EQ(at_(p.inv_freq, 1), 0.31622776f);  // 10000^(-2/16)
  EXPECT_FLOAT_EQ(at_(p.inv_freq, 7), 0.00031622776f);  // 10000^(-14/16)
  EXPECT_EQ(p.attention_factor, 1.0);
  auto l = duo::model::rope_params(config_with(10000.0, 16, {{"type", "linear"}, {"factor", 4.0}}));
  EXPECT_FLOAT_EQ(at_(l.inv_freq, 1), 0.31622776f / 4);
}

// Llama 3.1 8B: theta 500000, D 128, factor 8, low 1, high 4, original 8192.
// Wavelength 2 pi / f. High-frequency band: wavelen < 8192 / 4 = 2048 -> unchanged;
// low-frequency band: wavelen > 8192 -> f / 8; between: smooth = (8192 / wavelen - 1) / 3,
// f' = (1 - smooth) f / 8 + smooth f.
TEST(Rope, Llama3HandComputed) {
  auto p = duo::model::rope_params(config_with(
      500000.0, 128,
      {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
       {"original_max_position_embeddings", 8192}}));
  // i = 0: f = 1 (wavelen 6.28): unchanged.
  EXPECT_FLOAT_EQ(at_(p.inv_freq, 0), 1.0f);
  // i = 20: f = 500000^(-40/128) = 0.0165604, wavelen 379.4 < 2048: unchanged.
  EXPECT_NEAR(at_(p.inv_freq, 20), 0.0165604, 1e-6);
  // i = 63: f = 500000^(-126/128) = 2.45514e-6, wavelen 2.56e6 > 8192: f / 8 = 3.06893e-7.
  EXPECT_NEAR(at_(p.inv_freq, 63) / 3.06893e-7, 1.0, 1e-4);
  // i = 30: f = 500000^(-60/128) = 0.00213112, wavelen 2948.30 (medium):
  // smooth = (8192 / 2948.30 - 1) / 3 = 0.592849, f' = f (0.407151 / 8 + 0.592849) = 0.00137189.
  EXPECT_NEAR(at_(p.inv_freq, 30), 0.00137189, 2e-8);
  EXPECT_EQ(p.attention_factor, 1.0);
}

// Qwen2.5-style yarn: theta 1e6, D 128, factor 4, original 32768, beta_fast 32, beta_slow 1.
// correction dim(r) = 128 ln(32768 / (2 pi r)) / (2 ln 1e6): r = 32 -> 23.596 -> floor 23;
// r = 1 -> 39.650 -> ceil 40. ramp(i) = clamp((i - 23) / 17, 0, 1);
// f'(i) = f ramp / 4 + f (1 - ramp); attention factor 0.1 ln 4 + 1 = 1.1386294.
TEST(Rope, YarnHandComputed) {
  auto p = duo::model::rope_params(
      config_with(1e6, 128, {{"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32768}}));
  auto f = [](int64_t i) { return std::pow(1e6, -2.0 * i / 128); };
  EXPECT_NEAR(p.attention_factor, 1.1386294, 1e-7);
  EXPECT_NEAR(at_(p.inv_freq, 10) / f(10), 1.0, 1e-6);   // extrapolated (kept)
  EXPECT_NEAR(at_(p.inv_freq, 23) / f(23), 1.0, 1e-6);   // ramp 0
  EXPECT_NEAR(at_(p.inv_freq, 30) / f(30), (7.0 / 17) / 4 + 10.0 / 17, 1e-6);
  EXPECT_NEAR(at_(p.inv_freq, 40) / f(40), 0.25, 1e-6);  // fully interpolated
  EXPECT_NEAR(at_(p.inv_freq, 63) / f(63), 0.25, 1e-6);
  // An explicit attention_factor wins; the DeepSeek mscale ratio when both are set.
  auto q = duo::model::rope_params(config_with(
      1e6, 128, {{"type", "yarn"}, {"factor", 4.0}, {"attention_factor", 1.5}}, 32768));
  EXPECT_DOUBLE_EQ(q.attention_factor, 1.5);
  auto r = duo::model::rope_params(config_with(
      1e6, 128, {{"type", "yarn"}, {"factor", 40.0}, {"mscale", 1.0}, {"mscale_all_dim", 0.707}}, 32768));
  EXPECT_NEAR(r.attention_factor, (0.1 * std::log(40.0) + 1) / (0.0707 * std::log(40.0) + 1), 1e-9);
}

TEST(Rope, RotationKeepsNormsAndDependsOnRelativePosition) {
  auto p = duo::model::rope_params(config_with(10000.0, 16, nullptr));
  auto gen = at::detail::createCPUGenerator(1);
  auto q = at::randn({1, 1, 16}, gen, at::kFloat), k = at::randn({1, 1, 16}, gen, at::kFloat);
  auto score = [&](int64_t m, int64_t n) {
    auto [cm, sm] = duo::model::rope_cos_sin(p, at::tensor({m}, at::kLong), at::kFloat);
    auto [cn, sn] = duo::model::rope_cos_sin(p, at::tensor({n}, at::kLong), at::kFloat);
    auto qr = duo::model::apply_rope(q, cm, sm), kr = duo::model::apply_rope(k, cn, sn);
    EXPECT_NEAR(qr.norm().item<double>(), q.norm().item<double>(), 1e-5);
    return (qr * kr).sum().item<double>();
  };
  EXPECT_NEAR(score(7, 3), score(104, 100), 1e-4);
  EXPECT_GT(std::abs(score(7, 3) - score(7, 5)), 1e-3);
  // Position 0 is the identity; pair (0, 8) rotates by angle pos * inv_freq[0] = pos.
  auto [c0, s0] = duo::model::rope_cos_sin(p, at::tensor({0}, at::kLong), at::kFloat);
  EXPECT_TRUE(at::allclose(duo::model::apply_rope(q, c0, s0), q));
  auto [c1, s1] = duo::model::rope_cos_sin(p, at::tensor({1}, at::kLong), at::kFloat);
  auto r1 = duo::model::apply_rope(q, c1, s1);
  const double a = q[0][0][0].item<double>(), b = q[0][0][8].item<double>();
  EXPECT_NEAR(r1[0][0][0].item<double>(), a * std::cos(1.0) - b * std::sin(1.0), 1e-5);
  EXPECT_NEAR(r1[0][0][8].item<double>(), b * std::cos(1.0) + a * std::sin(1.0), 1e-5);
}

// The no-autograd fast path (halves written in place) equals the differentiable formula.
TEST(Rope, FastPathMatchesAutogradPath) {
  auto cfg = config_with(10000.0, 16, {{"type", "yarn"}, {"factor", 4.0}}, 64);
  auto p = duo::model::rope_params(cfg);
  auto gen = at::detail::createCPUGenerator(2);
  auto x = at::randn({5, 3, 16}, gen, at::kFloat).transpose(0, 1);  // [H, T, D], strided like q
  auto [cos, sin] = duo::model::rope_cos_sin(p, at::arange(5, at::kLong) + 7, at::kFloat);
  auto fast = duo::model::apply_rope(x, cos, sin);
  auto xg = x.detach().clone().requires_grad_(true);
  auto slow = duo::model::apply_rope(xg, cos, sin);
  ASSERT_TRUE(slow.requires_grad());
  EXPECT_TRUE(fast.is_contiguous());
  EXPECT_TRUE(at::allclose(fast, slow.detach(), 1e-6, 1e-6));
}

}  // namespace
