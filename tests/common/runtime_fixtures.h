// Shared fixtures for the runtime and eval tests: a small random Llama-family model with peaked
// logits, random prompt ids, and a mixed head mask.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "common/tiny_checkpoint.h"
#include "mask/gate_table.h"
#include "model/model.h"
#include "model/model_config.h"

namespace duo::testing {

// A random model of tiny_config(type) (2 KV heads), `layers` layers, optional sliding window.
inline model::Model tiny_model(const std::string& type = "llama", int64_t window = 0, int64_t layers = 2,
                               at::ScalarType dtype = at::kFloat) {
  auto j = tiny_config(type);
  j["initializer_range"] = 0.2;  // peaked logits, so greedy choices are not near-ties
  j["num_hidden_layers"] = layers;
  if (window > 0) j["sliding_window"] = window;
  model::LoadOptions lo;
  lo.dtype = dtype;
  return model::Model::random(model::ModelConfig::from_json(j), /*seed=*/7, lo);
}

// [t] int64 ids in [1, vocab).
inline at::Tensor random_ids(int64_t t, int64_t vocab, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  return at::randint(1, vocab, {t}, gen, at::TensorOptions().dtype(at::kLong));
}

// Mixed mask: layer l keeps KV head (l + 1) % heads full, every other head streams.
inline mask::GateTable mixed_mask(int64_t layers, int64_t heads) {
  mask::GateTable t;
  t.n_layers = layers;
  t.n_kv_heads = heads;
  t.values.assign(static_cast<size_t>(layers * heads), 0.0);
  for (int64_t l = 0; l < layers; ++l) t.at(l, (l + 1) % heads) = 1.0;
  return t;
}

}  // namespace duo::testing
