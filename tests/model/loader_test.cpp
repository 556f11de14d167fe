// Checkpoint loading errors: missing tensor, unused tensor, wrong shape (tensor and both shapes
// named), non-float dtype, bad ids; and what the loader reports for `duo info`.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "common/tiny_checkpoint.h"
#include "core/error.h"
#include "model/model.h"

namespace {

using duo::model::Model;
namespace dt = duo::testing;

// Writes the tiny llama checkpoint with `edit` applied to its tensor list; returns the load error.
template <typename Edit>
std::string load_error(const std::string& tag, Edit edit) {
  auto dir = dt::temp_dir("loader_" + tag);
  auto cfg = dt::tiny_config("llama");
  auto weights = dt::random_weights(cfg, 1);
  edit(weights);
  duo::io::write_json(dir / "config.json", cfg);
  duo::io::write_safetensors(dir / "model.safetensors", weights);
  std::string msg;
  try {
    Model::load(dir);
  } catch (const duo::Error& e) {
    msg = e.what();
  }
  std::filesystem::remove_all(dir);
  return msg;
}

TEST(Loader, MissingTensorIsNamed) {
  auto e = load_error("missing", [](auto& w) {
    w.erase(std::remove_if(w.begin(), w.end(), [](auto& p) { return p.first == "model.layers.1.mlp.up_proj.weight"; }),
            w.end());
  });
  EXPECT_NE(e.find("tensor 'model.layers.1.mlp.up_proj.weight' is missing"), std::string::npos) << e;
  EXPECT_NE(e.find("[96, 64]"), std::string::npos) << e;
}

TEST(Loader, UnusedTensorIsAnError) {
  auto e = load_error("unused", [](auto& w) { w.emplace_back("model.layers.2.mlp.up_proj.weight", at::zeros({2, 2})); });
  EXPECT_NE(e.find("tensor 'model.layers.2.mlp.up_proj.weight'"), std::string::npos) << e;
  EXPECT_NE(e.find("not used"), std::string::npos) << e;
}

TEST(Loader, WrongShapeNamesTensorAndBothShapes) {
  auto e = load_error("shape", [](auto& w) {
    for (auto& [name, t] : w)
      if (name == "model.layers.0.self_attn.k_proj.weight") t = at::zeros({64, 64});
  });
  EXPECT_NE(e.find("tensor 'model.layers.0.self_attn.k_proj.weight' has wrong shape"), std::string::npos) << e;
  EXPECT_NE(e.find("expected [32, 64], got [64, 64]"), std::string::npos) << e;
}

TEST(Loader, IntegerTensorIsRejected) {
  auto e = load_error("dtype", [](auto& w) {
    for (auto& [name, t] : w)
      if (name == "model.norm.weight") t = at::ones({64}, at::kInt);
  });
  EXPECT_NE(e.find("'model.norm.weight' has dtype I32"), std::string::npos) << e;
}

TEST(Loader, IgnoresRotaryBuffersAndReportsWhatItFound) {
  auto dir = dt::temp_dir("loader_info");
  auto cfg = dt::tiny_config("llama");
  auto weights = dt::random_weights(cfg, 1, at::kBFloat16);
  weights.emplace_back("model.layers.0.self_attn.rotary_emb.inv_freq", at::ones({8}));
  duo::io::write_json(dir / "config.json", cfg);
  duo::io::write_safetensors(dir / "model.safetensors", weights);
  Model m = Model::load(dir);
  const auto& info = m.load_info();
  EXPECT_EQ(info.files, std::vector<std::string>{"model.safetensors"});
  EXPECT_EQ(info.n_tensors, static_cast<int64_t>(weights.size()));
  EXPECT_EQ(info.dtype_counts.at("BF16"), static_cast<int64_t>(weights.size()) - 1);
  EXPECT_EQ(info.dtype_counts.at("F32"), 1);
  EXPECT_EQ(info.ignored.size(), 1u);
  std::filesystem::remove_all(dir);
}

TEST(Loader, BadIdsAndOptions) {
  Model m = Model::random(duo::model::ModelConfig::from_json(dt::tiny_config("llama")), 1);
  try {
    m.hidden(at::tensor(std::vector<int64_t>{1, 96}, at::kLong));
    FAIL();
  } catch (const duo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("position 1 out of range; expected 0 <= id < 96, got 96"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(m.hidden(at::tensor(std::vector<int64_t>{-1}, at::kLong)), duo::Error);
  EXPECT_THROW(m.hidden(at::tensor(std::vector<int>{1}, at::kInt)), duo::Error);
  EXPECT_THROW(Model::random(m.config(), 1, {at::kHalf}), duo::Error);  // compute dtype fp32 / bf16 only
  EXPECT_THROW(m.hidden(at::tensor(std::vector<int64_t>{1}, at::kLong), duo::model::AttentionPlan(3)), duo::Error);
  EXPECT_THROW(Model::load("/nonexistent/duo/model"), duo::Error);
}

}  // namespace
