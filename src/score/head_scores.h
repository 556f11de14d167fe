// Per-head scores of a training-free scorer and how they become one score per KV head.
//
// A scorer measures every query head: a table [n_layers, n_heads]. duo keeps or drops a KV
// head's cache as a unit, so under grouped-query attention the G = n_heads / n_kv_heads query
// heads that share KV head g are reduced to one score by their maximum: the KV head is kept when
// any of its query heads needs it (docs/method.md, "Training-free head scores").
//
// The result is written in the gate-table format (mask/gate_table.h: full_attention_heads.tsv,
// one row per layer, one column per KV head), higher = more retrieval-like, every value in
// [0, 1], so `duo export --gates DIR --sparsity S` and `duo sweep` read it as they read trained
// gates.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

#include "mask/gate_table.h"

namespace duo::score {

// Max over each group of G consecutive query heads: [L, Hq] -> [L, Hkv]. Throws unless
// Hq is a multiple of Hkv.
mask::GateTable reduce_to_kv_heads(const mask::GateTable& query_heads, int64_t n_kv_heads);
// A table as JSON rows ([[layer 0's values], [layer 1's], ...]) for config.json.
nlohmann::json table_rows_json(const mask::GateTable& t);

// What `duo score` writes into its output folder.
struct ScoreResult {
  std::string method;              // retrieval | razor | attention-mass
  mask::GateTable query_scores;    // [L, Hq] the scorer's statistic per query head
  mask::GateTable kv_scores;       // [L, Hkv] the score written to full_attention_heads.tsv
  nlohmann::json details;          // method-specific statistics (e.g. razor's echo / induction)
  double seconds = 0.0;            // wall time of the scoring
};

// Writes dir/full_attention_heads.tsv (kv_scores), dir/config.json (`config` plus method,
// seconds, query-head scores and details) and dir/scores.svg (a heatmap of kv_scores), each
// atomically; creates dir.
void write_score_outputs(const std::filesystem::path& dir, const ScoreResult& r, nlohmann::json config,
                         const std::string& title);

// The heatmap (layers as rows, KV heads as columns) as SVG text.
std::string score_svg(const mask::GateTable& kv_scores, const std::string& title);

}  // namespace duo::score
