// Classic passkey samples for pretraining and recall evaluation (data_gen's generator with
// GenOptions::classic()): where the answer sits in a sample, and the per-token loss weights.
//
// A classic sample reads "<s> There is an important info ... <filler> The pass key is 7 1 4 3 2 .
// Remember it . 7 1 4 3 2 is the pass key . <filler> What is the pass key ? The pass key is
// 7 1 4 3 2": the answer span is the key after the question, predicted from the token before it.
#pragma once

#include <cstdint>
#include <vector>

#include "data_gen/gen_options.h"
#include "data_gen/passkey_samples.h"

namespace duo::tokenizer {
class Tokenizer;
}

namespace duo::pretrain {

// Tokens [start, start + length) of a sample.
struct Span {
  int64_t start = 0;
  int64_t length = 0;
  int64_t end() const { return start + length; }
};

// Classic options whose samples hold between about total_min and total_max tokens (everything
// included), lengths linspace over `intervals` values, needle depths from
// linspace(min_depth, max_depth, depth_intervals), `num_samples` samples drawn from `seed`,
// keys of `key_digits` digits (the classic test uses 5).
data_gen::GenOptions classic_options(int64_t total_min, int64_t total_max, int64_t intervals, double min_depth,
                                     double max_depth, int64_t depth_intervals, int64_t num_samples, int64_t seed,
                                     int64_t key_digits = 5);

// Classic options for one evaluation cell: every sample is as long as fits in `length` tokens
// (at most `length`, at least length - 16), its needle at depth ratio `depth`. Needs the tokenizer
// to size the haystack exactly.
data_gen::GenOptions classic_cell_options(const tokenizer::Tokenizer& tok, int64_t length, double depth,
                                          int64_t num_samples, int64_t seed);

// The first passkey's tokens after its question. Throws when the sample does not hold them.
Span answer_span(const tokenizer::Tokenizer& tok, const data_gen::PasskeySample& s);
// The first copy of the first passkey inside its needle (random digits nobody can predict).
Span needle_key_span(const tokenizer::Tokenizer& tok, const data_gen::PasskeySample& s);

// One training sequence: ids and the weight of each next-token prediction.
struct WeightedSequence {
  std::vector<int64_t> ids;     // [T]
  std::vector<float> weights;   // [T - 1]: weights[t] weighs predicting ids[t + 1] from ids[0..t]
  Span answer;                  // answer tokens (targets), inside ids
};

// Weights: answer tokens `answer_weight`; the needle's first key copy 0 (unpredictable);
// every other token `lm_weight`.
//
// `needle_copies` > 0 repeats the whole needle that many more times, each copy inserted at a
// sentence start (after a ".") between the needle and the question, the places drawn from
// `copy_seed` (fewer copies when fewer places exist). The first key of each copy is a
// long-range recall of the original and weighs `answer_weight`; the answer follows the last copy.
// Repeated needles make copying dense in the data, which is what lets a small model grow the copy
// circuit (induction heads) early; later curriculum stages use none.
WeightedSequence make_weighted_sequence(const tokenizer::Tokenizer& tok, const data_gen::PasskeySample& s,
                                        double answer_weight, double lm_weight, int64_t needle_copies = 0,
                                        uint64_t copy_seed = 0);

}  // namespace duo::pretrain
