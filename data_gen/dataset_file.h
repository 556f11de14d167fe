// The passkey dataset file (HDF5, readable by h5py) and its reader for the trainer.
//
// Layout (n samples, k passkeys each, N tokens in all):
//   input_ids        int32   [N]     samples concatenated
//   offsets          int64   [n+1]   sample i is input_ids[offsets[i]:offsets[i+1]]
//   label_mask       uint8   [N]     1 on the question-and-answer tokens (see passkey_samples.h)
//   answers          string  [n]     the sample's passkeys joined by "\n"
//   passkeys         string  [n*k]   the passkeys one by one, row-major
//   depths           float64 [n, k]  needle depth ratios, ascending
//   needle_starts    int64   [n, k]  index within the sample of each needle's first token
//   question_starts  int64   [n, k]  index within the sample of each question's first token
//   context_lengths  int64   [n]     the linspace context length drawn
//   haystack_lengths int64   [n]     haystack tokens the needles were spread over
// Root attributes: format ("duo.passkey.v1"), config (the generating options as YAML), seed,
// num_samples, num_passkeys, tokenizer_sha256 (of the tokenizer.json bytes), tokenizer (its path).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data_gen/passkey_samples.h"

namespace duo::data_gen {

inline constexpr const char* kDatasetFormat = "duo.passkey.v1";

struct DatasetMeta {
  std::string config_yaml;       // the resolved generating options
  int64_t seed = 0;
  std::string tokenizer_sha256;  // sha256 of tokenizer.json
  std::string tokenizer_path;    // informational
};

// Collects samples in flat arrays; commit() writes the file atomically (nothing is left under
// `path` when commit() is never reached).
class DatasetWriter {
 public:
  explicit DatasetWriter(int64_t num_passkeys);
  void add(const PasskeySample& s);
  int64_t size() const { return static_cast<int64_t>(offsets_.size()) - 1; }
  int64_t total_tokens() const { return static_cast<int64_t>(input_ids_.size()); }
  void commit(const std::filesystem::path& path, const DatasetMeta& meta) const;

 private:
  int64_t k_;
  std::vector<int32_t> input_ids_;
  std::vector<uint8_t> label_mask_;
  std::vector<int64_t> offsets_{0};
  std::vector<std::string> answers_, passkeys_;
  std::vector<double> depths_;
  std::vector<int64_t> needle_starts_, question_starts_, context_lengths_, haystack_lengths_;
};

// A dataset file's items as read, before any check (Dataset::from_arrays checks them).
struct DatasetArrays {
  std::vector<int32_t> input_ids;      // [N]
  std::vector<uint8_t> label_mask;     // [N]
  std::vector<int64_t> offsets;        // [n+1]
  std::vector<std::string> answers;    // [n]
  std::vector<int64_t> needle_starts;  // [n*k] or empty (optional in the file)
  std::vector<double> depths;          // [n*k] or empty (optional)
  int64_t num_passkeys = 0;            // k; 0 when the attribute is absent
  std::string config_yaml;
  int64_t seed = 0;
  std::string tokenizer_sha256;
};

// One sample as the trainer needs it.
struct DatasetSample {
  std::vector<int32_t> input_ids;   // [T]
  std::vector<uint8_t> label_mask;  // [T]
  std::string answer;
};

// The whole file in memory (a 2000-sample, 32K-token set is ~160 MB).
class Dataset {
 public:
  // Throws duo::Error naming the file when it is missing, not a duo dataset, empty, or
  // inconsistent (offsets not strictly ascending from 0 to the token count, arrays of different
  // lengths, an empty sample, a sample without label tokens, a negative id, a flag not 0/1).
  // The whole file is checked here, before any sample is used.
  static Dataset open(const std::filesystem::path& path);
  // The same checks on items already read (open() reads them, then calls this); errors name
  // `path`. Also checks the optional arrays: [n*k] with k = num_passkeys >= 1 when present.
  static Dataset from_arrays(const std::filesystem::path& path, DatasetArrays a);
  // Throws naming the first sample and token whose id is >= vocab_size.
  void check_token_ids(int64_t vocab_size) const;
  int64_t size() const { return static_cast<int64_t>(offsets_.size()) - 1; }
  DatasetSample sample(int64_t i) const;
  int64_t length(int64_t i) const;  // tokens of sample i
  int64_t num_passkeys() const { return num_passkeys_; }
  const std::string& config_yaml() const { return config_yaml_; }
  int64_t seed() const { return seed_; }
  const std::string& tokenizer_sha256() const { return tokenizer_sha256_; }
  const std::vector<int64_t>& offsets() const { return offsets_; }
  const std::vector<int32_t>& input_ids() const { return input_ids_; }
  const std::vector<uint8_t>& label_mask() const { return label_mask_; }
  const std::vector<std::string>& answers() const { return answers_; }
  // [n*k] row-major, or empty for files without these optional arrays.
  const std::vector<int64_t>& needle_starts() const { return needle_starts_; }
  const std::vector<double>& depths() const { return depths_; }

 private:
  std::filesystem::path path_;
  std::vector<int32_t> input_ids_;
  std::vector<uint8_t> label_mask_;
  std::vector<int64_t> offsets_;
  std::vector<std::string> answers_;
  std::vector<int64_t> needle_starts_;
  std::vector<double> depths_;
  int64_t num_passkeys_ = 0;
  std::string config_yaml_;
  int64_t seed_ = 0;
  std::string tokenizer_sha256_;
};

}  // namespace duo::data_gen
