// The whole `duo gen-data` pipeline as a library call: options -> samples -> dataset file, with
// a progress line; and a readable preview of a sample with its needles and labels marked.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "data_gen/dataset_file.h"
#include "data_gen/gen_options.h"
#include "data_gen/passkey_samples.h"

namespace duo::tokenizer {
class Tokenizer;
}

namespace duo::data_gen {

struct GenerateStats {
  int64_t samples = 0;
  int64_t tokens = 0;       // all samples together
  int64_t min_length = 0;   // shortest sample, tokens
  int64_t max_length = 0;   // longest sample, tokens
  double seconds = 0.0;     // wall time including the haystack tokenization and the write
};

// Generates opts.num_samples samples and writes them to `out` (atomically: on any error no file
// is left under `out`). `threads` > 1 builds samples in parallel (the result is identical).
GenerateStats generate_dataset(const tokenizer::Tokenizer& tok, const GenOptions& opts, const std::filesystem::path& out,
                               const DatasetMeta& meta, bool quiet = false, int threads = 1);

// The sample decoded as text, needles wrapped in "[[NEEDLE i]] ... [[/NEEDLE]]", the labelled
// tokens in "[[LABEL]] ... [[/LABEL]]", and haystack runs longer than 2 * `keep` tokens shortened
// to their first and last `keep` tokens around "[... n haystack tokens ...]".
std::string preview_sample(const tokenizer::Tokenizer& tok, const PasskeySample& s, int64_t keep = 24);

}  // namespace duo::data_gen
