// NIAH prompts for the scorers (see score_prompts.h).
#include "score/score_prompts.h"

#include <algorithm>

namespace duo::score {

std::vector<data_gen::NiahPrompt> build_score_prompts(const tokenizer::Tokenizer& tok, const eval::NiahEvalOptions& opts) {
  eval::check_niah_options(opts);
  const int64_t max_len = *std::max_element(opts.context_lengths.begin(), opts.context_lengths.end());
  std::vector<data_gen::NiahPromptBuilder> builders;
  for (int64_t i = 0; i < opts.samples; ++i) {
    data_gen::NiahOptions o = opts.prompt;
    o.kind = opts.kind;
    o.seed = opts.prompt.seed + i;
    builders.emplace_back(tok, o, max_len);
  }
  std::vector<data_gen::NiahPrompt> out;
  for (double depth : opts.depth_percents)
    for (int64_t len : opts.context_lengths)
      for (const auto& b : builders) out.push_back(b.build(len, depth));
  return out;
}

}  // namespace duo::score
