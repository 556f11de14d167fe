// ModelConfig from config.json: per-type rules and defaults, validation messages, derived values.
#include <gtest/gtest.h>

#include "common/tiny_checkpoint.h"
#include "core/error.h"
#include "model/model_config.h"

namespace {

using duo::model::ModelConfig;
using nlohmann::json;
namespace dt = duo::testing;

std::string error_of(const json& j) {
  try {
    ModelConfig::from_json(j);
  } catch (const duo::Error& e) {
    return e.what();
  }
  return "";
}

TEST(ModelConfig, LlamaDefaultsAndDerivedValues) {
  json j = dt::tiny_config("llama");
  j.erase("num_key_value_heads");
  j.erase("rms_norm_eps");
  auto c = ModelConfig::from_json(j);
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.n_kv_heads, 4);  // defaults to the query heads (MHA)
  EXPECT_EQ(c.head_dim, 16);   // hidden / heads
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.n_gqa(), 1);
  EXPECT_FALSE(c.qkv_bias || c.o_bias || c.mlp_bias || c.qk_norm);
  EXPECT_EQ(c.sliding_window, 0);
  EXPECT_TRUE(c.rope_scaling.none());
  // 2 layers x 2 (k, v) x 4 heads x 16 dims x 2 bytes
  EXPECT_EQ(c.kv_bytes_per_token(2), 2 * 2 * 4 * 16 * 2);
  EXPECT_EQ(c.bos_token_ids, std::vector<int64_t>{1});
}

TEST(ModelConfig, PerTypeBiasesNormsAndWindows) {
  auto q2 = ModelConfig::from_json(dt::tiny_config("qwen2"));
  EXPECT_TRUE(q2.qkv_bias);
  EXPECT_FALSE(q2.o_bias);
  EXPECT_EQ(q2.sliding_window, 0);  // use_sliding_window false: the window is ignored

  auto q3 = ModelConfig::from_json(dt::tiny_config("qwen3"));
  EXPECT_TRUE(q3.qk_norm);
  EXPECT_EQ(q3.head_dim, 24);  // explicit head_dim wins over hidden / heads
  EXPECT_EQ(q3.q_dim(), 96);
  EXPECT_EQ(q3.kv_dim(), 48);

  json m = dt::tiny_config("mistral");
  m["sliding_window"] = 4096;
  auto mc = ModelConfig::from_json(m);
  EXPECT_EQ(mc.layer_sliding_window(0), 4096);
  EXPECT_EQ(mc.layer_sliding_window(1), 4096);
  m.erase("sliding_window");  // MistralConfig's default
  EXPECT_EQ(ModelConfig::from_json(m).sliding_window, 4096);

  json l = dt::tiny_config("llama");
  l["attention_bias"] = true;
  auto lc = ModelConfig::from_json(l);
  EXPECT_TRUE(lc.qkv_bias && lc.o_bias);
}

TEST(ModelConfig, TokenIdsIntListOrNull) {
  json j = dt::tiny_config("llama");
  j["eos_token_id"] = {128001, 128008, 128009};
  j["pad_token_id"] = nullptr;
  auto c = ModelConfig::from_json(j);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_TRUE(c.pad_token_ids.empty());
}

TEST(ModelConfig, RopeScalingKinds) {
  json j = dt::tiny_config("llama");
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 8.0}};
  auto c = ModelConfig::from_json(j);
  EXPECT_EQ(c.rope_scaling.type, "linear");
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 8.0);
  j["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_TRUE(ModelConfig::from_json(j).rope_scaling.none());
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  EXPECT_EQ(ModelConfig::from_json(j).rope_scaling.original_max_position_embeddings, 256);  // falls back
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
  EXPECT_NE(error_of(j).find("low_freq_factor"), std::string::npos) << error_of(j);
}

TEST(ModelConfig, UnsupportedRopeIsAClearError) {
  json j = dt::tiny_config("llama");
  j["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2.0}};
  std::string e = error_of(j);
  EXPECT_NE(e.find("'dynamic' is not supported"), std::string::npos) << e;
  EXPECT_NE(e.find("config.json"), std::string::npos) << e;
  j["rope_scaling"] = {{"rope_type", "longrope"}, {"factor", 2.0}};
  EXPECT_NE(error_of(j).find("'longrope' is not supported"), std::string::npos);
}

TEST(ModelConfig, UnknownModelTypeListsSupported) {
  json j = dt::tiny_config("llama");
  j["model_type"] = "gpt2";
  std::string e = error_of(j);
  EXPECT_NE(e.find("'gpt2' is not supported"), std::string::npos) << e;
  EXPECT_NE(e.find("llama, mistral, qwen2, qwen3"), std::string::npos) << e;
}

TEST(ModelConfig, ValidationNamesTheKey) {
  json j = dt::tiny_config("llama");
  j["num_key_value_heads"] = 3;
  std::string e = error_of(j);
  EXPECT_NE(e.find("num_key_value_heads"), std::string::npos) << e;
  EXPECT_NE(e.find("config.json"), std::string::npos) << e;
  j = dt::tiny_config("llama");
  j.erase("hidden_size");
  EXPECT_NE(error_of(j).find("missing key 'hidden_size'"), std::string::npos);
  j = dt::tiny_config("llama");
  j["hidden_size"] = "64";
  EXPECT_NE(error_of(j).find("'hidden_size' must be an integer"), std::string::npos);
  j = dt::tiny_config("llama");
  j["hidden_act"] = "gelu";
  EXPECT_NE(error_of(j).find("hidden_act"), std::string::npos);
}

TEST(ModelConfig, LoadNamesTheFileAndRoundTrips) {
  auto dir = dt::temp_dir("config_load");
  json j = dt::tiny_config("qwen3");
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 128}};
  duo::io::write_json(dir / "config.json", j);
  auto c = ModelConfig::load(dir);
  auto back = ModelConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_EQ(back.head_dim, 24);
  EXPECT_EQ(back.rope_scaling.original_max_position_embeddings, 128);
  j["model_type"] = "bert";
  duo::io::write_json(dir / "config.json", j);
  try {
    ModelConfig::load(dir);
    FAIL();
  } catch (const duo::Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "config.json").string()), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
