// The one mask predicate (kernels/attention_mask.h) and the plans derived from it: visible runs per
// query, key spans, block states, key blocks and query spans all agree with HeadMask::visible.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/stream_window.h"
#include "kernels/attention_mask.h"

namespace {

namespace kn = duo::kernels;

TEST(AttentionMask, MaskRunsAndBlockPlansAgreeWithPredicate) {
  for (int streaming = 0; streaming < 2; ++streaming)
    for (int64_t sink = 0; sink <= 5; ++sink)
      for (int64_t recent = 1; recent <= 6; ++recent)
        for (int64_t window = 0; window <= 7; ++window) {
          const kn::HeadMask m{streaming == 1, duo::StreamWindow(sink, recent), window};
          for (int64_t i = 0; i < 24; ++i) {
            kn::Span runs[2];
            const int count = m.visible_runs(i, runs);
            for (int64_t j = 0; j < 26; ++j) {
              bool in_runs = false;
              for (int x = 0; x < count; ++x) in_runs |= j >= runs[x].begin && j < runs[x].end;
              ASSERT_EQ(in_runs, m.visible(i, j)) << "i " << i << " j " << j << " sink " << sink << " recent "
                                                  << recent << " window " << window << " streaming " << streaming;
            }
          }
          // block plans: every visible pair lies in a non-empty block of the key spans / query span,
          // and kFull blocks contain only visible pairs
          const int64_t t = 23;
          for (int64_t q0 = 0; q0 < t; q0 += 5) {
            const int64_t q1 = std::min(t, q0 + 5);
            for (int64_t i = q0; i < q1; ++i)
              for (int64_t j = 0; j <= i; ++j) {
                if (!m.visible(i, j)) continue;
                bool covered = false;
                for (const kn::Span& s : kn::key_spans(m, q0, q1)) covered |= j >= s.begin && j < s.end;
                ASSERT_TRUE(covered) << "key " << j << " of query " << i;
              }
            for (int64_t k0 = 0; k0 < t; k0 += 3) {
              const int64_t k1 = std::min(t, k0 + 3);
              const kn::BlockState st = kn::block_state(m, q0, q1, k0, k1);
              int visible = 0, total = 0;
              for (int64_t i = q0; i < q1; ++i)
                for (int64_t j = k0; j < k1; ++j) visible += m.visible(i, j), ++total;
              if (st == kn::BlockState::kFull) {
                ASSERT_EQ(visible, total);
              }
              if (st == kn::BlockState::kEmpty) {
                ASSERT_EQ(visible, 0);
              }
            }
          }
          for (const kn::Span& kb : kn::key_blocks(m, t, 4)) {
            const kn::Span qs = kn::query_span(m, kb.begin, kb.end, t);
            for (int64_t j = kb.begin; j < kb.end; ++j)
              for (int64_t i = 0; i < t; ++i)
                if (m.visible(i, j)) {
                  ASSERT_TRUE(i >= qs.begin && i < qs.end) << "query " << i << " key " << j;
                }
          }
        }
}

TEST(AttentionMask, PredicateByHand) {
  // sink 2, recent 3, no sliding window: query 10 sees keys 0, 1 (sink) and 8, 9, 10 (recent).
  const kn::HeadMask m{true, duo::StreamWindow(2, 3), 0};
  std::vector<int64_t> seen;
  for (int64_t j = -1; j <= 11; ++j)
    if (m.visible(10, j)) seen.push_back(j);
  EXPECT_EQ(seen, std::vector<int64_t>({0, 1, 8, 9, 10}));
  // A sliding window of 2 on top: only 9 and 10 remain.
  const kn::HeadMask w{true, duo::StreamWindow(2, 3), 2};
  EXPECT_FALSE(w.visible(10, 0));
  EXPECT_TRUE(w.visible(10, 9));
  EXPECT_FALSE(w.visible(10, 8));
  // Ring slots: sink slots first, then the recent slots cycle.
  const duo::StreamWindow r(2, 3);
  EXPECT_EQ(r.slots(), 5);
  EXPECT_EQ(r.ring_slot(1), 1);
  EXPECT_EQ(r.ring_slot(2), 2);
  EXPECT_EQ(r.ring_slot(5), 2);
  EXPECT_EQ(r.ring_slot(6), 3);
}

}  // namespace
