// HeadLayout: which KV heads of each layer are retrieval (full) heads and which are streaming
// heads, plus the deploy window the streaming heads keep. Built from a binary mask (1 full, 0 streaming; see
// mask/mask_dir.h) or from a model::AttentionPlan, and turned back into a plan so that the cached
// runtime and the whole-sequence forward (Model::logits) can be compared head for head.
#pragma once

#include <cstdint>
#include <vector>

#include "core/stream_window.h"
#include "mask/gate_table.h"
#include "model/model.h"

namespace duo::runtime {

struct HeadLayout {
  int64_t n_layers = 0;                       // model layers
  int64_t n_kv_heads = 0;                     // KV heads per layer
  StreamWindow window = kDeployWindow;        // streaming heads: the deploy window (unused when none streams)
  std::vector<std::vector<int64_t>> full;     // [L][Hf(l)] KV head indices, ascending
  std::vector<std::vector<int64_t>> stream;   // [L][Hs(l)] KV head indices, ascending

  // Every head full (plain attention; the window is unused).
  static HeadLayout all_full(int64_t n_layers, int64_t n_kv_heads);
  // From a binary mask [L, Hkv] (nonzero = full) and the window its streaming heads keep.
  static HeadLayout from_mask(const mask::GateTable& mask, StreamWindow window);
  // From a plan of per-layer LayerSpecs (empty plan = all full); gated specs are refused.
  static HeadLayout from_plan(const model::AttentionPlan& plan, int64_t n_layers, int64_t n_kv_heads);

  // Layer l's heads as a LayerSpec (kinds and window; the model adds its sliding window).
  attention::LayerSpec layer_spec(int64_t layer) const;
  // The same heads as a plan for Model::logits / hidden (one LayerSpec per layer).
  model::AttentionPlan to_plan() const;
  // The same heads as a binary GateTable (1 full, 0 streaming).
  mask::GateTable to_mask() const;

  int64_t n_full(int64_t layer) const { return static_cast<int64_t>(full[layer].size()); }
  int64_t n_stream(int64_t layer) const { return static_cast<int64_t>(stream[layer].size()); }
  int64_t total_full() const;
  int64_t total_stream() const;
};

}  // namespace duo::runtime
