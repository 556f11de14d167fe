// The forward pass against the plain float64 reference (reference_forward.h), for every model type
// and RoPE scaling, checkpoint dtypes, shards, sliding windows, and the per-layer pieces.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "common/tiny_checkpoint.h"
#include "model/model.h"
#include "model/reference_forward.h"

namespace {

using duo::model::Model;
using nlohmann::json;
namespace dt = duo::testing;

const std::vector<int64_t> kIds = {1, 5, 17, 42, 3, 88, 64, 7, 7, 29, 95, 0, 11, 60, 33, 2, 71, 50, 9, 14};

at::Tensor ids_tensor(const std::vector<int64_t>& ids) { return at::tensor(ids, at::kLong); }

json with_rope(json c, const std::string& rope) {
  if (rope == "linear") c["rope_scaling"] = {{"type", "linear"}, {"factor", 4.0}};
  if (rope == "llama3")
    c["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 64}};
  if (rope == "yarn")
    c["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 64}};
  return c;
}

// Writes the checkpoint, loads it, and compares logits and hidden with the reference.
void check_against_reference(const json& cfg, const std::string& tag, at::ScalarType ckpt_dtype = at::kFloat,
                             uint64_t shard_bytes = 0) {
  auto dir = dt::temp_dir("fwd_" + tag);
  auto weights = dt::write_tiny_checkpoint(dir, cfg, /*seed=*/7, ckpt_dtype, shard_bytes);
  Model m = Model::load(dir);
  at::Tensor h = m.hidden(ids_tensor(kIds));
  at::Tensor logits = m.lm_head(h);
  auto ref = dt::reference_forward(cfg, weights, kIds);
  EXPECT_EQ(logits.scalar_type(), at::kFloat);
  EXPECT_EQ(logits.sizes(), ref.logits.sizes());
  EXPECT_LT(dt::rel_error(logits, ref.logits), 1e-4) << tag;
  EXPECT_LT(dt::rel_error(h, ref.hidden), 1e-4) << tag;
  std::filesystem::remove_all(dir);
}

class ForwardByType : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(ForwardByType, MatchesReference) {
  auto [type, rope] = GetParam();
  check_against_reference(with_rope(dt::tiny_config(type), rope), type + "_" + rope);
}

INSTANTIATE_TEST_SUITE_P(AllTypesAndRopes, ForwardByType,
                         ::testing::Combine(::testing::Values("llama", "mistral", "qwen2", "qwen3"),
                                            ::testing::Values("none", "linear", "llama3", "yarn")),
                         [](const auto& info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param); });

TEST(Forward, LlamaBiasesAndTiedEmbeddings) {
  json c = dt::tiny_config("llama");
  c["attention_bias"] = true;
  c["mlp_bias"] = true;
  c["tie_word_embeddings"] = true;
  check_against_reference(c, "llama_bias_tied");
}

TEST(Forward, Bf16AndFp16Checkpoints) {
  check_against_reference(dt::tiny_config("llama"), "bf16_ckpt", at::kBFloat16);
  check_against_reference(dt::tiny_config("qwen2"), "fp16_ckpt", at::kHalf);
}

TEST(Forward, ShardedCheckpoint) {
  // ~20 KiB shards over a ~100 KiB model: several shards and an index.
  check_against_reference(dt::tiny_config("qwen3"), "sharded", at::kFloat, 20000);
}

TEST(Forward, MistralSlidingWindow) {
  json c = dt::tiny_config("mistral");
  c["sliding_window"] = 4;  // < T = 20
  check_against_reference(c, "mistral_window");
  // The window must change the result.
  auto dir = dt::temp_dir("mistral_window_effect");
  dt::write_tiny_checkpoint(dir / "w", c, 7);
  json none = c;
  none["sliding_window"] = nullptr;
  dt::write_tiny_checkpoint(dir / "n", none, 7);
  auto a = Model::load(dir / "w").logits(ids_tensor(kIds));
  auto b = Model::load(dir / "n").logits(ids_tensor(kIds));
  EXPECT_TRUE(at::allclose(a.narrow(0, 0, 4), b.narrow(0, 0, 4), 1e-5, 1e-5));  // first 4 queries see everything
  EXPECT_GT((a - b).abs().max().item<double>(), 1e-3);
  std::filesystem::remove_all(dir);
}

TEST(Forward, Qwen2SlidingWindowOnlyFromMaxWindowLayers) {
  json c = dt::tiny_config("qwen2");
  c["use_sliding_window"] = true;
  c["sliding_window"] = 3;
  c["max_window_layers"] = 1;  // layer 0 full, layer 1 windowed
  auto cfg = duo::model::ModelConfig::from_json(c);
  EXPECT_EQ(cfg.layer_sliding_window(0), 0);
  EXPECT_EQ(cfg.layer_sliding_window(1), 3);
  check_against_reference(c, "qwen2_window");
}

TEST(Forward, Bf16ComputeIsCloseToFp32) {
  auto dir = dt::temp_dir("bf16_compute");
  dt::write_tiny_checkpoint(dir, dt::tiny_config("llama"), 3);
  auto a = Model::load(dir).logits(ids_tensor(kIds));
  auto b = Model::load(dir, {at::kBFloat16}).logits(ids_tensor(kIds));
  EXPECT_EQ(b.scalar_type(), at::kFloat);
  EXPECT_LT(dt::rel_error(b, a), 5e-2);
  EXPECT_GT(dt::rel_error(b, a), 0.0);  // really computed in bf16
  std::filesystem::remove_all(dir);
}

TEST(Forward, PiecesComposeToHidden) {
  auto dir = dt::temp_dir("pieces");
  dt::write_tiny_checkpoint(dir, dt::tiny_config("qwen3"), 5);
  Model m = Model::load(dir);
  auto ids = ids_tensor(kIds);
  const int64_t t = ids.size(0);
  auto positions = at::arange(t, at::kLong);
  at::Tensor x = m.embed(ids);
  at::Tensor y = x;
  for (int64_t l = 0; l < m.config().n_layers; ++l) {
    auto qkv = m.qkv(l, m.attn_norm(l, x), positions);
    EXPECT_EQ(qkv.q.sizes(), (std::vector<int64_t>{4, t, 24}));
    EXPECT_EQ(qkv.k.sizes(), (std::vector<int64_t>{2, t, 24}));
    auto o = duo::attention::attend(qkv.q, qkv.k, qkv.v, m.layer_spec(l, {}));
    x = x + m.attn_out(l, o);
    x = x + m.mlp_block(l, x);
    y = m.layer_forward(l, y, {});
  }
  EXPECT_TRUE(at::allclose(m.final_norm(x), m.hidden(ids), 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(m.final_norm(y), m.hidden(ids), 1e-5, 1e-5));
  // pos0 shifts RoPE: q and k change, but attention scores depend on relative positions only,
  // so the layer output stays the same.
  auto e = m.embed(ids);
  auto h0 = m.attn_norm(0, e);
  EXPECT_GT((m.qkv(0, h0, positions + 5).q - m.qkv(0, h0, positions).q).abs().max().item<double>(), 1e-2);
  EXPECT_TRUE(at::allclose(m.layer_forward(0, e, {}, 5), m.layer_forward(0, e, {}), 1e-4, 1e-5));
  std::filesystem::remove_all(dir);
}

TEST(Forward, GatesReceiveGradients) {
  json c = dt::tiny_config("llama");
  Model m = Model::random(duo::model::ModelConfig::from_json(c), 11);
  duo::model::AttentionPlan plan(2);
  for (auto& s : plan) {
    s.alpha = at::full({2}, 0.5, at::kFloat).requires_grad_(true);
    s.window = duo::StreamWindow(1, 3);
  }
  auto h = m.hidden(ids_tensor(kIds), plan);
  ASSERT_TRUE(h.requires_grad());
  h.pow(2).sum().backward();
  EXPECT_TRUE(plan[0].alpha.grad().defined());
  EXPECT_GT(plan[0].alpha.grad().abs().sum().item<double>(), 0.0);
  for (auto& [name, w] : m.named_weights()) EXPECT_FALSE(w.requires_grad()) << name;
  // Without gates hidden() runs without autograd.
  EXPECT_FALSE(m.hidden(ids_tensor(kIds)).requires_grad());
}

TEST(Forward, RandomModelRoundTripsThroughCheckpoint) {
  json c = dt::tiny_config("mistral");
  auto cfg = duo::model::ModelConfig::from_json(c);
  Model m = Model::random(cfg, 123);
  // HF-like init: unit norms, std = initializer_range elsewhere.
  int64_t n = 0;
  for (auto& [name, w] : m.named_weights()) {
    n += w.numel();
    if (name.find("norm") != std::string::npos) {
      EXPECT_TRUE(at::all(w == 1).item<bool>()) << name;
    } else {
      EXPECT_NEAR(w.std().item<double>(), 0.02, 0.004) << name;
    }
  }
  EXPECT_EQ(n, cfg.n_params());
  auto dir = dt::temp_dir("roundtrip");
  duo::io::write_json(dir / "config.json", cfg.to_json());
  duo::io::write_safetensors(dir / "model.safetensors", m.named_weights());
  Model back = Model::load(dir);
  EXPECT_TRUE(at::equal(back.logits(ids_tensor(kIds)), m.logits(ids_tensor(kIds))));
  // Same seed, bf16 compute: the same weights rounded.
  Model mb = Model::random(cfg, 123, {at::kBFloat16});
  EXPECT_TRUE(at::equal(mb.named_weights()[3].second, m.named_weights()[3].second.to(at::kBFloat16)));
  std::filesystem::remove_all(dir);
}

}  // namespace
