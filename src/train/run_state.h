// The resumable state of a gate-training run: <run>/checkpoint/state.h5 holds the gates, the
// AdamW moments and step, the data-order state, the history so far and the options that must not
// change on resume. Written atomically; a run resumed from it continues bit for bit. (The folder
// keeps its on-disk name "checkpoint"; in the code a checkpoint is a Hugging Face model.)
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "optim/adamw.h"
#include "train/history.h"

namespace duo::train {

// The one parameter the gate trainer optimises, as named in the AdamW state.
inline constexpr const char* kGatesName = "gates";

struct GateRunState {
  int64_t step = 0;          // completed optimizer steps
  at::Tensor gates;          // [L, Hkv] float32, raw (unclamped) after the last step
  optim::AdamWState adam;    // moments of "gates" ([L, Hkv] float32) and step count
  int64_t seed = 0;          // data-order seed
  uint64_t data_epoch = 0;   // data-order state: epoch of the next sample...
  uint64_t data_pos = 0;     // ...and position inside it
  History history;
  std::string fingerprint;   // options that must match on resume (model, data, steps, lr, ...)
};

// HDF5 layout: datasets "gates", "adam_m", "adam_v", "history/..."; attributes "step",
// "adam_step", "seed", "data_epoch", "data_pos", "fingerprint".
void save_run_state(const std::filesystem::path& path, const GateRunState& s);
GateRunState load_run_state(const std::filesystem::path& path);

}  // namespace duo::train
