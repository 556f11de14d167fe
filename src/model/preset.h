// Model presets and random checkpoints (`duo make-checkpoint`).
//
// A preset is a YAML file holding Hugging Face config.json keys (configs/models/*.yaml). Scalars
// are typed the YAML way: 64 is an integer, 1e-5 and 10000.0 are numbers, true/false booleans,
// null or ~ null, anything quoted a string.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>

namespace duo::model {

// Reads a preset into a config.json document (not yet validated; ModelConfig::from_json does).
nlohmann::json read_preset(const std::filesystem::path& path);

// Writes out_dir/config.json (the given document with torch_dtype set to `dtype`) and random
// weights (Model::random with `seed`, stored in `dtype`: float32, bfloat16 or float16), as
// model.safetensors, or as shards of at most shard_bytes plus model.safetensors.index.json when
// shard_bytes > 0. Stale model*.safetensors files and the index in out_dir are removed first.
// Validates the config before writing anything.
void write_random_checkpoint(const nlohmann::json& config, const std::filesystem::path& out_dir, uint64_t seed,
                             at::ScalarType dtype, uint64_t shard_bytes = 0);

}  // namespace duo::model
