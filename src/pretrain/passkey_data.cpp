// Classic passkey samples: options, answer spans, loss weights (see passkey_data.h).
#include "pretrain/passkey_data.h"

#include <algorithm>
#include <random>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace duo::pretrain {
namespace {

// First occurrence of `needle` in ids[from, to).
int64_t find_tokens(const std::vector<int32_t>& ids, const std::vector<int32_t>& needle, int64_t from, int64_t to) {
  to = std::min<int64_t>(to, static_cast<int64_t>(ids.size()));
  auto n = static_cast<int64_t>(needle.size());
  for (int64_t i = std::max<int64_t>(from, 0); i + n <= to; ++i) {
    if (std::equal(needle.begin(), needle.end(), ids.begin() + i)) return i;
  }
  return -1;
}

std::vector<int32_t> key_tokens(const tokenizer::Tokenizer& tok, const data_gen::PasskeySample& s) {
  DUO_CHECK(!s.passkeys.empty() && !s.question_starts.empty() && !s.needle_starts.empty(),
            "passkey sample: expected at least one passkey, got {}", s.passkeys.size());
  auto key = tok.encode(s.passkeys[0], /*add_special_tokens=*/false);
  DUO_CHECK(!key.empty(), "passkey sample: passkey '{}' encodes to no tokens", s.passkeys[0]);
  return key;
}

}  // namespace

data_gen::GenOptions classic_options(int64_t total_min, int64_t total_max, int64_t intervals, double min_depth,
                                     double max_depth, int64_t depth_intervals, int64_t num_samples, int64_t seed,
                                     int64_t key_digits) {
  DUO_CHECK(total_min >= 64 && total_max >= total_min,
            "pretrain: sample lengths must satisfy 64 <= min <= max; got min {}, max {}", total_min, total_max);
  data_gen::GenOptions o = data_gen::GenOptions::classic();
  o.buffer_size = 0;
  o.passkey_length = key_digits;
  o.context_max = total_max;
  // context lengths count haystack tokens; the prompt, needle and question take ~45 + 3 keys more.
  o.context_min = std::max<int64_t>(8, total_min - 45 - 3 * key_digits);
  o.context_intervals = std::max<int64_t>(1, intervals);
  o.min_depth = min_depth;
  o.max_depth = max_depth;
  o.depth_intervals = std::max<int64_t>(1, depth_intervals);
  o.num_samples = num_samples;
  o.seed = seed;
  return o;
}

data_gen::GenOptions classic_cell_options(const tokenizer::Tokenizer& tok, int64_t length, double depth,
                                          int64_t num_samples, int64_t seed) {
  data_gen::GenOptions o = classic_options(length, length, 1, depth, depth, 1, num_samples, seed);
  // The haystack gets exactly what the prompt, needle and question leave free.
  o.context_min = 8;
  const data_gen::PasskeySampleGenerator probe(tok, o);
  o.context_min = std::max<int64_t>(8, length - probe.fixed_tokens_estimate());
  return o;
}

Span answer_span(const tokenizer::Tokenizer& tok, const data_gen::PasskeySample& s) {
  auto key = key_tokens(tok, s);
  int64_t at = find_tokens(s.input_ids, key, s.question_starts[0], static_cast<int64_t>(s.input_ids.size()));
  DUO_CHECK(at > 0, "passkey sample: the answer '{}' was not found after the question (at token {})", s.passkeys[0],
            s.question_starts[0]);
  return {at, static_cast<int64_t>(key.size())};
}

Span needle_key_span(const tokenizer::Tokenizer& tok, const data_gen::PasskeySample& s) {
  auto key = key_tokens(tok, s);
  int64_t at = find_tokens(s.input_ids, key, s.needle_starts[0], s.needle_ends[0]);
  DUO_CHECK(at > 0, "passkey sample: the key '{}' was not found in its needle (tokens {}..{})", s.passkeys[0],
            s.needle_starts[0], s.needle_ends[0]);
  return {at, static_cast<int64_t>(key.size())};
}

WeightedSequence make_weighted_sequence(const tokenizer::Tokenizer& tok, const data_gen::PasskeySample& s,
                                        double answer_weight, double lm_weight, int64_t needle_copies,
                                        uint64_t copy_seed) {
  WeightedSequence out;
  out.ids.assign(s.input_ids.begin(), s.input_ids.end());
  out.answer = answer_span(tok, s);
  const Span hidden = needle_key_span(tok, s);
  std::vector<Span> recalls;  // keys of needle copies (after insertion)
  if (needle_copies > 0) {
    const auto dot = tok.encode(".", /*add_special_tokens=*/false);
    DUO_CHECK(dot.size() == 1, "passkey sample: '.' must be one token, got {}", dot.size());
    const int64_t ns = s.needle_starts[0], ne = s.needle_ends[0], q = s.question_starts[0];
    std::vector<int64_t> places;  // sentence starts after the needle, before the question
    for (int64_t p = ne + 1; p <= q; ++p) {
      if (out.ids[static_cast<size_t>(p - 1)] == dot[0]) places.push_back(p);
    }
    std::mt19937_64 rng(copy_seed);
    std::shuffle(places.begin(), places.end(), rng);
    places.resize(static_cast<size_t>(std::min<int64_t>(needle_copies, static_cast<int64_t>(places.size()))));
    std::sort(places.begin(), places.end());
    const std::vector<int64_t> needle(out.ids.begin() + ns, out.ids.begin() + ne);
    const int64_t n = ne - ns, key_offset = hidden.start - ns;
    // Insert from the back so that earlier places keep their indices.
    for (auto it = places.rbegin(); it != places.rend(); ++it) {
      out.ids.insert(out.ids.begin() + *it, needle.begin(), needle.end());
    }
    for (size_t c = 0; c < places.size(); ++c) {
      recalls.push_back({places[c] + static_cast<int64_t>(c) * n + key_offset, hidden.length});
    }
    out.answer.start += static_cast<int64_t>(places.size()) * n;
  }
  const auto t = static_cast<int64_t>(out.ids.size());
  DUO_CHECK(t >= 2, "passkey sample: expected at least 2 tokens, got {}", t);
  out.weights.assign(static_cast<size_t>(t - 1), static_cast<float>(lm_weight));
  auto set = [&](const Span& sp, double w) {
    // weights[i] weighs target ids[i + 1].
    for (int64_t i = sp.start; i < sp.end(); ++i) out.weights[static_cast<size_t>(i - 1)] = static_cast<float>(w);
  };
  set(hidden, 0.0);
  for (const auto& r : recalls) set(r, answer_weight);
  set(out.answer, answer_weight);
  return out;
}

}  // namespace duo::pretrain
