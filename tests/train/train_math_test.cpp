// Gate trainer math: the schedule at the official checkpoints, one AdamW step against the
// formula, the losses against hand-computed values, the data order.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "train/adamw.h"
#include "train/data_order.h"
#include "train/loss.h"
#include "train/schedule.h"

using namespace duo::train;

TEST(Schedule, OfficialLambdaAtKeySteps) {
  // N = 2000, N // 5 = 400: lambda(s) = min(1, max((s+1)/400, 0.1), max((2000-s)/400, 0.1))
  EXPECT_DOUBLE_EQ(lr_multiplier(0, 2000), 0.1);          // max(1/400, 0.1)
  EXPECT_DOUBLE_EQ(lr_multiplier(99, 2000), 0.25);        // 100/400
  EXPECT_DOUBLE_EQ(lr_multiplier(400, 2000), 1.0);        // N/5: warm-up done
  EXPECT_DOUBLE_EQ(lr_multiplier(1000, 2000), 1.0);       // N/2
  EXPECT_DOUBLE_EQ(lr_multiplier(1700, 2000), 0.75);      // 300/400
  EXPECT_DOUBLE_EQ(lr_multiplier(1999, 2000), 0.1);       // N-1: max(1/400, 0.1)
  // N // 5 is integer division: N = 12 -> 2
  EXPECT_DOUBLE_EQ(lr_multiplier(0, 12), 0.5);
  EXPECT_DOUBLE_EQ(lr_multiplier(11, 12), 0.5);
  EXPECT_DOUBLE_EQ(lr_at(400, 2000, 0.02), 0.02);
}

TEST(AdamW, TwoStepsMatchTheFormula) {
  auto p = at::tensor({0.5, -0.2, 0.9}, at::kDouble);
  std::vector<std::vector<double>> grads = {{0.1, -0.3, 0.0}, {-0.05, 0.2, 0.4}};
  AdamW opt(p);
  std::vector<double> pp = {0.5, -0.2, 0.9}, m(3, 0.0), v(3, 0.0);
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const double lrs[] = {0.02, 0.01};
  for (int t = 1; t <= 2; ++t) {
    const auto& g = grads[t - 1];
    opt.step(p, at::tensor(g, at::kDouble), lrs[t - 1]);
    for (int i = 0; i < 3; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const double mhat = m[i] / (1 - std::pow(b1, t));
      const double vhat = v[i] / (1 - std::pow(b2, t));
      pp[i] -= lrs[t - 1] * mhat / (std::sqrt(vhat) + eps);
    }
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(p[i].item<double>(), pp[i], 1e-12) << "step " << t << " i " << i;
  }
  EXPECT_EQ(opt.state().step, 2);
}

TEST(Loss, DistillAndRegByHand) {
  auto hf = at::tensor({1.0, 2.0, 3.0, 4.0, 7.0, 7.0}, at::kFloat).reshape({3, 2});
  auto hg = at::tensor({1.0, 0.0, 0.0, 4.0, 0.0, 0.0}, at::kFloat).reshape({3, 2});
  auto mask = at::tensor({1, 1, 0}, at::kByte).to(at::kBool);
  // rows 0 and 1: mean((0, 4)) = 2, mean((9, 0)) = 4.5 -> (2 + 4.5) / 2 = 3.25; row 2 ignored
  EXPECT_FLOAT_EQ(distill_loss(hf, hg, mask).item<float>(), 3.25f);
  auto alpha = at::tensor({0.5, -0.25, 1.0, 0.25}, at::kFloat).reshape({2, 2});
  EXPECT_FLOAT_EQ(reg_loss(alpha).item<float>(), 0.5f);  // (0.5 + 0.25 + 1 + 0.25) / 4
  EXPECT_THROW(distill_loss(hf, hg, at::zeros({3}, at::kBool)), std::exception);
}

TEST(DataOrder, InOrderReplaysAndShuffledIsAPermutationPerEpoch) {
  DataOrder plain(4, false, 1);
  for (int e = 0; e < 2; ++e)
    for (int i = 0; i < 4; ++i) EXPECT_EQ(plain.next(), i);
  DataOrder shuf(50, true, 7);
  std::set<int64_t> seen;
  std::vector<int64_t> first;
  for (int i = 0; i < 50; ++i) first.push_back(shuf.next()), seen.insert(first.back());
  EXPECT_EQ(seen.size(), 50u);
  std::vector<int64_t> sorted(first);
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NE(first, sorted);  // actually shuffled
  // state round trip: continuing from (epoch, pos) gives the same stream
  DataOrder a(10, true, 3), b(10, true, 3);
  for (int i = 0; i < 13; ++i) a.next();
  b.set_state(a.epoch(), a.position());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(a.next(), b.next());
}
