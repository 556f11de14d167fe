// `duo train`: the gate-training loop (DESIGN.md section 1).
//
// Per step: clamp the gates to [0, 1]; take the next batch_size samples; two-way forward and
// backward on each (train/two_way.h), their gradients averaged in batch order (train/batch.h); stop with a clear error on a NaN or Inf loss (the last good checkpoint stays);
// AdamW at the scheduled learning rate; record the history. Every checkpoint_every steps and at
// the end, <output_dir>/checkpoint/state.h5 is written (atomically). At the end the run folder
// holds full_attention_heads.tsv (raw gates, official format), config.json, config.yaml,
// history.h5 and gates.svg.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>

#include "dist/group.h"
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
// The same as one rank of a multi-process run (dist/group.h): each step's batch_size samples are
// shared over the ranks and their gradients combined in batch order (train/batch.h), so the gates
// are the same, bit for bit, for every number of processes (at equal threads per process). Only
// rank 0 takes the run folder's lock and reads or writes files; it sends the other ranks the
// state (resumed or new), so --resume works with another number of processes. Every rank returns
// the same gates.
TrainResult run_training(const TrainOptions& opts, const model::Model& model, const SampleSource& samples,
                         bool resume, const std::string& resolved_yaml, bool quiet, const dist::Group& group);

// Official-format config.json for the run (sink_size, recent_size, lr, num_steps, ... plus ours).
std::string run_config_json(const TrainOptions& opts, const model::Model& model, const SampleSource& samples);

}  // namespace duo::train
