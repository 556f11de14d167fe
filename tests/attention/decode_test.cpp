// Decode / chunked attention: a simulated runtime (contiguous cache for full heads, sink +
// recent ring for streaming heads, attend before append) over several chunk sizes, including
// single-token decode after many ring wrap-arounds, must equal one unchunked reference pass.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "attention/attention.h"
#include "attention/decode.h"
#include "attention/reference.h"
#include "common/device_cases.h"
#include "core/threads.h"

namespace {

using duo::attention::CacheView;
using duo::attention::HeadKind;
using duo::attention::LayerSpec;
using duo::testing::DeviceCase;
using duo::testing::max_abs_diff;

class Decode : public ::testing::Test {
 protected:
  void SetUp() override { duo::core::set_threads(2); }
};

// Runs q, k, v [*, T, D] through the split-cache protocol in chunks of `chunk` tokens.
at::Tensor run_chunked(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, HeadKind kind,
                       const LayerSpec& spec, int64_t chunk, bool use_reference = false,
                       at::ScalarType cache_dtype = at::kFloat) {
  const int64_t hkv = k.size(0), t = k.size(1), d = k.size(2);
  const bool ring = kind == HeadKind::kStreaming;
  const int64_t slots = ring ? spec.window.slots() : t;
  at::Tensor kc = at::zeros({hkv, slots, d}, k.options().dtype(cache_dtype));
  at::Tensor vc = at::zeros({hkv, slots, d}, v.options().dtype(cache_dtype));
  at::Tensor pos = at::full({slots}, -1, at::TensorOptions().dtype(at::kLong).device(k.device()));
  std::vector<at::Tensor> outs;
  for (int64_t p0 = 0; p0 < t; p0 += chunk) {
    const int64_t n = std::min(chunk, t - p0);
    // a full cache is shown only up to its fill level; a ring is shown whole (empty slots at -1)
    CacheView view;
    const int64_t shown = ring ? slots : p0;
    if (shown > 0) view = CacheView{kc.narrow(1, 0, shown), vc.narrow(1, 0, shown), pos.narrow(0, 0, shown)};
    const at::Tensor qn = q.narrow(1, p0, n), kn = k.narrow(1, p0, n), vn = v.narrow(1, p0, n);
    outs.push_back(use_reference ? duo::attention::attend_chunk_reference(qn, kn, vn, p0, view, kind, spec)
                                 : duo::attention::attend_chunk(qn, kn, vn, p0, view, kind, spec));
    for (int64_t tok = p0; tok < p0 + n; ++tok) {
      const int64_t slot = ring ? spec.window.ring_slot(tok) : tok;
      kc.select(1, slot).copy_(k.select(1, tok));
      vc.select(1, slot).copy_(v.select(1, tok));
      pos[slot] = tok;
    }
  }
  return at::cat(outs, 1);
}

// The split-cache protocol in each (device, dtype): chunked equals one unchunked reference pass
// on the same (rounded) inputs, computed in fp64 for fp64 and fp32 otherwise.
class DecodeCases : public ::testing::TestWithParam<DeviceCase> {
 protected:
  void SetUp() override { duo::core::set_threads(2); }
};

TEST_P(DecodeCases, ChunkedEqualsUnchunkedForEveryChunkSize) {
  const DeviceCase& dc = GetParam();
  const at::ScalarType ref_dtype = dc.dtype == at::kDouble ? at::kDouble : at::kFloat;
  at::manual_seed(20);
  const int64_t t = 150;
  for (HeadKind kind : {HeadKind::kFull, HeadKind::kStreaming}) {
    for (int64_t g : {1, 4}) {
      const at::Tensor q = dc.to(at::randn({2 * g, t, 64})), k = dc.to(at::randn({2, t, 64})),
                       v = dc.to(at::randn({2, t, 64}));
      LayerSpec spec;
      spec.kinds = {kind, kind};
      spec.window = duo::StreamWindow(4, 16);
      const at::Tensor whole = duo::attention::attend_reference(q.to(ref_dtype), k.to(ref_dtype), v.to(ref_dtype), spec);
      for (int64_t chunk : {1, 7, 16, 40, 150}) {
        SCOPED_TRACE("kind " + std::to_string(int(kind)) + " G " + std::to_string(g) + " chunk " +
                     std::to_string(chunk));
        const at::Tensor out = run_chunked(q, k, v, kind, spec, chunk, false, ref_dtype);
        EXPECT_EQ(out.scalar_type(), dc.dtype);
        EXPECT_LT(max_abs_diff(out, whole), dc.tol);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cpu, DecodeCases,
                         ::testing::Values(DeviceCase{at::kCPU, at::kFloat, 2e-5}, DeviceCase{at::kCPU, at::kDouble, 1e-12},
                                           DeviceCase{at::kCPU, at::kBFloat16, 2e-2}),
                         duo::testing::DeviceCaseName());

TEST_F(Decode, ReferenceProtocolEqualsUnchunkedReference) {
  // The reference through the same protocol (cache + chunk concatenated) equals the whole pass.
  at::manual_seed(24);
  const at::Tensor q = at::randn({4, 90, 32}), k = at::randn({2, 90, 32}), v = at::randn({2, 90, 32});
  for (HeadKind kind : {HeadKind::kFull, HeadKind::kStreaming}) {
    LayerSpec spec;
    spec.kinds = {kind, kind};
    spec.window = duo::StreamWindow(4, 16);
    EXPECT_LT(max_abs_diff(run_chunked(q, k, v, kind, spec, 7, /*use_reference=*/true),
                       duo::attention::attend_reference(q, k, v, spec)),
              2e-5);
  }
}

TEST_F(Decode, CacheSlotsInAnyOrderWithEmptySlots) {
  // A ring's slots hold positions in no particular order, some empty (-1): visibility follows
  // the stored positions only.
  at::manual_seed(3);
  const int64_t hq = 4, hk = 2, d = 8, c = 5, p0 = 30;
  std::vector<int64_t> pos;
  for (int64_t j = 0; j < p0; ++j) pos.push_back(j);
  pos.push_back(-1);
  pos.push_back(-1);
  std::shuffle(pos.begin(), pos.end(), std::mt19937(1));
  const int64_t n = static_cast<int64_t>(pos.size());
  const at::Tensor q = at::randn({hq, c, d}), kn = at::randn({hk, c, d}), vn = at::randn({hk, c, d});
  const CacheView view{at::randn({hk, n, d}), at::randn({hk, n, d}), at::tensor(pos, at::kLong)};
  for (int variant = 0; variant < 4; ++variant) {
    const HeadKind kind = variant % 2 == 1 ? HeadKind::kStreaming : HeadKind::kFull;
    LayerSpec spec;
    spec.window = duo::StreamWindow(3, 6);
    spec.sliding_window = variant >= 2 ? 9 : 0;
    EXPECT_LT(max_abs_diff(duo::attention::attend_chunk(q, kn, vn, p0, view, kind, spec),
                       duo::attention::attend_chunk_reference(q, kn, vn, p0, view, kind, spec)),
              2e-5)
        << "variant " << variant;
  }
}

TEST_F(Decode, RingAfterManyWrapAroundsEqualsReferenceRows) {
  at::manual_seed(21);
  const int64_t t = 700;  // recent 8: the ring wraps ~85 times
  LayerSpec spec;
  spec.kinds = {HeadKind::kStreaming};
  spec.window = duo::StreamWindow(3, 8);
  const at::Tensor q = at::randn({8, t, 128}), k = at::randn({1, t, 128}), v = at::randn({1, t, 128});
  const at::Tensor whole = duo::attention::attend_reference(q, k, v, spec);
  // one token at a time (pure decode), then chunks of 13 (chunked prefill across wrap-arounds)
  const at::Tensor out = run_chunked(q, k, v, HeadKind::kStreaming, spec, 1);
  EXPECT_LT(max_abs_diff(out, whole), 2e-5);
  const at::Tensor mixed = run_chunked(q, k, v, HeadKind::kStreaming, spec, 13);
  EXPECT_LT(max_abs_diff(mixed, whole), 2e-5);
}

TEST_F(Decode, LongFullCacheSplitsAcrossThreadsAndBf16Cache) {
  at::manual_seed(22);
  const int64_t s = 5000;  // long enough that one KV head is split across threads
  const at::Tensor kc = at::randn({1, s, 64}), vc = at::randn({1, s, 64});
  at::Tensor pos = at::arange(s, at::kLong);
  pos.narrow(0, 100, 50).fill_(-1);  // empty slots are never visible
  const at::Tensor q = at::randn({4, 3, 64}), kn = at::randn({1, 3, 64}), vn = at::randn({1, 3, 64});
  LayerSpec spec;
  const CacheView view{kc, vc, pos};
  const at::Tensor ref = duo::attention::attend_chunk_reference(q, kn, vn, s, view, HeadKind::kFull, spec);
  EXPECT_LT(max_abs_diff(duo::attention::attend_chunk(q, kn, vn, s, view, HeadKind::kFull, spec), ref), 2e-5);
  spec.sliding_window = 1000;
  const at::Tensor ref_w = duo::attention::attend_chunk_reference(q, kn, vn, s, view, HeadKind::kFull, spec);
  EXPECT_LT(max_abs_diff(duo::attention::attend_chunk(q, kn, vn, s, view, HeadKind::kFull, spec), ref_w), 2e-5);
  const CacheView bf{kc.to(at::kBFloat16), vc.to(at::kBFloat16), pos};
  const CacheView bf_as_f{bf.k.to(at::kFloat), bf.v.to(at::kFloat), pos};
  spec.sliding_window = 0;
  EXPECT_LT(max_abs_diff(duo::attention::attend_chunk(q, kn, vn, s, bf, HeadKind::kFull, spec),
                     duo::attention::attend_chunk_reference(q, kn, vn, s, bf_as_f, HeadKind::kFull, spec)),
            2e-5);
}

TEST_F(Decode, HalfPrecisionCacheIsReadDirectlyOnEveryPath) {
  // A bf16 / f16 cache holds exactly the rounded K/V; the kernel must give the reference's result
  // on those rounded values (the runtime rounds the chunk's own K/V the same way), on the direct
  // path (decode: n * G <= 16 rows, 16-bit rows read in the inner loop), the BLAS path (chunks of
  // 7 x G = 28 rows, widened per block), rings after wrap-arounds and GQA. Same inputs on both
  // sides, fp32 accumulation: the fp32 tolerance (2e-5) applies.
  at::manual_seed(24);
  const int64_t t = 150;
  for (at::ScalarType dt : {at::kBFloat16, at::kHalf}) {
    for (HeadKind kind : {HeadKind::kFull, HeadKind::kStreaming}) {
      for (int64_t g : {1, 4}) {
        const at::Tensor q = at::randn({2 * g, t, 64});
        const at::Tensor k = at::randn({2, t, 64}).to(dt).to(at::kFloat), v = at::randn({2, t, 64}).to(dt).to(at::kFloat);
        LayerSpec spec;
        spec.kinds = {kind, kind};
        spec.window = duo::StreamWindow(4, 16);
        const at::Tensor whole = duo::attention::attend_reference(q, k, v, spec);
        for (int64_t chunk : {1, 7, 150}) {
          SCOPED_TRACE(std::string(c10::toString(dt)) + " kind " + std::to_string(int(kind)) + " G " +
                       std::to_string(g) + " chunk " + std::to_string(chunk));
          EXPECT_LT(max_abs_diff(run_chunked(q, k, v, kind, spec, chunk, false, dt), whole), 2e-5);
        }
      }
    }
  }
}

TEST_F(Decode, LongChunksSkipKeyBlocksNoQuerySees) {
  // Chunks longer than a key block (512): a streaming head's chunk keys are visible to `recent`
  // queries each, so most (query rows x key block) pairs are skipped; the model's sliding window
  // too. Results must equal the unchunked reference (chunk 1500 = the whole sequence in one call).
  at::manual_seed(25);
  const int64_t t = 1500;
  const at::Tensor q = at::randn({2, t, 32}), k = at::randn({1, t, 32}), v = at::randn({1, t, 32});
  for (int variant = 0; variant < 3; ++variant) {
    LayerSpec spec;
    const HeadKind kind = variant == 1 ? HeadKind::kFull : HeadKind::kStreaming;
    spec.kinds = {kind};
    spec.window = duo::StreamWindow(8, 100);
    if (variant == 1) spec.sliding_window = 300;
    if (variant == 2) spec.window = duo::StreamWindow(600, 100);  // the sink cuts through a key block
    const at::Tensor whole = duo::attention::attend_reference(q, k, v, spec);
    for (int64_t chunk : {600, 1500}) {
      SCOPED_TRACE("variant " + std::to_string(variant) + " chunk " + std::to_string(chunk));
      EXPECT_LT(max_abs_diff(run_chunked(q, k, v, kind, spec, chunk), whole), 2e-5);
    }
  }
}

TEST_F(Decode, OddHeadCountSplitsSoNoThreadIdles) {
  // 3 KV heads on 2 threads: each head's cache is split so the 6 tasks balance; same result.
  at::manual_seed(23);
  const int64_t s = 4096;
  const at::Tensor kc = at::randn({3, s, 32}), vc = at::randn({3, s, 32});
  const at::Tensor pos = at::arange(s, at::kLong);
  const at::Tensor q = at::randn({6, 1, 32}), kn = at::randn({3, 1, 32}), vn = at::randn({3, 1, 32});
  const LayerSpec spec;
  const CacheView view{kc, vc, pos};
  EXPECT_LT(max_abs_diff(duo::attention::attend_chunk(q, kn, vn, s, view, HeadKind::kFull, spec),
                     duo::attention::attend_chunk_reference(q, kn, vn, s, view, HeadKind::kFull, spec)),
            2e-5);
}

}  // namespace
