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
// Reads state.h5 and checks it whole (run_state_from).
GateRunState load_run_state(const std::filesystem::path& path);

// state.h5's items as read, before any check.
struct RunStateItems {
  at::Tensor gates, adam_m, adam_v;  // as stored: any shape, converted to float32
  int64_t step = 0, adam_step = 0, seed = 0, data_epoch = 0, data_pos = 0;
  std::string fingerprint;
  History history;
};
// Checks the items and builds the state: gates [L, Hkv] with moments of the same shape, every
// value finite, second moments >= 0, counts >= 0, a history of exactly `step` steps whose gates are
// [step, L, Hkv]. A checkpoint is resumed only when sound: a NaN here would otherwise surface steps
// later as a "non-finite loss", blaming the data and calling this file the last good one.
// Errors name `path`.
GateRunState run_state_from(const std::filesystem::path& path, RunStateItems items);

}  // namespace duo::train
