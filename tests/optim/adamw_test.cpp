// AdamW against the plain formula (torch.optim.AdamW's update written out per element): the
// DuoAttention configuration with explicit gradients, decoupled decay where the rule selects it
// with gradients from .grad(), skipped parameters, and a state round trip that resumes bit for bit.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "optim/adamw.h"

namespace duo::optim {
namespace {

TEST(AdamW, DuoAttentionDefaultsMatchTheFormulaOverTwoSteps) {
  auto p = at::tensor({0.5, -0.2, 0.9}, at::kDouble);
  const std::vector<std::vector<double>> grads = {{0.1, -0.3, 0.0}, {-0.05, 0.2, 0.4}};
  AdamW opt({{"gates", p}}, AdamWConfig{});
  std::vector<double> pp = {0.5, -0.2, 0.9}, m(3, 0.0), v(3, 0.0);
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;  // DuoAttention's, and no weight decay
  const double lrs[] = {0.02, 0.01};
  for (int t = 1; t <= 2; ++t) {
    const auto& g = grads[t - 1];
    opt.step(lrs[t - 1], {at::tensor(g, at::kDouble)});
    for (int i = 0; i < 3; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const double mhat = m[i] / (1 - std::pow(b1, t));
      const double vhat = v[i] / (1 - std::pow(b2, t));
      pp[i] -= lrs[t - 1] * mhat / (std::sqrt(vhat) + eps);
    }
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(p[i].item<double>(), pp[i], 1e-12) << "step " << t << " i " << i;
  }
  EXPECT_EQ(opt.steps(), 2);
  const AdamWState st = opt.state();
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(st.m.at("gates")[i].item<double>(), m[i], 1e-15) << i;
    EXPECT_NEAR(st.v.at("gates")[i].item<double>(), v[i], 1e-15) << i;
  }
}

TEST(AdamW, DecaysOnlyWhereTheRuleSaysWithGradientsFromGrad) {
  auto vec = at::tensor({1.0f, -2.0f}).requires_grad_(true);                                     // not decayed
  auto mat = at::tensor({0.5f, 0.25f, -1.0f, 2.0f}).view({2, 2}).detach().requires_grad_(true);  // decayed
  const double wd = 0.1, lr = 0.1;
  AdamW opt({{"norm.weight", vec}, {"proj.weight", mat}}, AdamWConfig{0.9, 0.99, 1e-8, wd},
            [](const std::string&, const at::Tensor& p) { return p.dim() >= 2; });
  // Step 1: the bias-corrected m / sqrt(v) is sign(g).
  vec.mutable_grad() = at::tensor({0.5f, -3.0f});
  mat.mutable_grad() = at::tensor({1.0f, -1.0f, 2.0f, 0.0f}).view({2, 2});
  opt.step(lr);
  EXPECT_NEAR(vec[0].item<float>(), 1.0 - lr, 1e-6);
  EXPECT_NEAR(vec[1].item<float>(), -2.0 + lr, 1e-6);
  EXPECT_NEAR(mat[0][0].item<float>(), 0.5 * (1 - lr * wd) - lr, 1e-6);
  EXPECT_NEAR(mat[0][1].item<float>(), 0.25 * (1 - lr * wd) + lr, 1e-6);
  EXPECT_NEAR(mat[1][1].item<float>(), 2.0 * (1 - lr * wd), 1e-6);  // g = 0: decay only
  // Step 2 on vec[0] with g2 = 1.5, by the textbook formula.
  vec.mutable_grad() = at::tensor({1.5f, 0.0f});
  mat.mutable_grad() = at::zeros({2, 2});
  const double p1 = 1.0 - lr, g1 = 0.5, g2 = 1.5;
  const double m = 0.9 * (0.1 * g1) + 0.1 * g2, v = 0.99 * (0.01 * g1 * g1) + 0.01 * g2 * g2;
  const double mhat = m / (1 - 0.81), vhat = v / (1 - 0.9801);
  opt.step(lr);
  EXPECT_NEAR(vec[0].item<float>(), p1 - lr * mhat / (std::sqrt(vhat) + 1e-8), 1e-6);
  EXPECT_NEAR(mat[1][1].item<float>(), 2.0 * (1 - lr * wd) * (1 - lr * wd), 1e-6);  // decay again
  EXPECT_EQ(opt.steps(), 2);
}

TEST(AdamW, ParametersWithoutAGradientAreLeftAlone) {
  auto a = at::tensor({1.0f, 2.0f});
  auto b = at::tensor({3.0f});
  AdamW opt({{"a", a}, {"b", b}}, AdamWConfig{0.9, 0.999, 1e-8, 0.5});
  opt.step(0.1, {at::Tensor(), at::tensor({2.0f})});
  EXPECT_EQ(a[0].item<float>(), 1.0f);  // no gradient: not even decayed
  EXPECT_EQ(a[1].item<float>(), 2.0f);
  EXPECT_EQ(opt.state().m.at("a").abs().sum().item<float>(), 0.0f);
  EXPECT_NEAR(b[0].item<float>(), 3.0 * (1 - 0.1 * 0.5) - 0.1, 1e-6);  // first step: decay, then -lr * sign(g)
  EXPECT_EQ(opt.steps(), 1);
}

TEST(AdamW, RejectsGradientsOfTheWrongShapeOrCount) {
  auto p = at::zeros({2, 3});
  AdamW opt({{"w", p}}, AdamWConfig{});
  EXPECT_THROW(opt.step(0.1, {at::zeros({3, 2})}), Error);
  EXPECT_THROW(opt.step(0.1, {}), Error);
  EXPECT_EQ(opt.steps(), 0);
}

TEST(AdamW, StateRoundTripResumesBitForBit) {
  auto grad = [](int64_t t) { return at::sin(at::arange(6, at::kFloat).view({2, 3}) * static_cast<double>(t + 1)); };
  auto lr = [](int64_t t) { return 0.01 * static_cast<double>(t + 1); };
  const AdamWConfig cfg{0.9, 0.95, 1e-8, 0.1};
  // Uninterrupted: four steps.
  auto full = at::ones({2, 3});
  AdamW a({{"w", full}}, cfg);
  for (int64_t t = 0; t < 4; ++t) a.step(lr(t), {grad(t)});
  // Two steps, then export the weights and the state.
  auto part = at::ones({2, 3});
  AdamW b({{"w", part}}, cfg);
  for (int64_t t = 0; t < 2; ++t) b.step(lr(t), {grad(t)});
  const at::Tensor weights = part.clone();
  const AdamWState saved = b.state();
  const at::Tensor m_saved = saved.m.at("w").clone();
  b.step(1.0, {at::ones({2, 3})});
  EXPECT_TRUE(at::equal(saved.m.at("w"), m_saved));  // the export is a copy
  // A fresh optimizer over the exported weights and state continues as if never stopped.
  auto resumed = weights.clone();
  AdamW c({{"w", resumed}}, cfg);
  c.set_state(saved);
  EXPECT_EQ(c.steps(), 2);
  for (int64_t t = 2; t < 4; ++t) c.step(lr(t), {grad(t)});
  EXPECT_TRUE(at::equal(resumed, full));
  EXPECT_TRUE(at::equal(c.state().m.at("w"), a.state().m.at("w")));
  EXPECT_TRUE(at::equal(c.state().v.at("w"), a.state().v.at("w")));
  EXPECT_EQ(c.steps(), 4);
}

TEST(AdamW, SetStateRequiresEveryMomentWithItsShape) {
  auto p = at::zeros({2, 3});
  AdamW opt({{"w", p}}, AdamWConfig{});
  AdamWState s;
  s.m["w"] = at::zeros({2, 3});
  EXPECT_THROW(opt.set_state(s), Error);  // second moment missing
  s.v["w"] = at::zeros({3, 2});
  EXPECT_THROW(opt.set_state(s), Error);  // wrong shape
  s.v["w"] = at::ones({2, 3});
  s.steps = 5;
  opt.set_state(s);
  EXPECT_EQ(opt.steps(), 5);
  EXPECT_TRUE(at::equal(opt.state().v.at("w"), at::ones({2, 3})));
}

}  // namespace
}  // namespace duo::optim
