// Sparsity sweep (see sweep.h).
#include "eval/sweep.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "io/svg.h"
#include "mask/binarize.h"
#include "mask/kv_budget.h"
#include "mask/mask_dir.h"
#include "runtime/head_layout.h"

namespace duo::eval {

namespace fs = std::filesystem;

std::string sweep_mask_name(double sparsity) { return fmt::format("s={:g}", sparsity); }

std::vector<SweepPoint> run_sweep(const model::Model& model, const tokenizer::Tokenizer& tok,
                                  const mask::GateTable& gates, const std::string& gate_source,
                                  const SweepOptions& opts, const fs::path& out_dir, bool quiet) {
  const auto& cfg = model.config();
  mask::check_shape(gates, cfg.n_layers, cfg.n_kv_heads, gate_source);
  DUO_CHECK(!opts.sparsities.empty(), "sweep: --sparsities is empty; expected e.g. 0,0.25,0.5,0.75,0.9");
  const int64_t eval_tokens = *std::max_element(opts.eval.context_lengths.begin(), opts.eval.context_lengths.end());
  const int64_t elem = static_cast<int64_t>(c10::elementSize(model.options().dtype));
  std::vector<SweepPoint> points;
  for (double s : opts.sparsities) {
    SweepPoint p;
    auto b = mask::binarize_by_sparsity(gates, s);
    mask::ExportInfo info;
    info.sink = opts.sink;
    info.recent = opts.recent;
    info.source = gate_source;
    p.mask_dir = out_dir / "masks" / sweep_mask_name(s);
    mask::export_mask(p.mask_dir, b, info);
    p.requested_sparsity = s;
    p.actual_sparsity = b.actual_sparsity;
    p.threshold = b.threshold;
    p.eval_tokens = eval_tokens;
    p.kv_bytes = mask::kv_cache_bytes(b.mask, eval_tokens, opts.sink, opts.recent, cfg.head_dim, elem);
    p.kv_bytes_full = mask::kv_cache_bytes_full(cfg.n_layers, cfg.n_kv_heads, eval_tokens, cfg.head_dim, elem);
    auto layout = runtime::HeadLayout::from_mask(b.mask, opts.sink, opts.recent);
    auto run = run_niah(model, tok, layout, opts.eval, quiet);
    write_niah_outputs(p.mask_dir / "eval", run, fmt::format("{} sparsity {:g}", opts.eval.kind, s));
    p.score = run.mean_score();
    if (!quiet) core::log_info("sweep: sparsity {:g} (actual {:.3f}): score {:.3f}", s, p.actual_sparsity, p.score);
    points.push_back(p);
  }
  return points;
}

std::string sweep_csv(const std::vector<SweepPoint>& points) {
  std::string out = "requested_sparsity,actual_sparsity,threshold,eval_tokens,kv_bytes,kv_bytes_full,kv_ratio,score,mask_dir\n";
  for (const auto& p : points) {
    out += fmt::format("{:g},{:.6f},{:.6g},{},{},{},{:.6f},{:.6f},{}\n", p.requested_sparsity, p.actual_sparsity,
                       p.threshold, p.eval_tokens, p.kv_bytes, p.kv_bytes_full,
                       p.kv_bytes_full > 0 ? static_cast<double>(p.kv_bytes) / static_cast<double>(p.kv_bytes_full) : 0.0,
                       p.score, p.mask_dir.string());
  }
  return out;
}

std::string sweep_table(const std::vector<SweepPoint>& points) {
  std::string out = fmt::format("{:>9} {:>9} {:>10} {:>12} {:>9} {:>7}\n", "requested", "actual", "threshold",
                                "kv_MiB", "kv_ratio", "score");
  for (const auto& p : points) {
    out += fmt::format("{:>9g} {:>9.4f} {:>10.4g} {:>12.2f} {:>9.3f} {:>7.3f}\n", p.requested_sparsity,
                       p.actual_sparsity, p.threshold, static_cast<double>(p.kv_bytes) / 1048576.0,
                       p.kv_bytes_full > 0 ? static_cast<double>(p.kv_bytes) / static_cast<double>(p.kv_bytes_full) : 0.0,
                       p.score);
  }
  return out;
}

std::string sweep_svg(const std::vector<SweepPoint>& points, const std::string& title) {
  io::LineChart c;
  c.title = title;
  c.x_label = "Streaming heads (actual sparsity)";
  c.y_label = "Score / KV-cache ratio";
  io::LineSeries score{"score", {}, {}}, kv{"KV cache vs full", {}, {}};
  for (const auto& p : points) {
    score.x.push_back(p.actual_sparsity);
    score.y.push_back(p.score);
    kv.x.push_back(p.actual_sparsity);
    kv.y.push_back(p.kv_bytes_full > 0 ? static_cast<double>(p.kv_bytes) / static_cast<double>(p.kv_bytes_full) : 0.0);
  }
  c.series = {score, kv};
  c.y_min = 0.0;
  c.y_max = 1.0;
  return io::render_line_chart_svg(c);
}

}  // namespace duo::eval
