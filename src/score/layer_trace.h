// One full-attention forward pass that shows each layer's queries and keys to an observer: the
// seam every training-free scorer reads attention through. The forward is the model's own
// (model.h: attn_norm -> qkv with RoPE at absolute positions -> attention::attend -> attn_out ->
// mlp_block), every head full, no autograd; only the observer sees q and k.
//
// Tests substitute a hand-built QkSource (queries and keys set by hand so that the answer is
// known) for the model.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "model/model.h"

namespace duo::score {

// Called once per layer l with q [Hq, T, D] and k [Hkv, T, D] (RoPE applied) and the layer's own
// sliding window (0 = none).
using LayerObserver = std::function<void(int64_t l, const at::Tensor& q, const at::Tensor& k, int64_t sliding_window)>;

// Something that yields per-layer queries and keys for a token sequence.
struct QkSource {
  int64_t n_layers = 0;
  int64_t n_heads = 0;     // query heads per layer
  int64_t n_kv_heads = 0;  // KV heads per layer
  std::function<void(const std::vector<int64_t>& ids, const LayerObserver& observe)> run;
};

// The model's forward as a QkSource.
QkSource model_qk_source(const model::Model& model);

}  // namespace duo::score
