// Global-norm gradient clipping against hand-computed norms and scales.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "optim/clip.h"

namespace duo::optim {
namespace {

TEST(ClipGradNorm, ScalesEveryGradientToTheLimit) {
  auto a = at::zeros({2}).requires_grad_(true);
  auto b = at::zeros({1}).requires_grad_(true);
  auto c = at::zeros({3}).requires_grad_(true);  // no gradient: skipped
  a.mutable_grad() = at::tensor({3.0f, 0.0f});
  b.mutable_grad() = at::tensor({4.0f});
  NamedTensors p = {{"a", a}, {"b", b}, {"c", c}};
  EXPECT_NEAR(clip_grad_norm(p, 10.0), 5.0, 1e-9);  // below the limit: unchanged
  EXPECT_EQ(a.grad()[0].item<float>(), 3.0f);
  EXPECT_EQ(b.grad()[0].item<float>(), 4.0f);
  EXPECT_NEAR(clip_grad_norm(p, 0.0), 5.0, 1e-9);  // max_norm 0: no clipping
  EXPECT_EQ(b.grad()[0].item<float>(), 4.0f);
  EXPECT_NEAR(clip_grad_norm(p, 1.0), 5.0, 1e-9);  // returns the norm before clipping
  EXPECT_NEAR(a.grad()[0].item<float>(), 3.0 / (5.0 + 1e-6), 1e-6);
  EXPECT_NEAR(b.grad()[0].item<float>(), 4.0 / (5.0 + 1e-6), 1e-6);
  EXPECT_FALSE(c.grad().defined());
  EXPECT_NEAR(clip_grad_norm(p, 1.0), 1.0, 1e-5);  // now within the limit
}

}  // namespace
}  // namespace duo::optim
