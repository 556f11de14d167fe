// Training checkpoints: <run>/checkpoint/state.h5 holds the gates, the AdamW moments and step,
// the data-order state, the history so far and the options that must not change on resume.
// Written atomically; a run resumed from it continues bit for bit.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "train/adamw.h"
#include "train/history.h"

namespace duo::train {

struct TrainState {
  int64_t step = 0;          // completed optimizer steps
  at::Tensor gates;          // [L, Hkv] float32, raw (unclamped) after the last step
  AdamWState adam;           // moments and step count
  int64_t seed = 0;          // data-order seed
  uint64_t data_epoch = 0;   // data-order state: epoch of the next sample...
  uint64_t data_pos = 0;     // ...and position inside it
  History history;
  std::string fingerprint;   // options that must match on resume (model, data, steps, lr, ...)
};

void save_train_state(const std::filesystem::path& path, const TrainState& s);
TrainState load_train_state(const std::filesystem::path& path);

}  // namespace duo::train
