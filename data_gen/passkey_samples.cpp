// Multi-passkey sample assembly (see passkey_samples.h).
#include "data_gen/passkey_samples.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"
#include "data_gen/haystack.h"
#include "tokenizer/tokenizer.h"

namespace duo::data_gen {

std::string PasskeySample::answer() const {
  std::string s;
  for (size_t i = 0; i < passkeys.size(); ++i) {
    if (i > 0) s += '\n';
    s += passkeys[i];
  }
  return s;
}

std::vector<int64_t> linspace_int(int64_t start, int64_t end, int64_t n) {
  std::vector<int64_t> out;
  if (n <= 0) return out;
  if (n == 1) return {start};
  double step = (static_cast<double>(end) - static_cast<double>(start)) / static_cast<double>(n - 1);
  int64_t halfway = n / 2;
  for (int64_t i = 0; i < n; ++i) {
    double v = i < halfway ? static_cast<double>(start) + step * static_cast<double>(i)
                           : static_cast<double>(end) - step * static_cast<double>(n - i - 1);
    out.push_back(static_cast<int64_t>(v));  // truncation, as torch casts to int
  }
  return out;
}

std::vector<double> linspace(double start, double end, int64_t n) {
  std::vector<double> out;
  if (n <= 0) return out;
  if (n == 1) return {start};
  double step = (end - start) / static_cast<double>(n - 1);
  for (int64_t i = 0; i < n; ++i) out.push_back(start + step * static_cast<double>(i));
  out.back() = end;
  return out;
}

void validate_options(const GenOptions& o) {
  auto max_keys = static_cast<int64_t>(ordinal_numbers().size());
  DUO_CHECK(o.num_samples >= 1, "num_samples: expected at least 1, got {}", o.num_samples);
  DUO_CHECK(o.num_passkeys >= 1 && o.num_passkeys <= max_keys, "num_passkeys: expected 1..{}, got {}", max_keys,
            o.num_passkeys);
  DUO_CHECK(o.passkey_length >= 1, "passkey_length: expected at least 1, got {}", o.passkey_length);
  DUO_CHECK(o.passkey_kind == "words" || o.passkey_kind == "digits",
            "passkey_kind: expected 'words' or 'digits', got '{}'", o.passkey_kind);
  DUO_CHECK(o.context_min >= 1, "context_min: expected at least 1, got {}", o.context_min);
  DUO_CHECK(o.context_max >= o.context_min, "context_max: expected at least context_min ({}), got {}", o.context_min,
            o.context_max);
  DUO_CHECK(o.context_intervals >= 1, "context_intervals: expected at least 1, got {}", o.context_intervals);
  DUO_CHECK(o.min_depth >= 0.0 && o.min_depth <= 1.0, "min_depth: expected a ratio in [0, 1], got {}", o.min_depth);
  DUO_CHECK(o.max_depth >= o.min_depth && o.max_depth <= 1.0, "max_depth: expected a ratio in [min_depth={}, 1], got {}",
            o.min_depth, o.max_depth);
  DUO_CHECK(o.depth_intervals >= o.num_passkeys,
            "depth_intervals: expected at least num_passkeys ({}) depths to draw without replacement, got {}",
            o.num_passkeys, o.depth_intervals);
  DUO_CHECK(o.buffer_size >= 0, "buffer_size: expected >= 0, got {}", o.buffer_size);
  DUO_CHECK(o.pad_to_multiple_of >= 0 && o.pad_to_multiple_of <= 4096,
            "pad_to_multiple_of: expected 0..4096, got {}", o.pad_to_multiple_of);
}

PasskeySampleGenerator::PasskeySampleGenerator(const tokenizer::Tokenizer& tok, GenOptions opts)
    : tok_(tok), opts_(std::move(opts)) {
  validate_options(opts_);
  const auto& o = opts_;
  const auto k = static_cast<size_t>(o.num_passkeys);
  context_lengths_ = linspace_int(o.context_min, o.context_max, o.context_intervals);
  depth_ratios_ = linspace(o.min_depth, o.max_depth, o.depth_intervals);

  // Context-length order: a fresh permutation of the linspace values per pass over them.
  const auto n_len = static_cast<int64_t>(context_lengths_.size());
  schedule_.resize(static_cast<size_t>(o.num_samples));
  std::vector<int64_t> perm(static_cast<size_t>(n_len));
  for (int64_t i = 0; i < o.num_samples; ++i) {
    if (i % n_len == 0) {
      std::mt19937_64 rng(mix_seed(static_cast<uint64_t>(o.seed), 0x5EED0000'00000000ull + static_cast<uint64_t>(i / n_len)));
      std::iota(perm.begin(), perm.end(), 0);
      for (int64_t j = n_len - 1; j > 0; --j) std::swap(perm[j], perm[uniform_index(rng, static_cast<uint64_t>(j + 1))]);
    }
    schedule_[static_cast<size_t>(i)] = perm[static_cast<size_t>(i % n_len)];
  }

  prefix_ = tok.encode(o.templates.prompt_prefix, /*add_special_tokens=*/true);
  suffix_ = tok.encode(o.templates.prompt_suffix, /*add_special_tokens=*/false);
  separator_ = tok.encode(o.templates.separator, /*add_special_tokens=*/false);
  for (size_t i = 0; i < k; ++i) {
    const auto& ordinal = ordinal_numbers()[i];
    needles_.push_back(tokenize_template(tok, fill_ordinal(o.templates.needle, ordinal)));
    questions_.push_back(tokenize_template(tok, fill_ordinal(o.templates.question, ordinal)));
  }

  // The official trim: the haystack keeps context_max - buffer - (everything else for one key).
  std::mt19937_64 probe_rng(mix_seed(static_cast<uint64_t>(o.seed), 0xF1A5E0000ull));
  auto probe_key = static_cast<int64_t>(
      tok.encode(make_passkey(o.passkey_kind, o.passkey_length, probe_rng), /*add_special_tokens=*/false).size());
  auto sep = static_cast<int64_t>(separator_.size());
  fixed_estimate_ = static_cast<int64_t>(prefix_.size() + suffix_.size());
  for (size_t i = 0; i < k; ++i) {
    fixed_estimate_ += 3 * sep + needles_[i].size_with(probe_key) + questions_[i].size_with(probe_key);
  }
  int64_t available = o.context_max - o.buffer_size - fixed_estimate_;
  DUO_CHECK(available >= o.context_min,
            "context_max {} is too short for {} needles: prompt, needles and questions take ~{} tokens and "
            "buffer_size {} more, leaving {} haystack tokens; expected at least context_min = {} "
            "(raise context_max or lower num_passkeys / passkey_length / context_min)",
            o.context_max, o.num_passkeys, fixed_estimate_, o.buffer_size, available, o.context_min);
  haystack_ = tokenize_haystack(tok, o.haystack, o.context_max);
  if (static_cast<int64_t>(haystack_.size()) > available) haystack_.resize(static_cast<size_t>(available));
}

int64_t PasskeySampleGenerator::context_length_of(int64_t index) const {
  DUO_CHECK(index >= 0 && index < opts_.num_samples, "sample index: expected 0..{}, got {}", opts_.num_samples - 1,
            index);
  return context_lengths_[static_cast<size_t>(schedule_[static_cast<size_t>(index)])];
}

PasskeySample PasskeySampleGenerator::sample(int64_t index) const {
  const auto& o = opts_;
  const auto k = static_cast<size_t>(o.num_passkeys);
  PasskeySample s;
  s.context_length = context_length_of(index);
  std::mt19937_64 rng(mix_seed(static_cast<uint64_t>(o.seed), static_cast<uint64_t>(index)));

  // Depths: the first k of a random permutation of the linspace (partial Fisher-Yates), sorted.
  std::vector<int64_t> pick(depth_ratios_.size());
  std::iota(pick.begin(), pick.end(), 0);
  for (size_t j = 0; j < k; ++j) {
    std::swap(pick[j], pick[j + uniform_index(rng, pick.size() - j)]);
  }
  for (size_t j = 0; j < k; ++j) s.depths.push_back(depth_ratios_[static_cast<size_t>(pick[j])]);
  std::sort(s.depths.begin(), s.depths.end());

  std::vector<std::vector<int32_t>> keys(k);
  for (size_t j = 0; j < k; ++j) {
    s.passkeys.push_back(make_passkey(o.passkey_kind, o.passkey_length, rng));
    keys[j] = tok_.encode(s.passkeys[j], /*add_special_tokens=*/false);
  }

  // The question-and-answer block is the same whatever the haystack length.
  std::vector<int32_t> qa;
  std::vector<uint8_t> qa_mask;
  std::vector<int64_t> question_offsets;
  for (size_t j = 0; j < k; ++j) {
    question_offsets.push_back(static_cast<int64_t>(qa.size()));
    questions_[j].append(qa, keys[j]);
    qa_mask.resize(qa.size(), 1);
    qa.insert(qa.end(), separator_.begin(), separator_.end());
    qa_mask.resize(qa.size(), o.label_separators ? 1 : 0);
  }

  const auto H = static_cast<int64_t>(haystack_.size());
  int64_t h = std::min(s.context_length, H);
  const int64_t m = o.pad_to_multiple_of;
  while (true) {
    auto& ids = s.input_ids;
    ids.assign(prefix_.begin(), prefix_.end());
    s.needle_starts.clear();
    s.needle_ends.clear();
    int64_t last = 0;
    for (size_t j = 0; j < k; ++j) {
      auto point = static_cast<int64_t>(std::floor(static_cast<double>(h) * s.depths[j]));
      point = std::clamp<int64_t>(point, last, h);
      ids.insert(ids.end(), haystack_.begin() + last, haystack_.begin() + point);
      ids.insert(ids.end(), separator_.begin(), separator_.end());
      s.needle_starts.push_back(static_cast<int64_t>(ids.size()));
      needles_[j].append(ids, keys[j]);
      s.needle_ends.push_back(static_cast<int64_t>(ids.size()));
      ids.insert(ids.end(), separator_.begin(), separator_.end());
      last = point;
    }
    ids.insert(ids.end(), haystack_.begin() + last, haystack_.begin() + h);
    auto base = static_cast<int64_t>(ids.size() + qa.size() + suffix_.size());
    int64_t pad = m > 1 ? m - base % m : 0;
    pad = std::min(pad, H);
    ids.insert(ids.end(), haystack_.end() - pad, haystack_.end());
    ids.insert(ids.end(), suffix_.begin(), suffix_.end());
    auto total = static_cast<int64_t>(ids.size() + qa.size());
    if (total <= o.context_max || h == 0) break;
    h = std::max<int64_t>(0, h - (total - o.context_max));
  }
  s.haystack_length = h;
  auto qa_start = static_cast<int64_t>(s.input_ids.size());
  DUO_CHECK(qa_start + static_cast<int64_t>(qa.size()) <= o.context_max,
            "sample {}: {} tokens without any haystack; expected at most context_max = {}", index,
            qa_start + static_cast<int64_t>(qa.size()), o.context_max);
  for (auto off : question_offsets) s.question_starts.push_back(qa_start + off);
  s.input_ids.insert(s.input_ids.end(), qa.begin(), qa.end());
  s.label_mask.assign(static_cast<size_t>(qa_start), 0);
  s.label_mask.insert(s.label_mask.end(), qa_mask.begin(), qa_mask.end());
  return s;
}

}  // namespace duo::data_gen
