// KV-head reduction and the output folder of `duo score` (see head_scores.h).
#include "score/head_scores.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/json.h"
#include "io/svg.h"

namespace duo::score {

namespace fs = std::filesystem;

mask::GateTable reduce_to_kv_heads(const mask::GateTable& q, int64_t n_kv_heads) {
  DUO_CHECK(n_kv_heads >= 1 && q.n_kv_heads % n_kv_heads == 0,
            "head scores: {} query heads per layer cannot be grouped into {} KV heads; expected a multiple",
            q.n_kv_heads, n_kv_heads);
  const int64_t g = q.n_kv_heads / n_kv_heads;
  mask::GateTable out{q.n_layers, n_kv_heads, std::vector<double>(static_cast<size_t>(q.n_layers * n_kv_heads))};
  for (int64_t l = 0; l < q.n_layers; ++l) {
    for (int64_t h = 0; h < n_kv_heads; ++h) {
      double m = q.at(l, h * g);
      for (int64_t i = 1; i < g; ++i) m = std::max(m, q.at(l, h * g + i));
      out.at(l, h) = m;
    }
  }
  return out;
}

nlohmann::json table_rows_json(const mask::GateTable& t) {
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t l = 0; l < t.n_layers; ++l) {
    nlohmann::json row = nlohmann::json::array();
    for (int64_t h = 0; h < t.n_kv_heads; ++h) row.push_back(t.at(l, h));
    rows.push_back(row);
  }
  return rows;
}

std::string score_svg(const mask::GateTable& s, const std::string& title) {
  io::Heatmap h;
  h.title = title;
  h.x_label = "KV head";
  h.y_label = "Layer";
  for (int64_t c = 0; c < s.n_kv_heads; ++c) h.col_labels.push_back(std::to_string(c));
  for (int64_t r = 0; r < s.n_layers; ++r) h.row_labels.push_back(std::to_string(r));
  h.values = s.values;
  h.vmin = 0.0;
  h.vmax = 1.0;
  return io::render_heatmap_svg(h);
}

void write_score_outputs(const fs::path& dir, const ScoreResult& r, nlohmann::json config, const std::string& title) {
  fs::create_directories(dir);
  mask::write_gate_tsv(dir / "full_attention_heads.tsv", r.kv_scores);
  config["method"] = r.method;
  config["seconds"] = r.seconds;
  config["num_layers"] = r.kv_scores.n_layers;
  config["num_kv_heads"] = r.kv_scores.n_kv_heads;
  config["num_query_heads"] = r.query_scores.n_kv_heads;
  config["kv_head_reduction"] = "max over the query heads of each KV head";
  config["query_head_scores"] = table_rows_json(r.query_scores);
  config["details"] = r.details;
  io::write_json(dir / "config.json", config);
  core::write_file_atomic(dir / "scores.svg", score_svg(r.kv_scores, title));
}

}  // namespace duo::score
