// The learning-rate schedules against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "optim/schedule.h"

namespace duo::optim {
namespace {

TEST(Schedule, DuoAttentionLambdaAtKeySteps) {
  // N = 2000, N // 5 = 400: lambda(s) = min(1, max((s+1)/400, 0.1), max((2000-s)/400, 0.1))
  EXPECT_DOUBLE_EQ(duo_attention_lr_multiplier(0, 2000), 0.1);      // max(1/400, 0.1)
  EXPECT_DOUBLE_EQ(duo_attention_lr_multiplier(99, 2000), 0.25);    // 100/400
  EXPECT_DOUBLE_EQ(duo_attention_lr_multiplier(399, 2000), 1.0);    // 400/400: warm-up done
  EXPECT_DOUBLE_EQ(duo_attention_lr_multiplier(1000, 2000), 1.0);   // N/2
  EXPECT_DOUBLE_EQ(duo_attention_lr_multiplier(1700, 2000), 0.75);  // 300/400
  EXPECT_DOUBLE_EQ(duo_attention_lr_multiplier(1999, 2000), 0.1);   // N-1: max(1/400, 0.1)
  // N // 5 is integer division: N = 12 -> 2
  EXPECT_DOUBLE_EQ(duo_attention_lr_multiplier(0, 12), 0.5);
  EXPECT_DOUBLE_EQ(duo_attention_lr_multiplier(5, 12), 1.0);
  EXPECT_DOUBLE_EQ(duo_attention_lr_multiplier(11, 12), 0.5);
  // N < 5: N // 5 is taken as 1, so every step runs at the peak.
  for (int64_t s = 0; s < 3; ++s) EXPECT_DOUBLE_EQ(duo_attention_lr_multiplier(s, 3), 1.0) << s;
  EXPECT_DOUBLE_EQ(duo_attention_lr(99, 2000, 0.02), 0.005);
  EXPECT_DOUBLE_EQ(duo_attention_lr(400, 2000, 0.02), 0.02);
}

TEST(Schedule, CosineWithWarmup) {
  // Warm-up: lr * (s + 1) / warmup.
  EXPECT_NEAR(cosine_lr(0, 110, 10, 1.0, 0.1), 0.1, 1e-12);
  EXPECT_NEAR(cosine_lr(4, 110, 10, 2.0, 0.1), 1.0, 1e-12);
  EXPECT_NEAR(cosine_lr(9, 110, 10, 1.0, 0.1), 1.0, 1e-12);
  // Decay from the peak at s = warmup to the floor at s = N - 1, and the floor after.
  EXPECT_NEAR(cosine_lr(10, 110, 10, 1.0, 0.1), 1.0, 1e-12);
  EXPECT_NEAR(cosine_lr(109, 110, 10, 1.0, 0.1), 0.1, 1e-12);
  EXPECT_NEAR(cosine_lr(200, 110, 10, 1.0, 0.1), 0.1, 1e-12);
  // N = 111, warmup 10: the decay spans 100 steps. Halfway cos = 0: floor + half the range;
  // a quarter of the way cos(pi / 4) = sqrt(2) / 2.
  EXPECT_NEAR(cosine_lr(60, 111, 10, 1.0, 0.1), 0.55, 1e-12);
  EXPECT_NEAR(cosine_lr(35, 111, 10, 1.0, 0.1), 0.1 + 0.9 * (2.0 + std::sqrt(2.0)) / 4.0, 1e-12);
  EXPECT_NEAR(cosine_lr(60, 111, 10, 3.0, 0.0), 1.5, 1e-12);
  // No warm-up: the peak at step 0.
  EXPECT_NEAR(cosine_lr(0, 11, 0, 1.0, 0.0), 1.0, 1e-12);
  EXPECT_NEAR(cosine_lr(5, 11, 0, 1.0, 0.0), 0.5, 1e-12);
}

}  // namespace
}  // namespace duo::optim
