// AdamW against hand-computed updates, gradient clipping, the cosine schedule.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "pretrain/adamw.h"

namespace duo::pretrain {
namespace {

TEST(AdamW, MatchesHandComputedSteps) {
  auto vec = at::tensor({1.0f, -2.0f}).requires_grad_(true);                   // no decay (1-d)
  auto mat = at::tensor({0.5f, 0.25f, -1.0f, 2.0f}).view({2, 2}).detach().requires_grad_(true);  // decayed
  AdamWOptions o{0.9, 0.99, 1e-8, 0.1};
  AdamW opt({{"norm.weight", vec}, {"proj.weight", mat}}, o);
  const double lr = 0.1;
  // Step 1: bias-corrected m / sqrt(v) = sign(g).
  vec.mutable_grad() = at::tensor({0.5f, -3.0f});
  mat.mutable_grad() = at::tensor({1.0f, -1.0f, 2.0f, 0.0f}).view({2, 2});
  opt.step(lr);
  EXPECT_NEAR(vec[0].item<float>(), 1.0 - lr, 1e-6);
  EXPECT_NEAR(vec[1].item<float>(), -2.0 + lr, 1e-6);
  EXPECT_NEAR(mat[0][0].item<float>(), 0.5 * (1 - lr * 0.1) - lr, 1e-6);
  EXPECT_NEAR(mat[1][1].item<float>(), 2.0 * (1 - lr * 0.1), 1e-6);  // g = 0: decay only
  // Step 2 on vec[0] with g2 = 1.5, by the textbook formula.
  vec.mutable_grad() = at::tensor({1.5f, 0.0f});
  mat.mutable_grad() = at::zeros({2, 2});
  const double p1 = 1.0 - lr, g1 = 0.5, g2 = 1.5;
  const double m = 0.9 * (0.1 * g1) + 0.1 * g2, v = 0.99 * (0.01 * g1 * g1) + 0.01 * g2 * g2;
  const double mhat = m / (1 - 0.81), vhat = v / (1 - 0.9801);
  opt.step(lr);
  EXPECT_NEAR(vec[0].item<float>(), p1 - lr * mhat / (std::sqrt(vhat) + 1e-8), 1e-6);
  EXPECT_EQ(opt.steps(), 2);
  EXPECT_EQ(opt.state().size(), 4u);
}

TEST(AdamW, ClipGradNormScalesToTheLimit) {
  auto a = at::zeros({2}).requires_grad_(true);
  auto b = at::zeros({1}).requires_grad_(true);
  a.mutable_grad() = at::tensor({3.0f, 0.0f});
  b.mutable_grad() = at::tensor({4.0f});
  NamedTensors p = {{"a", a}, {"b", b}};
  EXPECT_NEAR(clip_grad_norm(p, 10.0), 5.0, 1e-9);  // below the limit: unchanged
  EXPECT_NEAR(a.grad()[0].item<float>(), 3.0, 1e-6);
  EXPECT_NEAR(clip_grad_norm(p, 1.0), 5.0, 1e-9);
  EXPECT_NEAR(a.grad()[0].item<float>(), 0.6, 1e-5);
  EXPECT_NEAR(b.grad()[0].item<float>(), 0.8, 1e-5);
}

TEST(AdamW, CosineScheduleWithWarmup) {
  EXPECT_NEAR(cosine_lr(0, 110, 10, 1.0, 0.1), 0.1, 1e-12);
  EXPECT_NEAR(cosine_lr(9, 110, 10, 1.0, 0.1), 1.0, 1e-12);
  EXPECT_NEAR(cosine_lr(10, 110, 10, 1.0, 0.1), 1.0, 1e-12);
  EXPECT_NEAR(cosine_lr(109, 110, 10, 1.0, 0.1), 0.1, 1e-12);
  EXPECT_NEAR(cosine_lr(200, 110, 10, 1.0, 0.1), 0.1, 1e-12);  // past the horizon: the floor
  // Midway through the decay: floor + half the range.
  EXPECT_NEAR(cosine_lr(59, 110, 10, 1.0, 0.0), 0.5 * (1 + std::cos(M_PI * 49.0 / 99.0)), 1e-12);
}

}  // namespace
}  // namespace duo::pretrain
