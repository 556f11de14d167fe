// The pretraining data: classic passkey samples in stages of growing context length
// (PretrainOptions::curriculum). A batch is a pure function of the options and the step, so that
// a resumed run sees exactly the data an uninterrupted one would.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "data_gen/passkey_samples.h"
#include "pretrain/passkey_data.h"
#include "pretrain/pretrain_options.h"

namespace duo::tokenizer {
class Tokenizer;
}

namespace duo::pretrain {

class Curriculum {
 public:
  // Keeps a reference to `tok`.
  Curriculum(const tokenizer::Tokenizer& tok, const PretrainOptions& o);

  int64_t stage_of(int64_t step) const;  // throws outside [0, total steps)
  int64_t stage_start(int64_t stage) const;
  // The training sequences of `step` (stage_batch of its stage).
  std::vector<WeightedSequence> batch(int64_t step) const;

 private:
  const tokenizer::Tokenizer& tok_;
  PretrainOptions opts_;
  std::vector<std::unique_ptr<data_gen::PasskeySampleGenerator>> gens_;  // one per stage
};

}  // namespace duo::pretrain
