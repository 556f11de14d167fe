// razor (score/razor_score.h): the probe sequence, echo / induction statistics on hand-built
// heads (a hand-set induction head gets the top razor score), and the rank combination.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>

#include "score/hand_qk.h"
#include "score/razor_score.h"

namespace duo::score {
namespace {

constexpr int64_t kLen = 8;  // random tokens per copy

void expect_near_all(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << "head " << i;
}

// One layer: head 0 induction (the token after the previous occurrence), head 1 echo (the previous
// occurrence), head 2 local (itself), head 3 uniform. Before the first repeat every head reads itself.
int64_t target(int64_t h, int64_t i, const std::vector<int64_t>&) {
  const bool repeat = i >= 1 + kLen;  // BOS at 0
  switch (h) {
    case 0: return repeat ? i - kLen + 1 : i;
    case 1: return repeat ? i - kLen : i;
    case 2: return i;
    default: return -1;
  }
}

TEST(RazorScore, ProbeRepeatsDistinctRandomTokens) {
  std::vector<int64_t> allowed;
  for (int64_t i = 4; i < 40; ++i) allowed.push_back(i);
  auto s = razor_sequence(allowed, kLen, 3, 7, /*bos=*/1);
  ASSERT_EQ(s.size(), 1u + 3 * kLen);
  EXPECT_EQ(s[0], 1);
  std::set<int64_t> first(s.begin() + 1, s.begin() + 1 + kLen);
  EXPECT_EQ(first.size(), size_t(kLen));  // no id twice within a copy
  for (int64_t c = 1; c < 3; ++c)
    for (int64_t m = 0; m < kLen; ++m) EXPECT_EQ(s[1 + c * kLen + m], s[1 + m]);
  for (auto id : first) EXPECT_TRUE(id >= 4 && id < 40);
  EXPECT_NE(razor_sequence(allowed, kLen, 3, 8, 1), s);  // another seed, another probe
  EXPECT_EQ(razor_sequence(allowed, kLen, 3, 7, -1).size(), size_t(3 * kLen));
}

TEST(RazorScore, HandSetInductionHeadGetsTheTopScore) {
  auto src = testing::hand_qk_source(/*layers=*/1, /*heads=*/4, /*kv=*/4, /*dim=*/1 + 3 * kLen, target);
  std::vector<int64_t> allowed;
  for (int64_t i = 4; i < 40; ++i) allowed.push_back(i);
  const std::vector<std::vector<int64_t>> seqs = {razor_sequence(allowed, kLen, 3, 1, 1),
                                                  razor_sequence(allowed, kLen, 3, 2, 1)};
  for (int64_t block : {2, 5, 64}) {
    auto st = razor_stats(src, seqs, kLen, /*offset=*/1, block);
    EXPECT_NEAR(st.induction.at(0, 0), 1.0, 1e-6);
    EXPECT_NEAR(st.echo.at(0, 1), 1.0, 1e-6);
    for (int64_t h : {1, 2}) EXPECT_NEAR(st.induction.at(0, h), 0.0, 1e-6) << h;
    for (int64_t h : {0, 2}) EXPECT_NEAR(st.echo.at(0, h), 0.0, 1e-6) << h;
    // The uniform head pays 1 / (i + 1) to each key: queries 9 .. 24.
    double u = 0.0;
    for (int64_t i = 1 + kLen; i < 1 + 3 * kLen; ++i) u += 1.0 / double(i + 1);
    EXPECT_NEAR(st.induction.at(0, 3), u / (2 * kLen), 1e-6);
    EXPECT_NEAR(st.echo.at(0, 3), u / (2 * kLen), 1e-6);

    auto c = razor_combine(st.echo, st.induction, 0.01, 0.14);
    // Order: induction head (top induction), echo head (top echo), uniform (2nd by induction), local.
    expect_near_all(c.values, {1.0, 2.0 / 3.0, 0.0, 1.0 / 3.0});
  }
}

TEST(RazorScore, CombinationFollowsTheShares) {
  // 4 heads; echo ranks 3,2,1,0 (head 3 highest), induction ranks 0,1,2,3.
  mask::GateTable echo{1, 4, {0.1, 0.2, 0.3, 0.4}}, ind{1, 4, {0.9, 0.8, 0.7, 0.6}};
  expect_near_all(razor_combine(echo, ind, 0.0, 1.0).values, {1.0, 2.0 / 3.0, 1.0 / 3.0, 0.0});
  expect_near_all(razor_combine(echo, ind, 1.0, 0.0).values, {0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0});
  // Equal shares alternate: induction's best, echo's best, then the second of each.
  auto even = razor_combine(echo, ind, 0.5, 0.5).values;
  expect_near_all(even, {1.0, 1.0 / 3.0, 0.0, 2.0 / 3.0});
  EXPECT_THROW(razor_combine(echo, ind, 0.0, 0.0), Error);
}

}  // namespace
}  // namespace duo::score
