// Where training samples come from: a dataset file written by `duo gen-data`, or samples
// generated on the fly from a data_gen config (each sample a pure function of its index).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>

#include "train/options.h"

namespace duo::train {

struct TrainSample {
  at::Tensor ids;         // [T] int64
  at::Tensor label_mask;  // [T] bool, true on the tokens the loss compares
};

class SampleSource {
 public:
  virtual ~SampleSource() = default;
  virtual int64_t size() const = 0;
  virtual TrainSample get(int64_t index) const = 0;
  virtual std::string describe() const = 0;  // for logs and config.json
};

// From opts.dataset or opts.data_config (exactly one must be set). Every sample's ids are
// checked against the model's vocabulary and must hold at least one label token.
std::unique_ptr<SampleSource> open_samples(const TrainOptions& opts, int64_t vocab_size);

}  // namespace duo::train
