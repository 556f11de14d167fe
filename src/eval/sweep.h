// Sparsity sweep: for each requested sparsity, binarize the gates (mask::binarize_by_sparsity),
// export the mask folder (DIR/masks/s=<sparsity>), evaluate it with the NIAH / passkey grid, and
// collect requested and actual sparsity, KV-cache bytes at the longest eval length and the mean
// score. With random_masks = N, N random masks with the same number of streaming heads are
// evaluated on the same grid (DIR/masks/s=<sparsity>/random<i>): the baseline the trained gates
// must beat (DuoAttention's claim). Writes DIR/sweep.csv, DIR/sweep.md (a Markdown table) and
// DIR/sweep.svg (score, random-mask score and KV ratio against sparsity).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
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

struct SweepPoint {
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

// Runs the sweep (check_sweep_options first); `gates` are the raw (clipped) gates, `gate_source`
// names them in config.json.
std::vector<SweepPoint> run_sweep(const model::Model& model, const tokenizer::Tokenizer& tok,
                                  const mask::GateTable& gates, const std::string& gate_source,
                                  const SweepOptions& opts, const std::filesystem::path& out_dir, bool quiet);

std::string sweep_csv(const std::vector<SweepPoint>& points);
std::string sweep_table(const std::vector<SweepPoint>& points);
std::string sweep_markdown(const std::vector<SweepPoint>& points);
std::string sweep_svg(const std::vector<SweepPoint>& points, const std::string& title);

}  // namespace duo::eval
