// Runtime tests: the split KV cache (ring slots across many wrap-arounds, byte accounting against
// mask::kv_cache_bytes, deep copies), cached attention against its element-loop reference, and
// the decoder against Model::logits (all-full and mixed masks, chunk sizes 1, 7, 64 and T,
// GQA, the model's own sliding window, greedy tokens).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "common/tiny_checkpoint.h"
#include "core/error.h"
#include "mask/kv_budget.h"
#include "model/model.h"
#include "model/model_config.h"
#include "runtime/cached_attention.h"
#include "runtime/decoder.h"
#include "runtime/head_layout.h"
#include "runtime/kv_cache.h"

namespace duo::runtime {
namespace {

model::Model tiny_model(const std::string& type = "llama", int64_t window = 0, int64_t layers = 2) {
  auto j = testing::tiny_config(type);
  j["initializer_range"] = 0.2;  // peaked logits, so greedy choices are not near-ties
  j["num_hidden_layers"] = layers;
  if (window > 0) j["sliding_window"] = window;
  return model::Model::random(model::ModelConfig::from_json(j), /*seed=*/7);
}

at::Tensor random_ids(int64_t t, int64_t vocab, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  return at::randint(1, vocab, {t}, gen, at::TensorOptions().dtype(at::kLong));
}

// Mixed mask: layer 0 keeps KV head 1 full, layer 1 keeps head 0 full, others streaming.
mask::GateTable mixed_mask(int64_t layers, int64_t heads) {
  mask::GateTable t;
  t.n_layers = layers;
  t.n_kv_heads = heads;
  t.values.assign(static_cast<size_t>(layers * heads), 0.0);
  for (int64_t l = 0; l < layers; ++l) t.at(l, (l + 1) % heads) = 1.0;
  return t;
}

const CachedAttention kBackends[] = {CachedAttention::kKernel, CachedAttention::kAten};

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

TEST(KVCache, RingSlotsAcrossManyWrapArounds) {
  const int64_t sink = 3, recent = 5, d = 2, total = 203;
  HeadLayout lay = HeadLayout::from_mask(mask::GateTable{1, 2, {1.0, 0.0}}, sink, recent);
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
      const RingView ring = cache.ring(0);
      const auto& p = *ring.pos;
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
        EXPECT_EQ(s, SplitKVCache::ring_slot(p[s], sink, recent));
        EXPECT_EQ(ring.k[0][s][0].item<float>(), 10.0f * p[s] + 1.0f) << "slot " << s;  // streaming head is KV head 1
        EXPECT_EQ(ring.v[0][s][1].item<float>(), -(10.0f * p[s] + 1.0f)) << "slot " << s;
        got.push_back(p[s]);
      }
      std::sort(got.begin(), got.end());
      ASSERT_EQ(got, want) << "after " << t << " tokens";
      // The full head holds every token in order.
      auto fk = cache.full_k(0);
      ASSERT_EQ(fk.size(1), t);
      EXPECT_EQ(fk[0][t - 1][0].item<float>(), 10.0f * (t - 1));
      EXPECT_EQ(fk[0][0][1].item<float>(), 0.0f);
    }
  }
}

TEST(KVCache, BytesEqualTheFormula) {
  const auto mask = mixed_mask(3, 4);
  const int64_t d = 16, sink = 4, recent = 12;
  HeadLayout lay = HeadLayout::from_mask(mask, sink, recent);
  for (int64_t t : {1, 7, 16, 40, 333}) {
    SplitKVCache cache(lay, d, at::kFloat, /*capacity=*/t);
    const int64_t want = mask::kv_cache_bytes(mask, t, sink, recent, d, 4);
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
  EXPECT_EQ(bf.bytes(), mask::kv_cache_bytes(mask, 100, sink, recent, d, 2));
  SplitKVCache grow(lay, d, at::kFloat, 0);
  for (int i = 0; i < 37; ++i)
    for (int64_t l = 0; l < 3; ++l) grow.append(l, at::randn({4, 1, d}), at::randn({4, 1, d}));
  EXPECT_EQ(grow.used_bytes(), mask::kv_cache_bytes(mask, 37, sink, recent, d, 4));
  EXPECT_GE(grow.bytes(), grow.used_bytes());
  EXPECT_LE(grow.bytes(), 2 * grow.used_bytes());
}

TEST(KVCache, CloneIsDeep) {
  HeadLayout lay = HeadLayout::from_mask(mixed_mask(1, 2), 1, 2);
  SplitKVCache a(lay, 4, at::kFloat, 0);
  a.append(0, at::ones({2, 3, 4}), at::ones({2, 3, 4}));
  SplitKVCache b = a.clone();
  a.append(0, at::full({2, 2, 4}, 5.0), at::full({2, 2, 4}, 5.0));
  EXPECT_EQ(b.length(0), 3);
  EXPECT_EQ(b.full_k(0).sum().item<float>(), 3 * 4.0f);
  EXPECT_EQ(b.ring(0).k.sum().item<float>(), 3 * 4.0f);  // slots 0..2 of ones
  EXPECT_EQ((*b.ring(0).pos)[2], 2);
  EXPECT_EQ((*a.ring(0).pos)[2], 4);
}

TEST(CachedAttention, MatchesReferenceForShuffledSlots) {
  auto gen = at::detail::createCPUGenerator(3);
  const int64_t hq = 4, hk = 2, d = 8, c = 5, p0 = 30;
  std::vector<int64_t> pos;
  for (int64_t j = 0; j < p0 + c; ++j) pos.push_back(j);
  pos.push_back(-1);
  pos.push_back(-1);
  std::shuffle(pos.begin(), pos.end(), std::mt19937(1));
  const int64_t n = static_cast<int64_t>(pos.size());
  auto q = at::randn({hq, c, d}, gen);
  auto k = at::randn({hk, n, d}, gen);
  auto v = at::randn({hk, n, d}, gen);
  for (int variant = 0; variant < 4; ++variant) {
    KeyMask m;
    m.streaming = variant % 2 == 1;
    m.sink = 3;
    m.recent = 6;
    m.window = variant >= 2 ? 9 : 0;
    auto got = attend_positions(q, p0, k, v, pos, m);
    auto want = attend_positions_reference(q, p0, k, v, pos, m);
    EXPECT_LT(max_diff(got, want), 1e-5) << "variant " << variant;
  }
  // Contiguous keys 0..n-1 (with and without the skipped mask) against the same reference.
  std::vector<int64_t> seq;
  for (int64_t j = 0; j < p0 + c; ++j) seq.push_back(j);
  auto ks = at::randn({hk, p0 + c, d}, gen), vs = at::randn({hk, p0 + c, d}, gen);
  for (int64_t pq : {p0, p0 + c - 1}) {
    auto qq = pq == p0 ? q : q.narrow(1, 0, 1);
    KeyMask m;
    auto kk = ks.narrow(1, 0, pq + 1), vv = vs.narrow(1, 0, pq + 1);
    std::vector<int64_t> sp(seq.begin(), seq.begin() + pq + 1);
    EXPECT_LT(max_diff(attend_contiguous(qq, pq, kk, vv, 0, m), attend_positions_reference(qq, pq, kk, vv, sp, m)), 1e-5);
  }
}

TEST(CachedAttention, FirstChunkEqualsAttendReference) {
  auto gen = at::detail::createCPUGenerator(5);
  const int64_t t = 23;
  auto q = at::randn({4, t, 8}, gen), k = at::randn({2, t, 8}, gen), v = at::randn({2, t, 8}, gen);
  attention::LayerSpec spec;
  spec.kinds = {attention::HeadKind::kStreaming, attention::HeadKind::kStreaming};
  spec.sink = 2;
  spec.recent = 5;
  std::vector<int64_t> pos;
  for (int64_t j = 0; j < t; ++j) pos.push_back(j);
  KeyMask m;
  m.streaming = true;
  m.sink = 2;
  m.recent = 5;
  EXPECT_LT(max_diff(attend_positions(q, 0, k, v, pos, m), attention::attend_reference(q, k, v, spec)), 1e-5);
}

TEST(Decoder, AllFullReproducesTheForward) {
  auto model = tiny_model();
  const auto& cfg = model.config();
  auto ids = random_ids(50, cfg.vocab_size, 11);
  auto want = model.logits(ids);  // [T, vocab]
  const auto lay = HeadLayout::all_full(cfg.n_layers, cfg.n_kv_heads);
  for (auto backend : kBackends) {
    for (int64_t chunk : {0, 1, 7, 64}) {
      Decoder dec(model, lay, chunk == 7 ? 0 : 50, backend);
      auto got = dec.prefill(ids, chunk, /*all_logits=*/true);
      EXPECT_LT(max_diff(got, want), 1e-4) << "chunk " << chunk << " backend " << static_cast<int>(backend);
      EXPECT_EQ(dec.position(), 50);
    }
  }
  // Greedy tokens: the decoder against argmax of a fresh whole-sequence forward at every step.
  GenerateOptions go;
  go.max_new_tokens = 8;
  go.prefill_chunk = 16;
  auto prompt = random_ids(20, cfg.vocab_size, 12);
  std::vector<int64_t> p(prompt.data_ptr<int64_t>(), prompt.data_ptr<int64_t>() + 20);
  auto r = generate_greedy(model, lay, p, go);
  ASSERT_EQ(r.tokens.size(), 8u);
  std::vector<int64_t> seq = p;
  for (int64_t i = 0; i < 8; ++i) {
    auto lg = model.logits(at::tensor(seq, at::TensorOptions().dtype(at::kLong)));
    const int64_t next = lg[lg.size(0) - 1].argmax().item<int64_t>();
    EXPECT_EQ(r.tokens[i], next) << "token " << i;
    seq.push_back(next);
  }
  EXPECT_EQ(r.decode_steps, 7);
  EXPECT_EQ(r.kv_bytes, mask::kv_cache_bytes_full(cfg.n_layers, cfg.n_kv_heads, 28, cfg.head_dim, 4));
}

TEST(Decoder, MixedMaskEqualsForwardWithTheSamePlanForEveryChunkSize) {
  auto model = tiny_model("llama", 0, 3);
  const auto& cfg = model.config();
  const int64_t t = 90;
  auto ids = random_ids(t, cfg.vocab_size, 13);
  const auto lay = HeadLayout::from_mask(mixed_mask(cfg.n_layers, cfg.n_kv_heads), /*sink=*/4, /*recent=*/9);
  auto want = model.logits(ids, lay.to_plan());
  // The streaming mask must matter, or this test could not fail.
  EXPECT_GT(max_diff(want, model.logits(ids)), 1e-2);
  for (auto backend : kBackends) {
  for (int64_t chunk : {int64_t{1}, int64_t{7}, int64_t{64}, t}) {
    Decoder dec(model, lay, chunk == 7 ? 0 : t, backend);
    auto got = dec.prefill(ids, chunk, /*all_logits=*/true);
    EXPECT_LT(max_diff(got, want), 1e-4) << "chunk " << chunk << " backend " << static_cast<int>(backend);
    EXPECT_EQ(dec.cache().bytes(), chunk == 7 ? dec.cache().bytes()
                                              : mask::kv_cache_bytes(lay.to_mask(), t, 4, 9, cfg.head_dim, 4));
  }
  }
  // Prefill then single steps equals the same.
  for (auto backend : kBackends) {
    Decoder dec(model, lay, 0, backend);
    auto head = dec.prefill(ids.narrow(0, 0, 40), 13, true);
    std::vector<at::Tensor> rows{head};
    for (int64_t i = 40; i < t; ++i) rows.push_back(dec.step(ids[i].item<int64_t>()).unsqueeze(0));
    EXPECT_LT(max_diff(at::cat(rows, 0), want), 1e-4);
  }
}

TEST(Decoder, SlidingWindowModelAndAllStreaming) {
  auto model = tiny_model("mistral", /*window=*/11);
  const auto& cfg = model.config();
  auto ids = random_ids(60, cfg.vocab_size, 17);
  for (int variant = 0; variant < 2; ++variant) {
    mask::GateTable m = variant == 0 ? mixed_mask(cfg.n_layers, cfg.n_kv_heads)
                                     : mask::GateTable{cfg.n_layers, cfg.n_kv_heads,
                                                       std::vector<double>(static_cast<size_t>(cfg.n_layers * cfg.n_kv_heads), 0.0)};
    const auto lay = HeadLayout::from_mask(m, 2, 16);
    auto want = model.logits(ids, lay.to_plan());
    for (auto backend : kBackends) {
      for (int64_t chunk : {1, 7, 60}) {
        Decoder dec(model, lay, 60, backend);
        EXPECT_LT(max_diff(dec.prefill(ids, chunk, true), want), 1e-4)
            << "variant " << variant << " chunk " << chunk << " backend " << static_cast<int>(backend);
      }
    }
  }
}

TEST(Decoder, Bf16CacheFollowsTheBf16Forward) {
  auto j = testing::tiny_config("llama");
  j["initializer_range"] = 0.2;
  model::LoadOptions lo;
  lo.dtype = at::kBFloat16;
  auto model = model::Model::random(model::ModelConfig::from_json(j), 7, lo);
  const auto& cfg = model.config();
  auto ids = random_ids(40, cfg.vocab_size, 19);
  const auto lay = HeadLayout::from_mask(mixed_mask(cfg.n_layers, cfg.n_kv_heads), 3, 8);
  auto want = model.logits(ids, lay.to_plan());
  for (auto backend : kBackends) {
    Decoder dec(model, lay, 40, backend);
    auto got = dec.prefill(ids, 7, true);
    EXPECT_EQ(dec.cache().dtype(), at::kBFloat16);
    EXPECT_EQ(dec.cache().bytes(), mask::kv_cache_bytes(lay.to_mask(), 40, 3, 8, cfg.head_dim, 2));
    // bf16 rounding differs between the blockwise and the cached paths; the logits stay close.
    EXPECT_LT(max_diff(got, want), 0.05 * want.abs().max().item<double>()) << static_cast<int>(backend);
  }
}

TEST(Decoder, RefusesAMaskOfAnotherShape) {
  auto model = tiny_model();
  try {
    Decoder dec(model, HeadLayout::all_full(5, 2));
    FAIL() << "expected an error";
  } catch (const ::duo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("[5, 2]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[2, 2]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace duo::runtime
