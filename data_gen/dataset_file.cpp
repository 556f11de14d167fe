// Passkey dataset file writer and reader (see dataset_file.h).
#include "data_gen/dataset_file.h"

#include <algorithm>
#include <utility>

#include "core/error.h"
#include "io/hdf5.h"

namespace duo::data_gen {

DatasetWriter::DatasetWriter(int64_t num_passkeys) : k_(num_passkeys) {
  DUO_CHECK(k_ >= 1, "dataset: num_passkeys expected >= 1, got {}", k_);
}

void DatasetWriter::add(const PasskeySample& s) {
  auto k = static_cast<size_t>(k_);
  DUO_CHECK(s.passkeys.size() == k && s.depths.size() == k && s.needle_starts.size() == k &&
                s.question_starts.size() == k,
            "dataset: sample {} has {} passkeys; expected {}", size(), s.passkeys.size(), k_);
  DUO_CHECK(s.input_ids.size() == s.label_mask.size(), "dataset: sample {} has {} tokens but {} label flags", size(),
            s.input_ids.size(), s.label_mask.size());
  input_ids_.insert(input_ids_.end(), s.input_ids.begin(), s.input_ids.end());
  label_mask_.insert(label_mask_.end(), s.label_mask.begin(), s.label_mask.end());
  offsets_.push_back(static_cast<int64_t>(input_ids_.size()));
  answers_.push_back(s.answer());
  passkeys_.insert(passkeys_.end(), s.passkeys.begin(), s.passkeys.end());
  depths_.insert(depths_.end(), s.depths.begin(), s.depths.end());
  needle_starts_.insert(needle_starts_.end(), s.needle_starts.begin(), s.needle_starts.end());
  question_starts_.insert(question_starts_.end(), s.question_starts.begin(), s.question_starts.end());
  context_lengths_.push_back(s.context_length);
  haystack_lengths_.push_back(s.haystack_length);
}

void DatasetWriter::commit(const std::filesystem::path& path, const DatasetMeta& meta) const {
  const int64_t n = size();
  DUO_CHECK(n >= 1, "{}: expected at least one sample to write, got 0", path.string());
  io::H5Writer w(path);
  w.write("input_ids", input_ids_);
  w.write("offsets", offsets_);
  w.write("label_mask", label_mask_);
  w.write_strings("answers", answers_);
  w.write_strings("passkeys", passkeys_);
  w.write("depths", depths_, {n, k_});
  w.write("needle_starts", needle_starts_, {n, k_});
  w.write("question_starts", question_starts_, {n, k_});
  w.write("context_lengths", context_lengths_);
  w.write("haystack_lengths", haystack_lengths_);
  w.set_attr("", "format", kDatasetFormat);
  w.set_attr("", "config", meta.config_yaml);
  w.set_attr("", "seed", meta.seed);
  w.set_attr("", "num_samples", n);
  w.set_attr("", "num_passkeys", k_);
  w.set_attr("", "tokenizer_sha256", meta.tokenizer_sha256);
  w.set_attr("", "tokenizer", meta.tokenizer_path);
  w.commit();
}

Dataset Dataset::open(const std::filesystem::path& path) {
  DUO_CHECK(std::filesystem::exists(path), "{}: cannot open the dataset: no such file", path.string());
  io::H5Reader r(path);
  for (const char* name : {"input_ids", "offsets", "label_mask", "answers"}) {
    DUO_CHECK(r.has(name), "{}: not a duo passkey dataset; expected a dataset '{}', got none", path.string(), name);
  }
  DatasetArrays a;
  a.input_ids = r.read_vector<int32_t>("input_ids");
  a.label_mask = r.read_vector<uint8_t>("label_mask");
  a.offsets = r.read_vector<int64_t>("offsets");
  a.answers = r.read_strings("answers");
  auto attrs = r.attr_names("");
  auto has_attr = [&](const std::string& k) { return std::find(attrs.begin(), attrs.end(), k) != attrs.end(); };
  if (has_attr("config")) a.config_yaml = r.attr_string("", "config");
  if (has_attr("seed")) a.seed = r.attr_int("", "seed");
  if (has_attr("tokenizer_sha256")) a.tokenizer_sha256 = r.attr_string("", "tokenizer_sha256");
  if (has_attr("num_passkeys")) a.num_passkeys = r.attr_int("", "num_passkeys");
  if (r.has("needle_starts")) a.needle_starts = r.read_vector<int64_t>("needle_starts");
  if (r.has("depths")) a.depths = r.read_vector<double>("depths");
  return from_arrays(path, std::move(a));
}

Dataset Dataset::from_arrays(const std::filesystem::path& path, DatasetArrays a) {
  Dataset d;
  d.path_ = path;
  d.input_ids_ = std::move(a.input_ids);
  d.label_mask_ = std::move(a.label_mask);
  d.offsets_ = std::move(a.offsets);
  d.answers_ = std::move(a.answers);
  const auto n_tokens = static_cast<int64_t>(d.input_ids_.size());
  DUO_CHECK(d.offsets_.size() >= 2 || n_tokens > 0,
            "{}: the dataset holds no samples ('offsets' has {} entries, 'input_ids' none); expected at least one "
            "(write it again with duo gen-data)", path.string(), d.offsets_.size());
  DUO_CHECK(d.offsets_.size() >= 2 && d.offsets_.front() == 0 && d.offsets_.back() == n_tokens,
            "{}: 'offsets' must run from 0 to the token count {}; got {} entries ending at {}", path.string(), n_tokens,
            d.offsets_.size(), d.offsets_.empty() ? -1 : d.offsets_.back());
  for (size_t i = 1; i < d.offsets_.size(); ++i) {
    DUO_CHECK(d.offsets_[i] >= d.offsets_[i - 1], "{}: 'offsets' must not decrease; entry {} is {} after {}",
              path.string(), i, d.offsets_[i], d.offsets_[i - 1]);
    DUO_CHECK(d.offsets_[i] > d.offsets_[i - 1], "{}: sample {} is empty (offsets[{}] == offsets[{}] == {}); expected "
              "at least one token", path.string(), i - 1, i - 1, i, d.offsets_[i]);
  }
  DUO_CHECK(static_cast<int64_t>(d.label_mask_.size()) == n_tokens,
            "{}: 'label_mask' has {} entries; expected {} (one per token)", path.string(), d.label_mask_.size(), n_tokens);
  // The whole file is checked here, not when a sample is drawn: a bad sample late in the file
  // must not fail a run hours in (or never, when the run is shorter than the file).
  for (size_t i = 0; i + 1 < d.offsets_.size(); ++i) {
    bool any_label = false;
    for (auto t = static_cast<size_t>(d.offsets_[i]); t < static_cast<size_t>(d.offsets_[i + 1]); ++t) {
      DUO_CHECK(d.input_ids_[t] >= 0, "{}: sample {} token {} has id {}; expected a non-negative id", path.string(),
                i, t - static_cast<size_t>(d.offsets_[i]), d.input_ids_[t]);
      DUO_CHECK(d.label_mask_[t] <= 1, "{}: sample {} token {} has label flag {}; expected 0 or 1", path.string(), i,
                t - static_cast<size_t>(d.offsets_[i]), static_cast<int>(d.label_mask_[t]));
      any_label |= d.label_mask_[t] != 0;
    }
    DUO_CHECK(any_label, "{}: sample {} has no label tokens; expected at least one (label_mask all 0)", path.string(),
              i);
  }
  const auto n = d.offsets_.size() - 1;
  DUO_CHECK(d.answers_.size() == n, "{}: 'answers' has {} entries; expected {} (one per sample)", path.string(),
            d.answers_.size(), n);
  // The optional per-needle arrays: [n, k] when present (k: the num_passkeys attribute).
  DUO_CHECK(a.num_passkeys >= 0, "{}: attribute 'num_passkeys' is {}; expected a count >= 0", path.string(),
            a.num_passkeys);
  const std::pair<const char*, size_t> per_needle[] = {{"needle_starts", a.needle_starts.size()},
                                                       {"depths", a.depths.size()}};
  for (const auto& [name, size] : per_needle) {
    if (size == 0) continue;
    DUO_CHECK(a.num_passkeys >= 1 && size % n == 0 && size / n == static_cast<uint64_t>(a.num_passkeys),
              "{}: '{}' has {} entries; expected {} samples x num_passkeys ({}) entries", path.string(), name, size, n,
              a.num_passkeys);
  }
  d.num_passkeys_ = a.num_passkeys;
  d.config_yaml_ = std::move(a.config_yaml);
  d.seed_ = a.seed;
  d.tokenizer_sha256_ = std::move(a.tokenizer_sha256);
  d.needle_starts_ = std::move(a.needle_starts);
  d.depths_ = std::move(a.depths);
  return d;
}

void Dataset::check_token_ids(int64_t vocab_size) const {
  for (size_t i = 0; i + 1 < offsets_.size(); ++i) {
    for (auto t = static_cast<size_t>(offsets_[i]); t < static_cast<size_t>(offsets_[i + 1]); ++t) {
      DUO_CHECK(input_ids_[t] < vocab_size,
                "{}: sample {} token {} has id {}; expected an id in [0, {}) (the model's vocab_size; dataset made "
                "with another tokenizer?)",
                path_.string(), i, t - static_cast<size_t>(offsets_[i]), input_ids_[t], vocab_size);
    }
  }
}

int64_t Dataset::length(int64_t i) const {
  DUO_CHECK(i >= 0 && i < size(), "{}: sample index expected 0..{}, got {}", path_.string(), size() - 1, i);
  return offsets_[static_cast<size_t>(i) + 1] - offsets_[static_cast<size_t>(i)];
}

DatasetSample Dataset::sample(int64_t i) const {
  int64_t len = length(i);
  auto b = static_cast<size_t>(offsets_[static_cast<size_t>(i)]);
  DatasetSample s;
  s.input_ids.assign(input_ids_.begin() + b, input_ids_.begin() + b + len);
  s.label_mask.assign(label_mask_.begin() + b, label_mask_.begin() + b + len);
  s.answer = answers_[static_cast<size_t>(i)];
  return s;
}

}  // namespace duo::data_gen
