// Multi-passkey training samples (DuoAttention section 3.2; official generator
// mit-han-lab/duo-attention duo_attn/data.py, MultiplePasskeyRetrievalDataset).
//
// One sample, in tokens:
//   [BOS] prompt_prefix
//   hay[0:p1] sep needle_1(key_1) sep hay[p1:p2] sep needle_2(key_2) sep ... hay[pk:h]
//   pad (the last `pad` tokens of the trimmed haystack, official)   prompt_suffix
//   question_1 key_1 sep  question_2 key_2 sep ... question_k key_k sep
// where h = min(context length, trimmed haystack), p_i = floor(h * depth_i) for depth ratios drawn
// without replacement from linspace(min_depth, max_depth, depth_intervals) and sorted, and the
// pad makes the length a multiple of pad_to_multiple_of (the official code always pads 1..16
// tokens, 16 when the length is already a multiple; kept).
//
// Labels: label_mask is 1 on the question-and-answer block, every "question_i key_i sep" run at
// the end (the official `labels` are exactly these `qa_tokens`, separators included; set
// label_separators: false to leave the separators out), 0 everywhere else.
//
// Lengths: every sample is at most context_max tokens. The official code trims the haystack to
// context_max - buffer_size - (prompt, needle and question tokens of one sample key) and relies
// on the buffer; here a sample that would still exceed context_max (keys tokenize to different
// lengths) loses haystack tokens until it fits.
//
// Determinism: sample i draws from std::mt19937_64(mix_seed(seed, i)), and the order of context
// lengths is one fresh permutation of the linspace values per `context_intervals` samples (the
// official DataLoader shuffles its 50-length dataset each epoch), so same options -> same tokens.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

#include "data_gen/gen_options.h"
#include "data_gen/passkey.h"

namespace duo::data_gen {

struct PasskeySample {
  std::vector<int32_t> input_ids;       // [T]
  std::vector<uint8_t> label_mask;      // [T] 1 on question + answer (+ separator) tokens
  std::vector<std::string> passkeys;    // [k] in needle order
  std::vector<double> depths;           // [k] depth ratios, ascending
  std::vector<int64_t> needle_starts;   // [k] index in input_ids of each needle's first token
  std::vector<int64_t> needle_ends;     // [k] one past each needle's last token
  std::vector<int64_t> question_starts; // [k] index in input_ids of each question's first token
  int64_t context_length = 0;           // the linspace value drawn for this sample
  int64_t haystack_length = 0;          // h: haystack tokens the needles are spread over
  // The answer string: the passkeys joined by "\n".
  std::string answer() const;
};

// Integer linspace as torch.linspace(start, end, n, dtype=int) defines it: computed in double from
// both ends (the first half from start, the second from end) and truncated toward zero. (Torch's
// int32 SIMD path rounds the step inside each vector chunk, which can move values by one
// depending on the CPU; that quirk is not reproduced.)
std::vector<int64_t> linspace_int(int64_t start, int64_t end, int64_t n);
// Double linspace (numpy-style, both ends included).
std::vector<double> linspace(double start, double end, int64_t n);

class PasskeySampleGenerator {
 public:
  // Validates `opts`, tokenizes the templates and the haystack once. Throws duo::Error on bad
  // options, a missing or empty haystack, or a context_max too short for the needles.
  PasskeySampleGenerator(const tokenizer::Tokenizer& tok, GenOptions opts);

  // Sample `index` in [0, num_samples): a pure function of the options and the index.
  PasskeySample sample(int64_t index) const;

  const GenOptions& options() const { return opts_; }
  const std::vector<int64_t>& context_lengths() const { return context_lengths_; }  // linspace values
  const std::vector<double>& depth_ratios() const { return depth_ratios_; }
  int64_t context_length_of(int64_t index) const;
  // Haystack tokens after the official trim (the largest h any sample can use).
  int64_t haystack_size() const { return static_cast<int64_t>(haystack_.size()); }
  // Prompt, needle and question tokens of one sample (the official trim's estimate, plus the
  // separator after each answer), measured with one probe key.
  int64_t fixed_tokens_estimate() const { return fixed_estimate_; }

 private:
  tokenizer::Tokenizer tok_;  // shares the loaded tokenizer (cheap copy)
  GenOptions opts_;
  std::vector<int64_t> context_lengths_;
  std::vector<double> depth_ratios_;
  std::vector<int64_t> schedule_;            // [num_samples] index into context_lengths_
  std::vector<int32_t> haystack_;            // trimmed haystack tokens
  std::vector<int32_t> prefix_;              // BOS + prompt_prefix
  std::vector<int32_t> suffix_;              // prompt_suffix
  std::vector<int32_t> separator_;
  std::vector<TokenTemplate> needles_;       // [k] per ordinal
  std::vector<TokenTemplate> questions_;     // [k] per ordinal
  int64_t fixed_estimate_ = 0;
};

// Checks `opts` alone (no tokenizer needed); throws duo::Error naming the key.
void validate_options(const GenOptions& opts);

}  // namespace duo::data_gen
