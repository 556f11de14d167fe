// Gate trainer math: the losses against hand-computed values, the data order. (The optimizer and
// the learning-rate schedule are tested in tests/optim.)
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>

#include "train/data_order.h"
#include "train/loss.h"

using namespace duo::train;

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
