// Weight matrices stored in bf16 / f16 under fp32 compute (LoadOptions::weight_dtype): the model
// must compute what an fp32 model holding the same (rounded) values computes.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/tiny_checkpoint.h"
#include "core/error.h"
#include "io/json.h"
#include "io/checkpoint.h"
#include "model/model.h"

namespace {

namespace dt = duo::testing;
using duo::model::LoadOptions;
using duo::model::Model;
using duo::model::ModelConfig;

bool is_matrix(const std::string& name) {
  auto ends = [&](const std::string& s) {
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return ends("_proj.weight") || ends("embed_tokens.weight") || ends("lm_head.weight");
}

at::Tensor ids_of(std::vector<int64_t> v) { return at::tensor(v, at::kLong); }

// Several rows widen W per call: bitwise the fp32 model on the rounded weights. One row reads W in
// 16 bits in duo's own kernel: equal up to the order of the fp32 sums.
TEST(WeightDtype, SixteenBitMatricesComputeWhatFp32ComputesOnTheRoundedValues) {
  torch::NoGradGuard no_grad;
  for (const char* type : {"llama", "qwen3"}) {
    for (bool tied : {false, true}) {
      auto j = dt::tiny_config(type);
      j["tie_word_embeddings"] = tied;
      const auto cfg = ModelConfig::from_json(j);
      for (at::ScalarType wd : {at::kBFloat16, at::kHalf}) {
        LoadOptions lo;
        lo.weight_dtype = wd;
        const Model m16 = Model::random(cfg, 3, lo);
        const Model ref = Model::random(cfg, 3);
        EXPECT_EQ(m16.weight_dtype(), wd);
        EXPECT_EQ(ref.weight_dtype(), at::kFloat);
        const auto w16 = m16.named_weights();
        auto wref = ref.named_weights();
        ASSERT_EQ(w16.size(), wref.size());
        int matrices = 0;
        for (size_t i = 0; i < w16.size(); ++i) {
          ASSERT_EQ(w16[i].first, wref[i].first);
          const bool matrix = is_matrix(w16[i].first);
          matrices += matrix;
          EXPECT_EQ(w16[i].second.scalar_type(), matrix ? wd : at::kFloat) << w16[i].first;
          if (matrix) wref[i].second.copy_(wref[i].second.to(wd));  // the same values, stored in fp32
          EXPECT_TRUE(at::equal(w16[i].second.to(at::kFloat), wref[i].second)) << w16[i].first;
        }
        EXPECT_EQ(matrices, 2 * 7 + 1 + (tied ? 0 : 1));
        const std::string what = std::string(type) + (tied ? " tied " : " ") + c10::toString(wd);

        const at::Tensor ids = ids_of({1, 5, 9, 17, 33, 65, 80, 95, 3, 4});
        const at::Tensor got = m16.logits(ids), want = ref.logits(ids);
        EXPECT_EQ(got.scalar_type(), at::kFloat);
        EXPECT_TRUE(at::equal(got, want)) << what << ": max diff " << (got - want).abs().max().item<double>();

        const at::Tensor one = m16.logits(ids_of({7})), one_ref = ref.logits(ids_of({7}));
        EXPECT_TRUE(at::allclose(one, one_ref, /*rtol=*/1e-5, /*atol=*/1e-6))
            << what << ": max diff " << (one - one_ref).abs().max().item<double>();
        EXPECT_FALSE(at::equal(one, m16.logits(ids_of({8}))));  // the input matters
      }
    }
  }
}

// A bf16 checkpoint loads without widening; the result is the widened model's.
TEST(WeightDtype, SixteenBitCheckpointLoadsWithoutWidening) {
  torch::NoGradGuard no_grad;
  auto dir = dt::temp_dir("weight_dtype_ckpt");
  auto j = dt::tiny_config("llama");
  auto weights = dt::random_weights(j, 5, at::kBFloat16);
  duo::io::write_json(dir / "config.json", j);
  duo::io::write_safetensors(dir / "model.safetensors", weights);
  const auto cfg = ModelConfig::load(dir);
  EXPECT_EQ(duo::model::checkpoint_matrix_dtype(dir, cfg), at::kBFloat16);

  LoadOptions lo;
  lo.weight_dtype = at::kBFloat16;
  const Model m16 = Model::load(dir, lo);
  const Model widened = Model::load(dir);
  for (const auto& [name, t] : m16.named_weights())
    EXPECT_EQ(t.scalar_type(), is_matrix(name) ? at::kBFloat16 : at::kFloat) << name;
  const at::Tensor ids = ids_of({1, 2, 3, 40, 50, 60});
  EXPECT_TRUE(at::equal(m16.logits(ids), widened.logits(ids)));

  // Matrices of different dtypes: no single storage dtype.
  for (auto& [name, t] : weights)
    if (name == "model.layers.1.mlp.up_proj.weight") t = t.to(at::kFloat);
  auto mixed = dt::temp_dir("weight_dtype_mixed");
  duo::io::write_json(mixed / "config.json", j);
  duo::io::write_safetensors(mixed / "model.safetensors", weights);
  EXPECT_EQ(duo::model::checkpoint_matrix_dtype(mixed, cfg), at::ScalarType::Undefined);
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(mixed);
}

TEST(WeightDtype, SixteenBitWeightsNeedFp32Compute) {
  const auto cfg = ModelConfig::from_json(dt::tiny_config("llama"));
  LoadOptions lo;
  lo.dtype = at::kBFloat16;
  lo.weight_dtype = at::kHalf;
  try {
    Model::random(cfg, 1, lo);
    FAIL() << "f16 weights under bf16 compute were accepted";
  } catch (const duo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("weight dtype float16 with compute dtype bfloat16"), std::string::npos)
        << e.what();
  }
  lo.weight_dtype = at::kBFloat16;  // the compute dtype itself is fine
  EXPECT_EQ(Model::random(cfg, 1, lo).weight_dtype(), at::kBFloat16);
}

}  // namespace
