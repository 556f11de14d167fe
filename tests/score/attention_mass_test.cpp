// attention-mass (score/attention_mass.h) on hand-built heads whose outside-window mass has a
// closed form: a purely local head scores lowest, a head that reads far back scores high, a
// uniform head scores the share of keys outside the window.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "score/attention_mass.h"
#include "score/hand_qk.h"
#include "score/head_scores.h"

namespace duo::score {
namespace {

constexpr StreamWindow kWindow{2, 4};  // sink 2, recent 4: queries i >= 6 have keys outside

// Head 0 local (itself), head 1 ten tokens back (the sink before that), head 2 uniform, head 3
// five tokens back (just past the recent window) once that lies after the sink, else itself.
int64_t target(int64_t h, int64_t i, const std::vector<int64_t>&) {
  switch (h) {
    case 0: return i;
    case 1: return i >= 10 ? i - 10 : 0;
    case 2: return -1;
    default: return i - 5 >= kWindow.sink ? i - 5 : i;
  }
}

TEST(AttentionMass, HandBuiltHeadsGetTheirClosedForms) {
  const int64_t t = 40;
  auto src = testing::hand_qk_source(/*layers=*/2, /*heads=*/4, /*kv=*/2, /*dim=*/t, target);
  std::vector<int64_t> ids(t, 5), short_ids(5, 5);  // the 5-token sample has no query past the window
  for (int64_t block : {3, 16, 64}) {
    auto s = attention_mass_scores(src, {ids, short_ids}, kWindow, block);
    ASSERT_EQ(s.n_layers, 2);
    ASSERT_EQ(s.n_kv_heads, 4);
    // Queries 6..39 (34) count. Head 1 reads i - 10 >= sink (outside) for i >= 12: 28 of 34.
    double uniform = 0.0;
    for (int64_t i = 6; i < t; ++i) uniform += double(i - kWindow.recent - kWindow.sink + 1) / double(i + 1);
    for (int64_t l = 0; l < 2; ++l) {
      EXPECT_NEAR(s.at(l, 0), 0.0, 1e-6);
      EXPECT_NEAR(s.at(l, 1), 28.0 / 34.0, 1e-6);
      EXPECT_NEAR(s.at(l, 2), uniform / 34.0, 1e-6);
      EXPECT_NEAR(s.at(l, 3), 33.0 / 34.0, 1e-6);
      // The purely local head is the lowest.
      for (int64_t h = 1; h < 4; ++h) EXPECT_LT(s.at(l, 0), s.at(l, h));
    }
    // GQA: KV head 0 = max(heads 0, 1), KV head 1 = max(heads 2, 3).
    auto kv = reduce_to_kv_heads(s, 2);
    EXPECT_NEAR(kv.at(0, 0), 28.0 / 34.0, 1e-6);
    EXPECT_NEAR(kv.at(1, 1), 33.0 / 34.0, 1e-6);
  }
}

TEST(AttentionMass, RefusesSamplesNoLongerThanTheWindow) {
  auto src = testing::hand_qk_source(1, 4, 2, 8, target);
  try {
    attention_mass_scores(src, {std::vector<int64_t>(6, 1)}, kWindow, 4);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sink + recent = 6"), std::string::npos) << e.what();
  }
}

TEST(HeadScores, GqaTakesTheMaxOfEachGroup) {
  mask::GateTable q{2, 4, {0.1, 0.7, 0.3, 0.2, 0.9, 0.0, 0.4, 0.5}};
  auto kv = reduce_to_kv_heads(q, 2);
  EXPECT_EQ(kv.values, (std::vector<double>{0.7, 0.3, 0.9, 0.5}));
  EXPECT_EQ(reduce_to_kv_heads(q, 4).values, q.values);
  EXPECT_THROW(reduce_to_kv_heads(q, 3), Error);
}

}  // namespace
}  // namespace duo::score
