// Blockwise attention statistics (score/attention_stats.h) against a dense reference that
// materializes the masked softmax (short inputs only), for several tile sizes, GQA, a sliding
// window and the sink + recent split.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <limits>

#include "score/attention_stats.h"

namespace duo::score {
namespace {

struct Dense {
  at::Tensor logits;  // [Hq, T, T] scaled, -inf where not visible
  at::Tensor vis;     // [T, T]
};

Dense dense(const at::Tensor& q, const at::Tensor& k, int64_t sliding_window) {
  const int64_t hq = q.size(0), t = q.size(1), d = q.size(2), g = hq / k.size(0);
  auto kk = k.repeat_interleave(g, 0);                                 // [Hq, T, D]
  auto s = at::matmul(q, kk.transpose(1, 2)) / std::sqrt(double(d));   // [Hq, T, T]
  auto i = at::arange(t).unsqueeze(1), j = at::arange(t).unsqueeze(0);
  auto vis = j.le(i);
  if (sliding_window > 0) vis = vis.logical_and((i - j).lt(sliding_window));
  return {s.masked_fill(vis.logical_not(), -std::numeric_limits<float>::infinity()), vis};
}

at::Tensor rand_qk(int64_t h, int64_t t, int64_t d, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  return at::randn({h, t, d}, gen, at::TensorOptions().dtype(at::kFloat)) * 2.0;
}

TEST(AttentionStats, RowLogSumExpEqualsDenseForEveryTileSize) {
  const int64_t t = 37, d = 8;
  auto q = rand_qk(4, t, d, 1), k = rand_qk(2, t, d, 2);  // GQA: 4 query heads on 2 KV heads
  const StreamWindow w{3, 5};
  for (int64_t sw : {0, 11}) {
    auto ref = dense(q, k, sw);
    auto all = at::logsumexp(ref.logits, -1);  // [Hq, T]
    auto i = at::arange(t).unsqueeze(1), j = at::arange(t).unsqueeze(0);
    auto drop = ref.vis.logical_and(j.ge(w.sink)).logical_and((i - j).ge(w.recent));
    auto out = at::logsumexp(ref.logits.masked_fill(drop.logical_not(), -INFINITY), -1);
    for (int64_t block : {1, 4, 16, 64}) {
      StatsSpec spec;
      spec.block = block;
      spec.sliding_window = sw;
      auto got = row_logsumexp(q, k, spec, w);
      EXPECT_TRUE(at::allclose(got.all, all, 1e-5, 1e-5)) << "block " << block << " sw " << sw;
      // -inf where no key is outside the window (the first sink + recent queries): compare the masses.
      EXPECT_TRUE(at::allclose(at::exp(got.outside - got.all), at::exp(out - all), 1e-5, 1e-6))
          << "block " << block << " sw " << sw;
      EXPECT_EQ(at::isinf(got.outside).sum().item<int64_t>(), at::isinf(out).sum().item<int64_t>());
      EXPECT_FALSE(row_logsumexp(q, k, spec).outside.defined());
    }
  }
}

TEST(AttentionStats, RowArgmaxAndProbAtEqualDense) {
  const int64_t t = 29, d = 6;
  auto q = rand_qk(6, t, d, 3), k = rand_qk(3, t, d, 4);
  auto ref = dense(q, k, 0);
  auto p = at::softmax(ref.logits, -1);  // [Hq, T, T]
  auto rows = at::tensor(std::vector<int64_t>{0, 5, 17, 28});
  for (int64_t block : {1, 3, 8, 100}) {
    StatsSpec spec;
    spec.block = block;
    auto top = row_argmax(q.index_select(1, rows), rows, k, spec);  // [Hq, 4]
    EXPECT_TRUE(at::equal(top, p.index_select(1, rows).argmax(-1))) << "block " << block;
    auto lse = row_logsumexp(q, k, spec).all.index_select(1, rows);
    auto keys = at::tensor(std::vector<int64_t>{0, 3, -1, 27});
    auto got = prob_at(q.index_select(1, rows), lse, k, keys, spec);  // [Hq, 4]
    for (int64_t r = 0; r < 4; ++r) {
      const int64_t key = keys[r].item<int64_t>();
      auto want = key < 0 ? at::zeros({6}) : p.select(1, rows[r].item<int64_t>()).select(1, key);
      EXPECT_TRUE(at::allclose(got.select(1, r), want, 1e-5, 1e-6)) << "row " << r << " block " << block;
    }
  }
}

TEST(AttentionStats, RefusesBadShapes) {
  auto q = rand_qk(3, 5, 4, 1), k = rand_qk(2, 5, 4, 2);  // 3 query heads on 2 KV heads
  EXPECT_THROW(row_logsumexp(q, k, StatsSpec{}), Error);
  StatsSpec zero;
  zero.block = 0;
  EXPECT_THROW(row_logsumexp(rand_qk(2, 5, 4, 1), k, zero), Error);
}

}  // namespace
}  // namespace duo::score
