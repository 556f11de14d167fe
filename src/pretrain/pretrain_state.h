// The resumable state of a pretraining run: one safetensors file (<out>/checkpoint.safetensors,
// its on-disk name) holding everything a run needs to continue bit for bit: the weights
// ("param.<hf name>"), AdamW's moments ("adam_m.<name>", "adam_v.<name>") and, in the metadata,
// the step, AdamW's step count and the resolved options (YAML). The data needs no state of its
// own: a batch is a pure function of (options, step). Written atomically (temp file + rename), so
// a crash leaves the previous state intact.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "optim/adamw.h"

namespace duo::pretrain {

struct PretrainState {
  int64_t step = 0;          // steps completed
  std::string options_yaml;  // the resolved options of the run that wrote it
};

// Writes the optimizer's parameters and moments and `state` to `path`.
void save_pretrain_state(const std::filesystem::path& path, const optim::AdamW& opt, const PretrainState& state);

// Copies weights and moments from `path` into the optimizer's parameters (shapes checked, every
// parameter required) and returns the step and options.
PretrainState load_pretrain_state(const std::filesystem::path& path, optim::AdamW& opt);

}  // namespace duo::pretrain
