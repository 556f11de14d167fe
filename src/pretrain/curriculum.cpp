// Curriculum stages of classic passkey samples (see curriculum.h).
#include "pretrain/curriculum.h"

#include <random>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace duo::pretrain {

Curriculum::Curriculum(const tokenizer::Tokenizer& tok, const PretrainOptions& o) : tok_(tok), opts_(o) {
  validate_options(o);
  const auto& c = o.curriculum;
  for (size_t i = 0; i < c.stage_end.size(); ++i) {
    const int64_t steps = c.stage_end[i] - stage_start(static_cast<int64_t>(i));
    // Stage i draws from its own seed, so changing one stage leaves the others' data unchanged.
    const auto gen_opts = classic_options(c.stage_context_min[i], c.stage_context_max[i], /*intervals=*/16,
                                          c.min_depth, c.max_depth, /*depth_intervals=*/101,
                                          /*num_samples=*/steps * c.stage_batch[i], o.seed * 1000 + 17 * (i + 1),
                                          c.stage_passkey_length[i]);
    gens_.push_back(std::make_unique<data_gen::PasskeySampleGenerator>(tok, gen_opts));
  }
}

int64_t Curriculum::stage_start(int64_t stage) const {
  return stage == 0 ? 0 : opts_.curriculum.stage_end[static_cast<size_t>(stage - 1)];
}

int64_t Curriculum::stage_of(int64_t step) const {
  const auto& ends = opts_.curriculum.stage_end;
  for (size_t i = 0; i < ends.size(); ++i) {
    if (step < ends[i]) {
      DUO_CHECK(step >= 0, "curriculum: step must be >= 0; got {}", step);
      return static_cast<int64_t>(i);
    }
  }
  fail("curriculum: step {} is past the last stage (total steps {})", step, opts_.total_steps());
}

std::vector<WeightedSequence> Curriculum::batch(int64_t step) const {
  const int64_t stage = stage_of(step);
  const int64_t b = opts_.curriculum.stage_batch[static_cast<size_t>(stage)];
  const auto& gen = *gens_[static_cast<size_t>(stage)];
  std::vector<WeightedSequence> out;
  const auto& copies = opts_.curriculum.stage_needle_copies;
  const int64_t max_copies = copies.empty() ? 0 : copies[static_cast<size_t>(stage)];
  for (int64_t i = 0; i < b; ++i) {
    const int64_t index = (step - stage_start(stage)) * b + i;
    const auto s = gen.sample(index);
    // The copy count and places of sample `index` of `stage`: a pure function of the options.
    std::mt19937_64 rng(static_cast<uint64_t>(opts_.seed) * 0x9E3779B97F4A7C15ULL + 1000003ULL * stage + index);
    const int64_t n = max_copies > 0 ? static_cast<int64_t>(rng() % static_cast<uint64_t>(max_copies + 1)) : 0;
    out.push_back(make_weighted_sequence(tok_, s, opts_.answer_weight, opts_.lm_weight, n, rng()));
  }
  return out;
}

}  // namespace duo::pretrain
