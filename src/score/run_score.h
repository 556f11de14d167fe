// `duo score`'s library entry: runs one training-free scorer on a model and returns the scores per
// query head and per KV head (head_scores.h), ready to be written.
#pragma once

#include "model/model.h"
#include "score/head_scores.h"
#include "score/score_options.h"
#include "tokenizer/tokenizer.h"

namespace duo::score {

// Checks the options (check_score_options), then scores every head with opts.method.
ScoreResult run_score(const model::Model& model, const tokenizer::Tokenizer& tok, const ScoreOptions& opts,
                      bool quiet = true);

}  // namespace duo::score
