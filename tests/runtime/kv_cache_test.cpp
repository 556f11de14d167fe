// The split KV cache: ring slots across many wrap-arounds, byte accounting against
// mask::kv_cache_bytes, deep copies, and the routing of heads to the full and ring stores.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "common/runtime_fixtures.h"
#include "mask/kv_budget.h"
#include "runtime/head_layout.h"
#include "runtime/kv_cache.h"

namespace duo::runtime {
namespace {

using testing::mixed_mask;

TEST(KVCache, RingSlotsAcrossManyWrapArounds) {
  const int64_t sink = 3, recent = 5, d = 2, total = 203;
  const StreamWindow window(sink, recent);
  HeadLayout lay = HeadLayout::from_mask(mask::GateTable{1, 2, {1.0, 0.0}}, window);
  for (int variant = 0; variant < 2; ++variant) {
    SplitKVCache cache(lay, d, at::kFloat, /*capacity=*/variant == 0 ? 0 : total);
    std::mt19937 rng(variant);
    int64_t t = 0;
    while (t < total) {
      // Chunks of 1..12 tokens (1 only in the first variant): the ring wraps ~40 times.
      const int64_t c = std::min<int64_t>(variant == 0 ? 1 : 1 + rng() % 12, total - t);
      // k[h, i, :] = 10 * position + head, v = -k.
      auto pos = at::arange(t, t + c, at::kFloat).view({1, c, 1});
      auto k = at::cat({pos * 10, pos * 10 + 1}, 0).expand({2, c, d}).contiguous();
      cache.append(0, k, -k);
      t += c;
      ASSERT_EQ(cache.length(0), t);
      const attention::CacheView ring = cache.view(0, HeadKind::kStreaming);
      ASSERT_EQ(cache.heads(0, HeadKind::kStreaming), 1);
      const at::Tensor pos_t = ring.pos.contiguous();
      const std::vector<int64_t> p(pos_t.data_ptr<int64_t>(), pos_t.data_ptr<int64_t>() + pos_t.numel());
      // A growing ring may hold empty slots (-1) until it reaches sink + recent.
      ASSERT_GE(static_cast<int64_t>(p.size()), std::min(t, sink + recent));
      ASSERT_LE(static_cast<int64_t>(p.size()), sink + recent);
      std::vector<int64_t> want;
      for (int64_t i = 0; i < t; ++i)
        if (i < sink || t - i <= recent) want.push_back(i);
      std::vector<int64_t> got;
      for (int64_t s = 0; s < static_cast<int64_t>(p.size()); ++s) {
        if (p[s] < 0) {
          ASSERT_GE(s, t) << "slot " << s << " empty after " << t << " tokens";
          continue;
        }
        EXPECT_EQ(s, window.ring_slot(p[s]));
        EXPECT_EQ(ring.k[0][s][0].item<float>(), 10.0f * p[s] + 1.0f) << "slot " << s;  // streaming head is KV head 1
        EXPECT_EQ(ring.v[0][s][1].item<float>(), -(10.0f * p[s] + 1.0f)) << "slot " << s;
        got.push_back(p[s]);
      }
      std::sort(got.begin(), got.end());
      ASSERT_EQ(got, want) << "after " << t << " tokens";
      // The full head holds every token in order.
      auto fk = cache.view(0, HeadKind::kFull).k;
      EXPECT_TRUE(at::equal(cache.view(0, HeadKind::kFull).pos, at::arange(t, at::kLong)));
      ASSERT_EQ(fk.size(1), t);
      EXPECT_EQ(fk[0][t - 1][0].item<float>(), 10.0f * (t - 1));
      EXPECT_EQ(fk[0][0][1].item<float>(), 0.0f);
    }
  }
}

TEST(KVCache, BytesEqualTheFormula) {
  const auto mask = mixed_mask(3, 4);
  const int64_t d = 16;
  const StreamWindow window(4, 12);
  HeadLayout lay = HeadLayout::from_mask(mask, window);
  for (int64_t t : {1, 7, 16, 40, 333}) {
    SplitKVCache cache(lay, d, at::kFloat, /*capacity=*/t);
    const int64_t want = mask::kv_cache_bytes(mask, t, window, d, 4);
    EXPECT_EQ(cache.bytes(), want) << "T " << t;
    for (int64_t l = 0; l < 3; ++l) cache.append(l, at::randn({4, t, d}), at::randn({4, t, d}));
    EXPECT_EQ(cache.bytes(), want) << "T " << t << " after filling";
    EXPECT_EQ(cache.used_bytes(), want);
    // Hand count for T = 40: per layer 1 full head * 40 + 3 streaming * 16 slots, K and V, fp32.
    if (t == 40) {
      EXPECT_EQ(want, 3 * (1 * 40 + 3 * 16) * 2 * 16 * 4);
    }
  }
  // bf16 halves it; a growing cache allocates at least what it uses.
  SplitKVCache bf(lay, d, at::kBFloat16, 100);
  EXPECT_EQ(bf.bytes(), mask::kv_cache_bytes(mask, 100, window, d, 2));
  SplitKVCache grow(lay, d, at::kFloat, 0);
  for (int i = 0; i < 37; ++i)
    for (int64_t l = 0; l < 3; ++l) grow.append(l, at::randn({4, 1, d}), at::randn({4, 1, d}));
  EXPECT_EQ(grow.used_bytes(), mask::kv_cache_bytes(mask, 37, window, d, 4));
  EXPECT_GE(grow.bytes(), grow.used_bytes());
  EXPECT_LE(grow.bytes(), 2 * grow.used_bytes());
}

TEST(KVCache, CloneIsDeep) {
  HeadLayout lay = HeadLayout::from_mask(mixed_mask(1, 2), StreamWindow(1, 2));
  SplitKVCache a(lay, 4, at::kFloat, 0);
  a.append(0, at::ones({2, 3, 4}), at::ones({2, 3, 4}));
  SplitKVCache b = a.clone();
  a.append(0, at::full({2, 2, 4}, 5.0), at::full({2, 2, 4}, 5.0));
  EXPECT_EQ(b.length(0), 3);
  EXPECT_EQ(b.view(0, HeadKind::kFull).k.sum().item<float>(), 3 * 4.0f);
  EXPECT_EQ(b.view(0, HeadKind::kStreaming).k.sum().item<float>(), 3 * 4.0f);  // slots 0..2 of ones
  EXPECT_EQ(b.view(0, HeadKind::kStreaming).pos[2].item<int64_t>(), 2);
  EXPECT_EQ(a.view(0, HeadKind::kStreaming).pos[2].item<int64_t>(), 4);
}

TEST(KVCache, GatherAndScatterRouteHeadsByKind) {
  // Layer 0 of mixed_mask(1, 3): KV head 1 full, heads 0 and 2 streaming; G = 2 query rows per head.
  const HeadLayout lay = HeadLayout::from_mask(mixed_mask(1, 3), StreamWindow(1, 2));
  SplitKVCache cache(lay, 4, at::kFloat, 0);
  EXPECT_EQ(cache.heads(0, HeadKind::kFull), 1);
  EXPECT_EQ(cache.heads(0, HeadKind::kStreaming), 2);
  const at::Tensor q = at::arange(6, at::kFloat).view({6, 1, 1}).expand({6, 2, 4}).contiguous();  // row r = r
  const at::Tensor qs = cache.gather(0, HeadKind::kStreaming, q);  // rows of heads 0 and 2: 0, 1, 4, 5
  ASSERT_EQ(qs.sizes(), (at::IntArrayRef{4, 2, 4}));
  EXPECT_TRUE(at::equal(qs.select(1, 0).select(1, 0), at::tensor({0.0f, 1.0f, 4.0f, 5.0f})));
  const at::Tensor qf = cache.gather(0, HeadKind::kFull, q);
  EXPECT_TRUE(at::equal(qf.select(1, 0).select(1, 0), at::tensor({2.0f, 3.0f})));
  at::Tensor out = at::zeros_like(q);
  cache.scatter(0, HeadKind::kStreaming, qs, out);
  cache.scatter(0, HeadKind::kFull, qf, out);
  EXPECT_TRUE(at::equal(out, q));
  // An all-full layer hands the tensor through without a copy.
  SplitKVCache full(HeadLayout::all_full(1, 3), 4, at::kFloat, 0);
  EXPECT_TRUE(full.gather(0, HeadKind::kFull, q).is_same(q));
  EXPECT_EQ(full.gather(0, HeadKind::kStreaming, q).size(0), 0);
}

}  // namespace
}  // namespace duo::runtime
