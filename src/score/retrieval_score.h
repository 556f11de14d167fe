// retrieval: the retrieval score of Wu et al. 2024 ("Retrieval Head Mechanistically Explains
// Long-Context Factuality", arXiv 2404.15574; official code nightdessert/Retrieval_Head,
// retrieval_head_detection.py). The model answers needle-in-a-haystack prompts greedily; at each
// generation step the query that produces token w (the last token fed) is a *copy event* for a
// head when the head's top-1 attended position p lies inside the needle and the prompt's token
// there equals w (the head copy-pastes w from the needle). A prompt's score for a head is
//   hits / needle tokens
// (the official normalization: each hit adds 1 / (needle_end - needle_start)), capped at 1, and a
// head's score is the mean over the prompts.
//
// Generation is greedy with every head full (runtime/decoder.h); the attention of those steps is
// then recomputed in one forward pass over prompt + generated tokens (a causal model attends
// exactly as it did while generating), and only the rows of the generating queries are reduced
// (score/attention_stats.h: row_argmax, blockwise over keys).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "eval/niah.h"
#include "mask/gate_table.h"
#include "model/model.h"
#include "score/layer_trace.h"
#include "tokenizer/tokenizer.h"

namespace duo::score {

// One answer to one prompt.
struct CopyTrace {
  std::vector<int64_t> ids;        // the prompt's tokens
  int64_t needle_begin = 0;        // [needle_begin, needle_end): the needle's tokens in ids
  int64_t needle_end = 0;
  std::vector<int64_t> generated;  // [S] greedy tokens; generated[s] comes from the query at ids.size() - 1 + s
};

// The hit rule on one trace for one layer: top1 [Hq, S] (int64) is each head's top-1 key position
// for the query that produced generated[s]. Returns hits per head [Hq]: the steps s where
// needle_begin <= top1[h][s] < needle_end and ids[top1[h][s]] == generated[s].
std::vector<int64_t> retrieval_hits(const at::Tensor& top1, const CopyTrace& trace);

// The top-1 key positions of the generating queries, per layer: [L] x [Hq, S] int64.
std::vector<at::Tensor> generation_top1(const QkSource& src, const CopyTrace& trace, int64_t block);

// Scores [n_layers, n_heads] (query heads) from traces, through `src`.
mask::GateTable retrieval_scores(const QkSource& src, const std::vector<CopyTrace>& traces, int64_t block,
                                 bool quiet = true);

// Builds the traces: the prompts of `opts` (score_prompts.h), answered greedily by `model` with
// every head full (up to opts.max_new_tokens tokens, stopping at an EOS).
std::vector<CopyTrace> generate_copy_traces(const model::Model& model, const tokenizer::Tokenizer& tok,
                                            const eval::NiahEvalOptions& opts, bool quiet = true);

}  // namespace duo::score
