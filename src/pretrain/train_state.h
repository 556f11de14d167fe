// The pretraining checkpoint: one safetensors file holding everything a run needs to continue
// bit for bit: the weights ("param.<hf name>"), AdamW's moments ("adam_m.<name>",
// "adam_v.<name>") and, in the metadata, the step, the seed and the resolved options (YAML).
// The data needs no state of its own: a batch is a pure function of (options, step). Written
// atomically (temp file + rename), so a crash leaves the previous checkpoint intact.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "pretrain/adamw.h"

namespace duo::pretrain {

struct TrainState {
  int64_t step = 0;          // steps completed
  std::string options_yaml;  // the resolved options of the run that wrote it
};

// Writes the optimizer's parameters and moments and `state` to `path`.
void save_train_state(const std::filesystem::path& path, const AdamW& opt, const TrainState& state);

// Copies weights and moments from `path` into the optimizer's parameters (shapes checked, every
// parameter required) and returns the step and options.
TrainState load_train_state(const std::filesystem::path& path, AdamW& opt);

}  // namespace duo::pretrain
