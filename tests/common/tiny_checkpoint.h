// Test helper: tiny random Hugging Face checkpoints (config.json + safetensors) for Llama-family
// models, written from the config alone. Header-only on purpose: tests/common/*.cpp is linked
// into every test binary, and this needs duo_io.
//
// The tensor names and shapes come from hf_tensor_shapes(), written here independently of
// src/model, so that a naming mistake in the model shows up as a load error in the tests.
#pragma once

#include <ATen/ATen.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "io/checkpoint.h"
#include "io/json.h"

namespace duo::testing {

// A small config of `model_type` with its real per-type keys (2 layers, hidden 64, 4 heads,
// 2 KV heads, head_dim 16, vocab 96). Callers edit keys (rope_scaling, sliding_window, ...).
inline nlohmann::json tiny_config(const std::string& model_type) {
  nlohmann::json j = {
      {"model_type", model_type},     {"vocab_size", 96},           {"hidden_size", 64},
      {"intermediate_size", 96},      {"num_hidden_layers", 2},     {"num_attention_heads", 4},
      {"num_key_value_heads", 2},     {"rms_norm_eps", 1e-5},       {"rope_theta", 10000.0},
      {"max_position_embeddings", 256}, {"hidden_act", "silu"},     {"tie_word_embeddings", false},
      {"bos_token_id", 1},            {"eos_token_id", 2},          {"torch_dtype", "float32"},
      {"initializer_range", 0.02}};
  if (model_type == "llama") {
    j["architectures"] = {"LlamaForCausalLM"};
    j["attention_bias"] = false;
    j["mlp_bias"] = false;
  } else if (model_type == "mistral") {
    j["architectures"] = {"MistralForCausalLM"};
    j["sliding_window"] = nullptr;
  } else if (model_type == "qwen2") {
    j["architectures"] = {"Qwen2ForCausalLM"};
    j["use_sliding_window"] = false;
    j["sliding_window"] = 128;
    j["max_window_layers"] = 1;
  } else if (model_type == "qwen3") {
    j["architectures"] = {"Qwen3ForCausalLM"};
    j["head_dim"] = 24;  // explicit and != hidden / heads, as in the real Qwen3 configs
    j["attention_bias"] = false;
    j["use_sliding_window"] = false;
    j["sliding_window"] = nullptr;
    j["max_window_layers"] = 2;
  }
  return j;
}

inline int64_t json_int(const nlohmann::json& j, const char* key, int64_t def) {
  return j.contains(key) && !j[key].is_null() ? j[key].get<int64_t>() : def;
}
inline bool json_bool(const nlohmann::json& j, const char* key, bool def) {
  return j.contains(key) && !j[key].is_null() ? j[key].get<bool>() : def;
}

// Hugging Face tensor names and shapes for a Llama-family config, in the order HF saves them.
inline std::vector<std::pair<std::string, std::vector<int64_t>>> hf_tensor_shapes(const nlohmann::json& c) {
  const std::string type = c["model_type"];
  const int64_t h = c["hidden_size"], f = c["intermediate_size"], n = c["num_hidden_layers"];
  const int64_t hq = c["num_attention_heads"], vocab = c["vocab_size"];
  const int64_t hkv = json_int(c, "num_key_value_heads", hq), d = json_int(c, "head_dim", h / hq);
  bool qkv_bias = false, o_bias = false, mlp_bias = false;
  if (type == "llama") {
    qkv_bias = o_bias = json_bool(c, "attention_bias", false);
    mlp_bias = json_bool(c, "mlp_bias", false);
  } else if (type == "qwen2") {
    qkv_bias = true;
  } else if (type == "qwen3") {
    qkv_bias = o_bias = json_bool(c, "attention_bias", false);
  }
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  out.push_back({"model.embed_tokens.weight", {vocab, h}});
  for (int64_t l = 0; l < n; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    out.push_back({p + "self_attn.q_proj.weight", {hq * d, h}});
    if (qkv_bias) out.push_back({p + "self_attn.q_proj.bias", {hq * d}});
    out.push_back({p + "self_attn.k_proj.weight", {hkv * d, h}});
    if (qkv_bias) out.push_back({p + "self_attn.k_proj.bias", {hkv * d}});
    out.push_back({p + "self_attn.v_proj.weight", {hkv * d, h}});
    if (qkv_bias) out.push_back({p + "self_attn.v_proj.bias", {hkv * d}});
    out.push_back({p + "self_attn.o_proj.weight", {h, hq * d}});
    if (o_bias) out.push_back({p + "self_attn.o_proj.bias", {h}});
    if (type == "qwen3") {
      out.push_back({p + "self_attn.q_norm.weight", {d}});
      out.push_back({p + "self_attn.k_norm.weight", {d}});
    }
    out.push_back({p + "mlp.gate_proj.weight", {f, h}});
    if (mlp_bias) out.push_back({p + "mlp.gate_proj.bias", {f}});
    out.push_back({p + "mlp.up_proj.weight", {f, h}});
    if (mlp_bias) out.push_back({p + "mlp.up_proj.bias", {f}});
    out.push_back({p + "mlp.down_proj.weight", {h, f}});
    if (mlp_bias) out.push_back({p + "mlp.down_proj.bias", {h}});
    out.push_back({p + "input_layernorm.weight", {h}});
    out.push_back({p + "post_attention_layernorm.weight", {h}});
  }
  out.push_back({"model.norm.weight", {h}});
  if (!json_bool(c, "tie_word_embeddings", false)) out.push_back({"lm_head.weight", {vocab, h}});
  return out;
}

// Random weights for `config`: normal(0, stddev) for matrices and biases, 1 + normal(0, 0.1) for
// norm weights (so that a norm applied in the wrong place shows). Values are rounded through
// `dtype` and returned as float32, i.e. exactly what a loader will see.
inline std::vector<std::pair<std::string, at::Tensor>> random_weights(const nlohmann::json& config, uint64_t seed,
                                                                      at::ScalarType dtype = at::kFloat,
                                                                      double stddev = 0.1) {
  auto gen = at::detail::createCPUGenerator(seed);
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& [name, shape] : hf_tensor_shapes(config)) {
    at::Tensor t = at::empty(shape, at::kFloat);
    if (name.find("norm.weight") != std::string::npos) {
      t.normal_(1.0, 0.1, gen);
    } else {
      t.normal_(0.0, stddev, gen);
    }
    out.emplace_back(name, t.to(dtype));
  }
  return out;
}

// Writes dir/config.json and the weights (model.safetensors, or shards of at most shard_bytes
// with an index when shard_bytes > 0). Returns the weights as float32 (after dtype rounding).
inline std::map<std::string, at::Tensor> write_tiny_checkpoint(const std::filesystem::path& dir,
                                                               const nlohmann::json& config, uint64_t seed,
                                                               at::ScalarType dtype = at::kFloat,
                                                               uint64_t shard_bytes = 0, double stddev = 0.1) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto weights = random_weights(config, seed, dtype, stddev);
  io::write_json(dir / "config.json", config);
  if (shard_bytes > 0) {
    io::write_sharded_checkpoint(dir, weights, shard_bytes);
  } else {
    io::write_safetensors(dir / "model.safetensors", weights, {{"format", "pt"}});
  }
  std::map<std::string, at::Tensor> as_float;
  for (auto& [name, t] : weights) as_float[name] = t.to(at::kFloat);
  return as_float;
}

// A fresh temporary folder for one test.
inline std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("duo_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace duo::testing
