// config.json -> ModelConfig, with Hugging Face's per-model-type defaults and rules (see header).
#include "model/model_config.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>

#include "core/error.h"
#include "io/json.h"

namespace duo::model {
namespace {

using nlohmann::json;

const char* const kSupported[] = {"llama", "mistral", "qwen2", "qwen3"};

bool has(const json& j, const char* key) { return j.contains(key) && !j.at(key).is_null(); }

std::string type_name(const json& v) { return v.type_name(); }

int64_t get_int(const json& j, const char* key, const std::string& src) {
  DUO_CHECK(has(j, key), "{}: missing key '{}'; expected an integer", src, key);
  const json& v = j.at(key);
  if (v.is_number_unsigned()) {  // a JSON integer above INT64_MAX would wrap to a negative int64
    DUO_CHECK(v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX),
              "{}: key '{}' is {}; expected an integer below 2^63", src, key, v.get<uint64_t>());
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    DUO_CHECK(std::floor(d) == d, "{}: key '{}' must be an integer; got {}", src, key, d);
    // Outside [-2^63, 2^63) the conversion to int64 is undefined behaviour (UBSan found it).
    DUO_CHECK(d >= -9223372036854775808.0 && d < 9223372036854775808.0,
              "{}: key '{}' is {}; expected an integer below 2^63 in magnitude", src, key, d);
    return static_cast<int64_t>(d);
  }
  fail("{}: key '{}' must be an integer; got {} {}", src, key, type_name(v), v.dump());
}

int64_t get_int(const json& j, const char* key, const std::string& src, int64_t def) {
  return has(j, key) ? get_int(j, key, src) : def;
}

double get_double(const json& j, const char* key, const std::string& src, double def) {
  if (!has(j, key)) return def;
  const json& v = j.at(key);
  DUO_CHECK(v.is_number(), "{}: key '{}' must be a number; got {} {}", src, key, type_name(v), v.dump());
  return v.get<double>();
}

bool get_bool(const json& j, const char* key, const std::string& src, bool def) {
  if (!has(j, key)) return def;
  const json& v = j.at(key);
  DUO_CHECK(v.is_boolean(), "{}: key '{}' must be true or false; got {}", src, key, v.dump());
  return v.get<bool>();
}

std::string get_string(const json& j, const char* key, const std::string& src, const std::string& def) {
  if (!has(j, key)) return def;
  const json& v = j.at(key);
  DUO_CHECK(v.is_string(), "{}: key '{}' must be a string; got {}", src, key, v.dump());
  return v.get<std::string>();
}

// bos/eos/pad token ids: an int, a list of ints, or null.
std::vector<int64_t> get_ids(const json& j, const char* key, const std::string& src) {
  std::vector<int64_t> ids;
  if (!has(j, key)) return ids;
  const json& v = j.at(key);
  if (v.is_number_integer()) {
    ids.push_back(v.get<int64_t>());
  } else if (v.is_array()) {
    for (const auto& e : v) {
      DUO_CHECK(e.is_number_integer(), "{}: key '{}' must hold integers; got {}", src, key, v.dump());
      ids.push_back(e.get<int64_t>());
    }
  } else {
    fail("{}: key '{}' must be an integer, a list of integers or null; got {}", src, key, v.dump());
  }
  return ids;
}

RopeScaling parse_rope_scaling(const json& rs, const ModelConfig& cfg, const std::string& src) {
  RopeScaling r;
  DUO_CHECK(rs.is_object(), "{}: key 'rope_scaling' must be an object or null; got {}", src, rs.dump());
  std::string type;
  if (has(rs, "rope_type")) {
    type = get_string(rs, "rope_type", src + " rope_scaling", "");
  } else if (has(rs, "type")) {
    type = get_string(rs, "type", src + " rope_scaling", "");
  } else {
    fail("{}: rope_scaling has neither 'rope_type' nor 'type'; expected one of default, linear, llama3, yarn",
         src);
  }
  const std::string rsrc = src + ": rope_scaling";
  if (type == "default") return r;
  if (type != "linear" && type != "llama3" && type != "yarn") {
    fail("{} type '{}' is not supported; supported: default, linear, llama3, yarn", rsrc, type);
  }
  r.type = type;
  DUO_CHECK(has(rs, "factor"), "{} ({}) needs key 'factor'", rsrc, type);
  r.factor = get_double(rs, "factor", rsrc, 1.0);
  DUO_CHECK(r.factor > 0, "{} key 'factor' must be > 0; got {}", rsrc, r.factor);
  if (type == "llama3") {
    for (const char* k : {"low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}) {
      DUO_CHECK(has(rs, k), "{} (llama3) needs key '{}'", rsrc, k);
    }
    r.low_freq_factor = get_double(rs, "low_freq_factor", rsrc, 1.0);
    r.high_freq_factor = get_double(rs, "high_freq_factor", rsrc, 4.0);
    r.original_max_position_embeddings = get_int(rs, "original_max_position_embeddings", rsrc);
    DUO_CHECK(r.high_freq_factor > r.low_freq_factor,
              "{} key 'high_freq_factor' must exceed 'low_freq_factor'; got {} and {}", rsrc, r.high_freq_factor,
              r.low_freq_factor);
    DUO_CHECK(r.original_max_position_embeddings > 0,
              "{} key 'original_max_position_embeddings' must be > 0; got {}", rsrc,
              r.original_max_position_embeddings);
  } else if (type == "yarn") {
    r.original_max_position_embeddings =
        get_int(rs, "original_max_position_embeddings", rsrc, cfg.max_position_embeddings);
    r.attention_factor = get_double(rs, "attention_factor", rsrc, 0.0);
    // HF: `rope_scaling.get("beta_fast") or 32`, so 0 also means the default.
    r.beta_fast = get_double(rs, "beta_fast", rsrc, 0.0);
    if (r.beta_fast == 0) r.beta_fast = 32.0;
    r.beta_slow = get_double(rs, "beta_slow", rsrc, 0.0);
    if (r.beta_slow == 0) r.beta_slow = 1.0;
    r.mscale = get_double(rs, "mscale", rsrc, 0.0);
    r.mscale_all_dim = get_double(rs, "mscale_all_dim", rsrc, 0.0);
    r.truncate = get_bool(rs, "truncate", rsrc, true);
    DUO_CHECK(r.original_max_position_embeddings > 0,
              "{} (yarn) needs 'original_max_position_embeddings' or a top-level 'max_position_embeddings'", rsrc);
  }
  return r;
}

}  // namespace

std::string supported_model_types() {
  std::string s;
  for (const char* t : kSupported) s += (s.empty() ? "" : ", ") + std::string(t);
  return s;
}

ModelConfig ModelConfig::from_json(const json& j, const std::string& src) {
  DUO_CHECK(j.is_object(), "{}: expected a JSON object; got {}", src, j.type_name());
  ModelConfig c;
  c.model_type = get_string(j, "model_type", src, "");
  DUO_CHECK(!c.model_type.empty(), "{}: missing key 'model_type'; supported: {}", src, supported_model_types());
  bool known = false;
  for (const char* t : kSupported) known |= c.model_type == t;
  DUO_CHECK(known, "{}: model_type '{}' is not supported; supported: {}", src, c.model_type, supported_model_types());
  const bool llama = c.model_type == "llama", mistral = c.model_type == "mistral";
  const bool qwen2 = c.model_type == "qwen2", qwen3 = c.model_type == "qwen3";

  if (has(j, "architectures") && j.at("architectures").is_array() && !j.at("architectures").empty() &&
      j.at("architectures")[0].is_string()) {
    c.architecture = j.at("architectures")[0].get<std::string>();
  }
  c.vocab_size = get_int(j, "vocab_size", src);
  c.hidden_size = get_int(j, "hidden_size", src);
  c.intermediate_size = get_int(j, "intermediate_size", src);
  c.n_layers = get_int(j, "num_hidden_layers", src);
  c.n_heads = get_int(j, "num_attention_heads", src);
  DUO_CHECK(c.n_heads > 0, "{}: key 'num_attention_heads' must be > 0; got {}", src, c.n_heads);
  c.n_kv_heads = get_int(j, "num_key_value_heads", src, c.n_heads);
  c.head_dim = get_int(j, "head_dim", src, c.hidden_size / c.n_heads);
  c.rms_norm_eps = get_double(j, "rms_norm_eps", src, 1e-6);
  c.max_position_embeddings = get_int(j, "max_position_embeddings", src, llama ? 2048 : mistral ? 131072 : 32768);
  // transformers v5 nests rope_theta and the scaling under rope_parameters.
  const json* rope = has(j, "rope_parameters") ? &j.at("rope_parameters") : nullptr;
  c.rope_theta = get_double(j, "rope_theta", src, rope ? get_double(*rope, "rope_theta", src, 10000.0) : 10000.0);
  if (has(j, "rope_scaling")) {
    c.rope_scaling = parse_rope_scaling(j.at("rope_scaling"), c, src);
  } else if (rope) {
    c.rope_scaling = parse_rope_scaling(*rope, c, src);
  }
  DUO_CHECK(!has(j, "partial_rotary_factor") || get_double(j, "partial_rotary_factor", src, 1.0) == 1.0,
            "{}: key 'partial_rotary_factor' is not supported; expected 1.0, got {}", src,
            j.at("partial_rotary_factor").dump());

  if (llama) {
    c.qkv_bias = c.o_bias = get_bool(j, "attention_bias", src, false);
    c.mlp_bias = get_bool(j, "mlp_bias", src, false);
  } else if (qwen2) {
    c.qkv_bias = true;  // hard-wired in Qwen2Attention; o_proj has none
  } else if (qwen3) {
    c.qkv_bias = c.o_bias = get_bool(j, "attention_bias", src, false);
    c.qk_norm = true;
  }
  c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", src, false);

  if (mistral) {
    // MistralConfig defaults sliding_window to 4096 when the key is absent; null means none.
    c.sliding_window = j.contains("sliding_window") ? get_int(j, "sliding_window", src, 0) : 4096;
  } else if (qwen2 || qwen3) {
    if (get_bool(j, "use_sliding_window", src, false)) {
      c.sliding_window = get_int(j, "sliding_window", src, 0);
      c.max_window_layers = get_int(j, "max_window_layers", src, 28);
    }
  }
  c.bos_token_ids = get_ids(j, "bos_token_id", src);
  c.eos_token_ids = get_ids(j, "eos_token_id", src);
  c.pad_token_ids = get_ids(j, "pad_token_id", src);
  c.torch_dtype = get_string(j, "torch_dtype", src, get_string(j, "dtype", src, ""));
  c.initializer_range = get_double(j, "initializer_range", src, 0.02);
  c.hidden_act = get_string(j, "hidden_act", src, "silu");
  c.validate(src);
  return c;
}

void ModelConfig::validate(const std::string& src) const {
  auto positive = [&](int64_t v, const char* key) {
    DUO_CHECK(v > 0, "{}: key '{}' must be > 0; got {}", src, key, v);
  };
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(intermediate_size, "intermediate_size");
  positive(n_layers, "num_hidden_layers");
  positive(n_heads, "num_attention_heads");
  positive(n_kv_heads, "num_key_value_heads");
  positive(head_dim, "head_dim");
  DUO_CHECK(n_heads % n_kv_heads == 0,
            "{}: key 'num_attention_heads' ({}) must be a multiple of 'num_key_value_heads' ({}) "
            "(is num_key_value_heads right?)",
            src, n_heads, n_kv_heads);
  DUO_CHECK(head_dim % 2 == 0, "{}: key 'head_dim' must be even for RoPE; got {}", src, head_dim);
  DUO_CHECK(rms_norm_eps > 0, "{}: key 'rms_norm_eps' must be > 0; got {}", src, rms_norm_eps);
  DUO_CHECK(rope_theta > 1, "{}: key 'rope_theta' must be > 1; got {}", src, rope_theta);
  DUO_CHECK(sliding_window >= 0, "{}: key 'sliding_window' must be >= 0 or null; got {}", src, sliding_window);
  DUO_CHECK(hidden_act == "silu", "{}: key 'hidden_act' '{}' is not supported; expected silu", src, hidden_act);
  DUO_CHECK(initializer_range >= 0, "{}: key 'initializer_range' must be >= 0; got {}", src, initializer_range);
  DUO_CHECK(std::isfinite(rms_norm_eps) && std::isfinite(rope_theta) && std::isfinite(initializer_range),
            "{}: keys 'rms_norm_eps', 'rope_theta', 'initializer_range' must be finite; got {}, {}, {}", src,
            rms_norm_eps, rope_theta, initializer_range);
  positive(max_position_embeddings, "max_position_embeddings");
  DUO_CHECK(max_window_layers >= 0, "{}: key 'max_window_layers' must be >= 0; got {}", src, max_window_layers);
  if (!rope_scaling.type.empty()) {
    const RopeScaling& r = rope_scaling;
    DUO_CHECK(std::isfinite(r.factor) && std::isfinite(r.low_freq_factor) && std::isfinite(r.high_freq_factor) &&
                  std::isfinite(r.attention_factor) && std::isfinite(r.beta_fast) && std::isfinite(r.beta_slow) &&
                  std::isfinite(r.mscale) && std::isfinite(r.mscale_all_dim),
              "{}: rope_scaling values must be finite numbers", src);
  }
  // Sizes whose parameter count overflows int64 (n_params()) cannot be a real model: refuse them
  // before anything is built. Loading then bounds num_hidden_layers by the checkpoint's tensors
  // and Model::random the weights by the machine's memory.
  constexpr int64_t kMaxParams = int64_t{1} << 62;
  const double params = static_cast<double>(vocab_size) * static_cast<double>(hidden_size) * 2.0 +
                        static_cast<double>(n_layers) *
                            (4.0 * static_cast<double>(hidden_size) * static_cast<double>(n_heads) *
                                 static_cast<double>(head_dim) +  // in double: n_heads * head_dim may overflow
                             3.0 * static_cast<double>(hidden_size) * static_cast<double>(intermediate_size));
  DUO_CHECK(params < static_cast<double>(kMaxParams) && n_heads <= kMaxParams / head_dim,
            "{}: the sizes (vocab_size {}, hidden_size {}, intermediate_size {}, num_hidden_layers {}, "
            "num_attention_heads {}, head_dim {}) give {:.3g} parameters; expected fewer than {:.3g} "
            "(is a size a typo?)",
            src, vocab_size, hidden_size, intermediate_size, n_layers, n_heads, head_dim, params,
            static_cast<double>(kMaxParams));
}

ModelConfig ModelConfig::load(const std::filesystem::path& path) {
  std::filesystem::path file = std::filesystem::is_directory(path) ? path / "config.json" : path;
  DUO_CHECK(std::filesystem::exists(file), "{}: file not found; expected a Hugging Face config.json", file.string());
  return from_json(io::read_json(file), file.string());
}

int64_t ModelConfig::n_params() const {
  const int64_t h = hidden_size, f = intermediate_size;
  int64_t attn = h * q_dim() + 2 * h * kv_dim() + q_dim() * h;
  if (qkv_bias) attn += q_dim() + 2 * kv_dim();
  if (o_bias) attn += h;
  if (qk_norm) attn += 2 * head_dim;
  int64_t mlp = 3 * h * f + (mlp_bias ? 2 * f + h : 0);
  int64_t layer = attn + mlp + 2 * h;
  int64_t total = n_layers * layer + vocab_size * h + h;
  if (!tie_word_embeddings) total += vocab_size * h;
  return total;
}

json ModelConfig::to_json() const {
  json j;
  static const char* const kArch[] = {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM",
                                      "Qwen3ForCausalLM"};
  std::string arch = architecture;
  for (size_t i = 0; i < 4 && arch.empty(); ++i)
    if (model_type == kSupported[i]) arch = kArch[i];
  j["architectures"] = json::array({arch});
  j["model_type"] = model_type;
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = n_layers;
  j["num_attention_heads"] = n_heads;
  j["num_key_value_heads"] = n_kv_heads;
  j["head_dim"] = head_dim;
  j["rms_norm_eps"] = rms_norm_eps;
  j["rope_theta"] = rope_theta;
  j["max_position_embeddings"] = max_position_embeddings;
  j["hidden_act"] = hidden_act;
  j["initializer_range"] = initializer_range;
  j["tie_word_embeddings"] = tie_word_embeddings;
  if (!torch_dtype.empty()) j["torch_dtype"] = torch_dtype;
  if (rope_scaling.none()) {
    j["rope_scaling"] = nullptr;
  } else {
    json rs;
    rs["rope_type"] = rope_scaling.type;
    rs["factor"] = rope_scaling.factor;
    if (rope_scaling.type == "llama3") {
      rs["low_freq_factor"] = rope_scaling.low_freq_factor;
      rs["high_freq_factor"] = rope_scaling.high_freq_factor;
      rs["original_max_position_embeddings"] = rope_scaling.original_max_position_embeddings;
    } else if (rope_scaling.type == "yarn") {
      rs["original_max_position_embeddings"] = rope_scaling.original_max_position_embeddings;
      if (rope_scaling.attention_factor > 0) rs["attention_factor"] = rope_scaling.attention_factor;
      rs["beta_fast"] = rope_scaling.beta_fast;
      rs["beta_slow"] = rope_scaling.beta_slow;
      if (rope_scaling.mscale > 0) rs["mscale"] = rope_scaling.mscale;
      if (rope_scaling.mscale_all_dim > 0) rs["mscale_all_dim"] = rope_scaling.mscale_all_dim;
      rs["truncate"] = rope_scaling.truncate;
    }
    j["rope_scaling"] = rs;
  }
  if (model_type == "llama") {
    j["attention_bias"] = qkv_bias;
    j["mlp_bias"] = mlp_bias;
  } else if (model_type == "qwen3") {
    j["attention_bias"] = qkv_bias;
  }
  if (model_type == "mistral") {
    j["sliding_window"] = sliding_window > 0 ? json(sliding_window) : json(nullptr);
  } else if (model_type == "qwen2" || model_type == "qwen3") {
    j["use_sliding_window"] = sliding_window > 0;
    j["sliding_window"] = sliding_window > 0 ? json(sliding_window) : json(nullptr);
    j["max_window_layers"] = max_window_layers;
  }
  auto ids = [](const std::vector<int64_t>& v) -> json {
    if (v.empty()) return nullptr;
    if (v.size() == 1) return v[0];
    return v;
  };
  j["bos_token_id"] = ids(bos_token_ids);
  j["eos_token_id"] = ids(eos_token_ids);
  j["pad_token_id"] = ids(pad_token_ids);
  return j;
}

}  // namespace duo::model
