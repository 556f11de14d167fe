// The prompts the retrieval and attention-mass scorers read: duo's own NIAH / passkey prompts
// (data_gen/niah.h), one per (context length, depth, sample) of an eval grid, built exactly as
// `duo niah` builds them (sample i of a cell draws its key from prompt.seed + i).
#pragma once

#include <vector>

#include "data_gen/niah.h"
#include "eval/niah.h"
#include "tokenizer/tokenizer.h"

namespace duo::score {

std::vector<data_gen::NiahPrompt> build_score_prompts(const tokenizer::Tokenizer& tok, const eval::NiahEvalOptions& opts);

}  // namespace duo::score
