// Needle-in-a-haystack evaluation: a grid of context lengths x depth percents, each point one
// prompt (data_gen/niah.h) decoded greedily by the runtime with a head mask, scored with the
// official word-overlap score (kind "needle") or exact match (kind "passkey"); see niah_score.h.
// Outputs: results.csv (one row per point) and niah.svg (depth by length, colour by score).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "data_gen/niah.h"
#include "model/model.h"
#include "runtime/decoder.h"
#include "runtime/head_layout.h"

namespace duo::tokenizer {
class Tokenizer;
}

namespace duo::eval {

struct NiahEvalOptions {
  std::string kind = "needle";                         // needle | passkey (sets the prompt defaults)
  std::vector<int64_t> context_lengths = {1000, 2000, 4000};
  std::vector<double> depth_percents = {0, 25, 50, 75, 100};
  int64_t max_new_tokens = 32;                         // greedy tokens per answer
  int64_t prefill_chunk = runtime::kDefaultPrefillChunk;  // 0 = whole prompt at once
  int64_t samples = 1;                                 // passkey kind: prompts (keys) per grid cell
  data_gen::NiahOptions prompt;                        // prompt text, haystack and passkey settings
  // KV cache dtype; none = the model's. Not a grid key: the commands set it from their kv_dtype
  // (cli::StorageOptions), which the KV bytes of a sweep follow too.
  std::optional<at::ScalarType> kv_dtype;

  template <class V>
  void visit(V& v) {
    v("kind", kind, "needle (official San Francisco needle, word-overlap score) or passkey (exact match)");
    v("context_lengths", context_lengths, "prompt lengths in tokens (grid columns)");
    v("depth_percents", depth_percents, "needle depths 0..100 (grid rows)");
    v("max_new_tokens", max_new_tokens, "greedy tokens generated per answer");
    v("prefill_chunk", prefill_chunk, "prefill chunk size in tokens; 0 = whole prompt");
    v("samples", samples, "passkey kind: prompts per cell, each with its own key (seed + i); needle kind: 1");
    v.section("prompt", prompt, "prompt construction (data_gen niah options)");
  }
};

// Defaults for a kind: "needle" (official needle, essays from ../shared/reference/needle-haystack
// when that folder exists) or "passkey" (classic digit passkey in the builtin filler).
NiahEvalOptions niah_defaults(const std::string& kind);
// Defaults of the kind named in the config / --set (kind=...), then the YAML, then --set.
// prompt.kind follows kind.
NiahEvalOptions resolve_niah_options(const std::filesystem::path& config, const std::vector<std::string>& sets);
// Throws, naming the key, for a value outside its domain: an empty grid, a context length < 1, a
// depth outside [0, 100], max_new_tokens < 1, prefill_chunk < 0, samples < 1.
void check_niah_options(const NiahEvalOptions& opts);
// The last step of resolving: prompt.kind follows kind, then check_niah_options.
void finish_niah_options(NiahEvalOptions& opts);

struct NiahPoint {
  int64_t context_length = 0;
  double depth_percent = 0.0;
  double actual_depth_percent = 0.0;
  int64_t prompt_tokens = 0;
  int64_t sample = 0;  // index within the cell (passkey kind, samples > 1)
  std::string expected;
  std::string response;
  double score = 0.0;
  double prefill_seconds = 0.0;
  double decode_ms_per_token = 0.0;
  int64_t kv_bytes = 0;
};

struct NiahRun {
  std::vector<int64_t> context_lengths;
  std::vector<double> depth_percents;
  std::vector<NiahPoint> points;  // row-major over (depth, length, sample)
  double mean_score() const;
};

// Runs the grid. Prints a progress line unless quiet.
NiahRun run_niah(const model::Model& model, const tokenizer::Tokenizer& tok, const runtime::HeadLayout& layout,
                 const NiahEvalOptions& opts, bool quiet);

// results.csv text: a header and one row per point (the response quoted CSV-style).
std::string niah_csv(const NiahRun& run);
// niah.svg text: a heatmap with depth rows and length columns.
std::string niah_svg(const NiahRun& run, const std::string& title);
// Writes dir/results.csv and dir/niah.svg (atomically; creates dir).
void write_niah_outputs(const std::filesystem::path& dir, const NiahRun& run, const std::string& title);

}  // namespace duo::eval
