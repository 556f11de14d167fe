// The decoder against Model::logits with the same heads (all-full and mixed masks, chunk sizes 1,
// 7, 64 and T, GQA, the model's own sliding window, prefill then single steps, greedy tokens),
// in each (device, dtype) case: tol bounds max |decoder - forward| / max |forward| (the two paths
// round differently in bf16: blockwise vs cached attention).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <vector>

#include "common/device_cases.h"
#include "common/runtime_fixtures.h"
#include "core/error.h"
#include "mask/kv_budget.h"
#include "runtime/decoder.h"
#include "runtime/head_layout.h"
#include "runtime/kv_cache.h"

namespace duo::runtime {
namespace {

using testing::DeviceCase;
using testing::mixed_mask;
using testing::random_ids;
using testing::tiny_model;

double rel_diff(const at::Tensor& got, const at::Tensor& want) {
  return testing::max_abs_diff(got, want) / want.abs().max().item<double>();
}

class DecoderCases : public ::testing::TestWithParam<DeviceCase> {
 protected:
  model::Model model(const std::string& type = "llama", int64_t window = 0, int64_t layers = 2) const {
    return tiny_model(type, window, layers, GetParam().dtype);
  }
  int64_t elem() const { return static_cast<int64_t>(c10::elementSize(GetParam().dtype)); }
};

TEST_P(DecoderCases, AllFullReproducesTheForward) {
  const double tol = GetParam().tol;
  auto m = model();
  const auto& cfg = m.config();
  auto ids = random_ids(50, cfg.vocab_size, 11);
  auto want = m.logits(ids);  // [T, vocab]
  const auto lay = HeadLayout::all_full(cfg.n_layers, cfg.n_kv_heads);
  for (int64_t chunk : {0, 1, 7, 64}) {
    Decoder dec(m, lay, chunk == 7 ? 0 : 50);
    EXPECT_LT(rel_diff(dec.prefill(ids, chunk, /*all_logits=*/true), want), tol) << "chunk " << chunk;
    EXPECT_EQ(dec.position(), 50);
  }
  // Greedy tokens: the decoder against argmax of a fresh whole-sequence forward at every step
  // (fp32 only: bf16 rounding differs between the two paths and may flip near-ties).
  if (GetParam().dtype != at::kFloat) return;
  GenerateOptions go;
  go.max_new_tokens = 8;
  go.prefill_chunk = 16;
  auto prompt = random_ids(20, cfg.vocab_size, 12);
  std::vector<int64_t> p(prompt.data_ptr<int64_t>(), prompt.data_ptr<int64_t>() + 20);
  auto r = generate_greedy(m, lay, p, go);
  ASSERT_EQ(r.tokens.size(), 8u);
  std::vector<int64_t> seq = p;
  for (int64_t i = 0; i < 8; ++i) {
    auto lg = m.logits(at::tensor(seq, at::TensorOptions().dtype(at::kLong)));
    const int64_t next = lg[lg.size(0) - 1].argmax().item<int64_t>();
    EXPECT_EQ(r.tokens[i], next) << "token " << i;
    seq.push_back(next);
  }
  EXPECT_EQ(r.decode_steps, 7);
  EXPECT_EQ(r.kv_bytes, mask::kv_cache_bytes_full(cfg.n_layers, cfg.n_kv_heads, 28, cfg.head_dim, elem()));
}

TEST_P(DecoderCases, MixedMaskEqualsForwardWithTheSamePlanForEveryChunkSize) {
  const double tol = GetParam().tol;
  auto m = model("llama", 0, 3);
  const auto& cfg = m.config();
  const int64_t t = 90;
  auto ids = random_ids(t, cfg.vocab_size, 13);
  const StreamWindow window(4, 9);
  const auto lay = HeadLayout::from_mask(mixed_mask(cfg.n_layers, cfg.n_kv_heads), window);
  auto want = m.logits(ids, lay.to_plan());
  // The streaming mask must matter, or this test could not fail (checked on the fp32 weights:
  // the bf16 case uses the same weights rounded).
  if (GetParam().dtype == at::kFloat) {
    EXPECT_GT(rel_diff(m.logits(ids), want), 1e-3);
  }
  for (int64_t chunk : {int64_t{1}, int64_t{7}, int64_t{64}, t}) {
    Decoder dec(m, lay, chunk == 7 ? 0 : t);
    EXPECT_LT(rel_diff(dec.prefill(ids, chunk, /*all_logits=*/true), want), tol) << "chunk " << chunk;
    EXPECT_EQ(dec.cache().dtype(), GetParam().dtype);
    if (chunk != 7) {
      EXPECT_EQ(dec.cache().bytes(), mask::kv_cache_bytes(lay.to_mask(), t, window, cfg.head_dim, elem()));
    }
  }
  // Prefill then single steps equals the same.
  Decoder dec(m, lay, 0);
  std::vector<at::Tensor> rows{dec.prefill(ids.narrow(0, 0, 40), 13, true)};
  for (int64_t i = 40; i < t; ++i) rows.push_back(dec.step(ids[i].item<int64_t>()).unsqueeze(0));
  EXPECT_LT(rel_diff(at::cat(rows, 0), want), tol);
}

TEST_P(DecoderCases, SlidingWindowModelAndAllStreaming) {
  const double tol = GetParam().tol;
  auto m = model("mistral", /*window=*/11);
  const auto& cfg = m.config();
  auto ids = random_ids(60, cfg.vocab_size, 17);
  for (int variant = 0; variant < 2; ++variant) {
    mask::GateTable mask = variant == 0 ? mixed_mask(cfg.n_layers, cfg.n_kv_heads)
                                        : mask::GateTable{cfg.n_layers, cfg.n_kv_heads,
                                                          std::vector<double>(static_cast<size_t>(cfg.n_layers * cfg.n_kv_heads), 0.0)};
    const auto lay = HeadLayout::from_mask(mask, StreamWindow(2, 16));
    auto want = m.logits(ids, lay.to_plan());
    for (int64_t chunk : {1, 7, 60}) {
      Decoder dec(m, lay, 60);
      EXPECT_LT(rel_diff(dec.prefill(ids, chunk, true), want), tol) << "variant " << variant << " chunk " << chunk;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cpu, DecoderCases,
                         ::testing::Values(DeviceCase{at::kCPU, at::kFloat, 2e-5}, DeviceCase{at::kCPU, at::kBFloat16, 0.05}),
                         testing::DeviceCaseName());

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
