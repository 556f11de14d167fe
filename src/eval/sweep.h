// Sparsity sweep: for each requested sparsity and each set of head scores (trained gates, or a
// training-free scorer's folder from `duo score`), binarize the scores (mask::binarize_by_sparsity),
// export the mask folder, evaluate it with the NIAH / passkey grid, and collect requested and
// actual sparsity, KV-cache bytes at the longest eval length and the mean score. With
// random_masks = N, N random masks with the same number of streaming heads are evaluated on the
// same grid, once per sparsity (every set binarizes to the same head count at one sparsity): the
// baseline the scores must beat (DuoAttention's claim).
//
// Folders: one unnamed set (GateSet::name empty, `duo sweep --gates RUN`) keeps the layout
// DIR/masks/s=<sparsity> with random masks in DIR/masks/s=<sparsity>/random<i>; named sets
// (`--gates trained=RUN,razor=DIR`) go to DIR/masks/<name>/s=<sparsity>, random masks to
// DIR/masks/random/s=<sparsity>/random<i>. Writes DIR/sweep.csv (one row per method and
// sparsity), DIR/sweep.md (a Markdown table, one column per method) and DIR/sweep.svg (one line
// per method, the random-mask mean and the KV ratio against sparsity).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/stream_window.h"
#include "eval/niah.h"
#include "mask/gate_table.h"

namespace duo::eval {

struct SweepOptions {
  std::vector<double> sparsities = {0, 0.25, 0.5, 0.75, 0.9};  // fractions of streaming heads
  StreamWindow window = kDeployWindow;  // deploy window of the exported (and random) masks
  NiahEvalOptions eval;                 // the grid each mask is evaluated on
  int64_t random_masks = 0;  // per sparsity, also evaluate this many random masks of the same size
};

// One set of head scores to sweep.
struct GateSet {
  std::string name;        // method label ("trained", "razor", ...); empty = the single unnamed set
  mask::GateTable gates;   // raw (clipped) gates or scores, [layers, kv heads]
  std::string source;      // the TSV read, for config.json
};

// "trained gates" for the unnamed set, else the name.
std::string gate_set_label(const std::string& name);

// One method at one sparsity (a row of sweep.csv).
struct SweepPoint {
  std::string method;           // GateSet::name ("" = the unnamed set)
  double requested_sparsity = 0.0;
  double actual_sparsity = 0.0;
  double threshold = 0.0;
  int64_t eval_tokens = 0;      // the longest eval context
  int64_t kv_bytes = 0;         // mask::kv_cache_bytes at eval_tokens (KV dtype)
  int64_t kv_bytes_full = 0;    // the same with every head full
  double score = 0.0;           // mean over the grid
  std::vector<double> random_scores;  // random masks with as many streaming heads (seeds 1..N)
  std::filesystem::path mask_dir;

  double random_mean() const;  // NaN without random masks
};

// Folder name of one sweep mask, e.g. "s=0.75".
std::string sweep_mask_name(double sparsity);

// Throws unless every sparsity is in [0, 1], random_masks >= 0 and the eval grid is valid
// (check_niah_options): call it before loading anything.
void check_sweep_options(const SweepOptions& opts);

// Parses the --gates list: "PATH" (one unnamed set) or "NAME=PATH,NAME=PATH,..." (names of letters,
// digits, '_', '-', '.'; unique; not "random", which names the baseline's folder). An item whose
// text before '=' holds a '/' is a path. Returns (name, path) pairs; throws naming the item.
std::vector<std::pair<std::string, std::string>> parse_gate_list(const std::string& spec);

// Runs the sweep (check_sweep_options first) over every set: points ordered by sparsity, then by
// set in the order given; random_scores are the same on every point of one sparsity.
std::vector<SweepPoint> run_sweep(const model::Model& model, const tokenizer::Tokenizer& tok,
                                  const std::vector<GateSet>& sets, const SweepOptions& opts,
                                  const std::filesystem::path& out_dir, bool quiet);
// One unnamed set: `gates` are the raw (clipped) gates, `gate_source` names them in config.json.
std::vector<SweepPoint> run_sweep(const model::Model& model, const tokenizer::Tokenizer& tok,
                                  const mask::GateTable& gates, const std::string& gate_source,
                                  const SweepOptions& opts, const std::filesystem::path& out_dir, bool quiet);

std::string sweep_csv(const std::vector<SweepPoint>& points);
std::string sweep_table(const std::vector<SweepPoint>& points);
std::string sweep_markdown(const std::vector<SweepPoint>& points);
std::string sweep_svg(const std::vector<SweepPoint>& points, const std::string& title);

}  // namespace duo::eval
