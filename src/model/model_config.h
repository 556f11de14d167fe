// ModelConfig: the hyper-parameters of a Llama-family model, read from a Hugging Face config.json
// (model_type llama, mistral, qwen2, qwen3). Immutable once parsed; derived values are methods.
//
// Key semantics follow Hugging Face transformers:
//   - head_dim: explicit when set (Qwen3), else hidden_size / num_attention_heads.
//   - num_key_value_heads: defaults to num_attention_heads (MHA).
//   - rope_scaling: none, "linear", "llama3", "yarn" ("type" or "rope_type" key); "dynamic" and
//     every other type are rejected as not supported. See rope.h for the formulas.
//   - biases: llama has attention_bias (q, k, v, o) and mlp_bias; qwen2 always has q/k/v bias and
//     no o bias; qwen3 has attention_bias (q, k, v, o); mistral has none.
//   - qwen3 applies a per-head RMSNorm to q and k (q_norm, k_norm) before RoPE.
//   - sliding_window: mistral honours it on every layer when set and not null; qwen2/qwen3 only
//     when use_sliding_window is true, and then only on layers l >= max_window_layers. Key j is
//     visible from query i iff i - j < sliding_window.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace duo::model {

// RoPE frequency scaling (rope_scaling in config.json). Fields unused by a type keep defaults.
struct RopeScaling {
  std::string type;                                  // "" (none), "linear", "llama3" or "yarn"
  double factor = 1.0;                               // linear / llama3 / yarn scale factor
  double low_freq_factor = 1.0;                      // llama3
  double high_freq_factor = 4.0;                     // llama3
  int64_t original_max_position_embeddings = 0;      // llama3 (required) / yarn (0 = max_position_embeddings)
  double attention_factor = 0.0;                     // yarn: cos/sin scale; 0 = derived from factor (mscale)
  double beta_fast = 32.0;                           // yarn
  double beta_slow = 1.0;                            // yarn
  double mscale = 0.0;                               // yarn (DeepSeek style); 0 = unset
  double mscale_all_dim = 0.0;                       // yarn (DeepSeek style); 0 = unset
  bool truncate = true;                              // yarn: floor/ceil the correction range

  bool none() const { return type.empty(); }
};

struct ModelConfig {
  std::string model_type;                   // "llama", "mistral", "qwen2" or "qwen3"
  std::string architecture;                 // architectures[0], e.g. "LlamaForCausalLM" ("" if absent)
  int64_t vocab_size = 0;                   // rows of embed_tokens / lm_head
  int64_t hidden_size = 0;                  // residual stream width
  int64_t intermediate_size = 0;            // SwiGLU inner width
  int64_t n_layers = 0;                     // num_hidden_layers
  int64_t n_heads = 0;                      // num_attention_heads (query heads)
  int64_t n_kv_heads = 0;                   // num_key_value_heads (GQA groups)
  int64_t head_dim = 0;                     // per-head width (explicit or hidden_size / n_heads)
  double rms_norm_eps = 1e-6;               // RMSNorm epsilon
  double rope_theta = 10000.0;              // RoPE base
  RopeScaling rope_scaling;                 // RoPE frequency scaling
  int64_t max_position_embeddings = 0;      // trained context length (yarn uses it)
  bool qkv_bias = false;                    // q_proj/k_proj/v_proj have biases
  bool o_bias = false;                      // o_proj has a bias
  bool mlp_bias = false;                    // gate/up/down projections have biases
  bool qk_norm = false;                     // per-head RMSNorm on q and k before RoPE (qwen3)
  bool tie_word_embeddings = false;         // lm_head shares embed_tokens' weight
  int64_t sliding_window = 0;               // the model's attention window; 0 = none
  int64_t max_window_layers = 0;            // first layer that uses the window (qwen2/qwen3); 0 = all
  std::vector<int64_t> bos_token_ids;       // bos_token_id (int or list; empty if null)
  std::vector<int64_t> eos_token_ids;       // eos_token_id (int or list; empty if null)
  std::vector<int64_t> pad_token_ids;       // pad_token_id (int or list; empty if null)
  std::string torch_dtype;                  // "float32", "bfloat16", "float16" ("" if absent)
  double initializer_range = 0.02;          // std of the normal init (random models)
  std::string hidden_act = "silu";          // only silu is supported

  // Query heads per KV head.
  int64_t n_gqa() const { return n_heads / n_kv_heads; }
  // Width of the concatenated query heads / key or value heads.
  int64_t q_dim() const { return n_heads * head_dim; }
  int64_t kv_dim() const { return n_kv_heads * head_dim; }
  // KV-cache bytes one token costs over all layers (keys and values, every KV head).
  int64_t kv_bytes_per_token(int64_t bytes_per_element) const {
    return n_layers * 2 * kv_dim() * bytes_per_element;
  }
  // The sliding window layer l uses (0 = none).
  int64_t layer_sliding_window(int64_t layer) const {
    return (sliding_window > 0 && layer >= max_window_layers) ? sliding_window : 0;
  }
  // Number of parameters (weights and biases) the checkpoint holds.
  int64_t n_params() const;

  // Parses a config.json document; `source` names the file in error messages.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source = "config.json");
  // Reads and parses `path` (a config.json file, or a folder holding one).
  static ModelConfig load(const std::filesystem::path& path);
  // The config.json document for this config (round-trips through from_json).
  nlohmann::json to_json() const;
  // Checks invariants (positive sizes, heads divisible by KV heads, ...); throws naming `source`.
  void validate(const std::string& source = "config.json") const;
};

// The model types from_json accepts, e.g. "llama, mistral, qwen2, qwen3".
std::string supported_model_types();

}  // namespace duo::model
