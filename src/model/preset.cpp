// YAML presets -> config.json documents, and random checkpoints (see preset.h).
#include "model/preset.h"

#include <yaml-cpp/yaml.h>

#include <ATen/ATen.h>

#include <cmath>
#include <regex>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_checks.h"
#include "io/checkpoint.h"
#include "io/json.h"
#include "model/model.h"
#include "model/model_config.h"

namespace duo::model {
namespace {

using nlohmann::json;

json scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: always a string
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat("[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?");
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (std::regex_match(text, kInt)) return std::stoll(text);
  if (std::regex_match(text, kFloat)) return std::stod(text);
  return text;
}

json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& e : node) a.push_back(yaml_to_json(e));
      return a;
    }
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : node) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return o;
    }
  }
  return nullptr;
}

bool is_weight_file(const std::string& name) {
  static const std::regex kShard("model-[0-9]+-of-[0-9]+\\.safetensors");
  return name == "model.safetensors" || name == "model.safetensors.index.json" || std::regex_match(name, kShard);
}

}  // namespace

json read_preset(const std::filesystem::path& path) {
  std::string text = core::read_file(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail("{}: invalid YAML at line {}, column {}: {}", path.string(), e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  DUO_CHECK(root.IsMap(), "{}: expected a mapping of config.json keys; got {}", path.string(),
            root.IsNull() ? "an empty file" : "a list or a scalar");
  return yaml_to_json(root);
}

void write_random_checkpoint(const json& config, const std::filesystem::path& out_dir, uint64_t seed,
                             at::ScalarType dtype, uint64_t shard_bytes) {
  DUO_CHECK(dtype == at::kFloat || dtype == at::kBFloat16 || dtype == at::kHalf,
            "make-checkpoint: dtype must be float32, bfloat16 or float16; got {}", dtype_name(dtype));
  core::check_output_folder(out_dir);
  json doc = config;
  doc["torch_dtype"] = dtype_name(dtype);
  const ModelConfig cfg = ModelConfig::from_json(doc, (out_dir / "config.json").string());
  Model m = Model::random(cfg, seed);
  std::vector<std::pair<std::string, at::Tensor>> weights;
  for (auto& [name, w] : m.named_weights()) weights.emplace_back(name, w.to(dtype));

  std::filesystem::create_directories(out_dir);
  for (const auto& e : std::filesystem::directory_iterator(out_dir)) {
    if (e.is_regular_file() && is_weight_file(e.path().filename().string())) std::filesystem::remove(e.path());
  }
  if (shard_bytes > 0) {
    io::write_sharded_checkpoint(out_dir, weights, shard_bytes);
  } else {
    io::write_safetensors(out_dir / "model.safetensors", weights, {{"format", "pt"}});
  }
  io::write_json(out_dir / "config.json", doc);  // last: a folder with config.json is complete
}

}  // namespace duo::model
