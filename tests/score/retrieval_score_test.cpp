// retrieval (score/retrieval_score.h): the hit rule on a hand-made attention trace, and the whole
// score through hand-built heads: one copies from the needle, one from a copy of the same tokens
// outside the needle, one attends locally.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "score/hand_qk.h"
#include "score/retrieval_score.h"

namespace duo::score {
namespace {

TEST(RetrievalScore, HitRuleOnAHandMadeTrace) {
  CopyTrace t;
  //      0  1   2   3   4   5   6   7   8   9
  t.ids = {1, 10, 11, 12, 13, 20, 11, 22, 30, 31};
  t.needle_begin = 1;  // the needle: 10 11 12 13
  t.needle_end = 5;
  t.generated = {11, 12, 99};
  auto top1 = at::tensor(std::vector<int64_t>{
                             2, 3, 4,  // copies 11 and 12 from the needle; 13 != 99: 2 hits
                             2, 7, 0,  // 11 from the needle; then outside it: 1 hit
                             6, 3, 3,  // 11 outside the needle (position 6) is no hit; 12 at 3 is: 1 hit
                             1, 2, 3,  // needle positions holding other tokens: 0 hits
                         })
                  .view({4, 3});
  EXPECT_EQ(retrieval_hits(top1, t), (std::vector<int64_t>{2, 1, 1, 0}));
  // Shapes and spans are checked.
  EXPECT_THROW(retrieval_hits(top1.narrow(1, 0, 2), t), Error);
  CopyTrace bad = t;
  bad.needle_end = 11;
  EXPECT_THROW(retrieval_hits(top1, bad), Error);
}

TEST(RetrievalScore, CopyingHeadScoresHitsOverNeedleTokens) {
  CopyTrace t;
  // BOS, haystack, needle 40..44 at 4..8, more haystack with a copy of 41 42 at 10..11, question.
  t.ids = {1, 5, 6, 7, 40, 41, 42, 43, 44, 8, 41, 42, 9, 6, 7};
  t.needle_begin = 4;
  t.needle_end = 9;
  t.generated = {41, 42, 43, 2};  // three needle tokens copied, then EOS
  const auto p = static_cast<int64_t>(t.ids.size());
  auto gen = t.generated;
  auto ids = t.ids;
  // Head 0 reads the needle position of the token it is generating; head 1 reads the token's copy
  // outside the needle (when there is one), head 2 itself.
  auto target = [p, gen, ids](int64_t h, int64_t i, const std::vector<int64_t>&) -> int64_t {
    const int64_t s = i - (p - 1);
    if (s < 0 || s >= static_cast<int64_t>(gen.size()) || h == 2) return i;
    const int64_t from = h == 0 ? 4 : 9, to = h == 0 ? 9 : p;
    for (int64_t j = from; j < to; ++j)
      if (ids[j] == gen[s]) return j;
    return i;
  };
  auto src = testing::hand_qk_source(/*layers=*/2, /*heads=*/3, /*kv=*/3, /*dim=*/32, target);
  auto top1 = generation_top1(src, t, /*block=*/4);
  ASSERT_EQ(top1.size(), 2u);
  EXPECT_TRUE(at::equal(top1[0][0], at::tensor(std::vector<int64_t>{5, 6, 7, 17})));
  auto s = retrieval_scores(src, {t, t}, /*block=*/5);
  for (int64_t l = 0; l < 2; ++l) {
    EXPECT_NEAR(s.at(l, 0), 3.0 / 5.0, 1e-12);  // 3 hits over a 5-token needle
    EXPECT_EQ(s.at(l, 1), 0.0);
    EXPECT_EQ(s.at(l, 2), 0.0);
  }
}

}  // namespace
}  // namespace duo::score
