// The --model and --mask specs of the run commands (decode, niah, sweep, bench).
//
// A model spec is a model folder (config.json + safetensors), a preset YAML file
// (configs/models/*.yaml, random weights), or a preset name looked up as
// configs/models/<name>.yaml (relative to the working directory). A mask spec is "" / "full"
// (every head full), a mask folder written by `duo export` (full_attention_heads.tsv +
// config.json with its deploy window as sink_size / recent_size), or "random:S[:seed]" for a
// random mask with a fraction S of streaming heads (rounded to whole heads; the deploy window
// from the caller).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/stream_window.h"
#include "model/model.h"
#include "runtime/head_layout.h"

namespace duo::cli {

struct LoadedModel {
  model::Model model;
  bool random = false;             // built from a preset with random weights
  std::filesystem::path dir;       // the model folder ("" for presets)
  std::string description;         // "models/tiny" or "preset configs/models/x.yaml (random weights)"
};

// Resolves a model spec (see the file comment). Presets use Model::random(cfg, seed).
// weight_dtype (StorageOptions): "auto" keeps a model folder's bf16/f16 weight matrices in 16
// bits under fp32 compute (random presets: the compute dtype); "fp32" / "bf16" / "f16" store
// them so (16 bits: fp32 compute only). Errors name `what` (e.g. "decode: key 'weight_dtype'").
LoadedModel load_model_spec(const std::string& spec, at::ScalarType dtype, uint64_t seed = 0,
                            const std::string& weight_dtype = "auto",
                            const std::string& what = "key 'weight_dtype' (--weight-dtype)");

struct LoadedMask {
  runtime::HeadLayout layout;
  std::string description;  // "full", "masks/x (sparsity 0.750, sink 64, recent 256)", "random:0.75"
};

// Resolves a mask spec for a model of [n_layers, n_kv_heads]; a mask folder of another shape is
// refused with both shapes. `window` is the deploy window of "random:" masks (folders carry their
// own).
LoadedMask load_mask_spec(const std::string& spec, int64_t n_layers, int64_t n_kv_heads,
                          StreamWindow window = kDeployWindow);

}  // namespace duo::cli
