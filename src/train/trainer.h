// `duo train`: the gate-training loop (DESIGN.md section 1).
//
// Per step: clamp the gates to [0, 1]; take the next sample; two-way forward and backward
// (train/two_way.h); stop with a clear error on a NaN or Inf loss (the last good checkpoint stays);
// AdamW at the scheduled learning rate; record the history. Every checkpoint_every steps and at
// the end, <output_dir>/checkpoint/state.h5 is written (atomically). At the end the run folder
// holds full_attention_heads.tsv (raw gates, official format), config.json, config.yaml,
// history.h5 and gates.svg.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>

#include "model/model.h"
#include "train/options.h"
#include "train/samples.h"

namespace duo::train {

struct TrainResult {
  std::filesystem::path output_dir;
  int64_t steps = 0;       // steps completed in total
  at::Tensor gates;        // [L, Hkv] float32 after the last step (unclamped, as official)
  double last_distill = 0.0;
  double last_reg = 0.0;
};

// Runs (or, with resume, continues) training. `resolved_yaml` is written as config.yaml; quiet:
// no progress line.
TrainResult run_training(const TrainOptions& opts, const model::Model& model, const SampleSource& samples,
                         bool resume, const std::string& resolved_yaml, bool quiet);

// Official-format config.json for the run (sink_size, recent_size, lr, num_steps, ... plus ours).
std::string run_config_json(const TrainOptions& opts, const model::Model& model, const SampleSource& samples);

}  // namespace duo::train
