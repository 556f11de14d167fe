// Sparsity sweep (see sweep.h).
#include "eval/sweep.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "io/svg.h"
#include "mask/binarize.h"
#include "mask/kv_budget.h"
#include "mask/mask_dir.h"
#include "mask/random_mask.h"
#include "runtime/head_layout.h"

namespace duo::eval {

namespace fs = std::filesystem;

std::string sweep_mask_name(double sparsity) { return fmt::format("s={:g}", sparsity); }

double SweepPoint::random_mean() const {
  if (random_scores.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0.0;
  for (double x : random_scores) s += x;
  return s / static_cast<double>(random_scores.size());
}

namespace {

double kv_ratio(const SweepPoint& p) {
  return p.kv_bytes_full > 0 ? static_cast<double>(p.kv_bytes) / static_cast<double>(p.kv_bytes_full) : 0.0;
}

std::string random_stats(const SweepPoint& p, const char* none) {
  if (p.random_scores.empty()) return none;
  const auto [lo, hi] = std::minmax_element(p.random_scores.begin(), p.random_scores.end());
  return fmt::format("{:.3f} ({:.3f}..{:.3f})", p.random_mean(), *lo, *hi);
}

}  // namespace

void check_sweep_options(const SweepOptions& opts) {
  DUO_CHECK(!opts.sparsities.empty(), "sweep: --sparsities is empty; expected e.g. 0,0.25,0.5,0.75,0.9");
  for (size_t i = 0; i < opts.sparsities.size(); ++i) {
    const double s = opts.sparsities[i];
    DUO_CHECK(s >= 0.0 && s <= 1.0, "sweep: key 'sparsities[{}]' (--sparsities) must be a fraction of heads in [0, 1]; "
              "got {}", i, s);
  }
  DUO_CHECK(opts.random_masks >= 0, "sweep: key 'random_masks' (--random) must be >= 0; got {}", opts.random_masks);
  check_niah_options(opts.eval);
}

std::vector<SweepPoint> run_sweep(const model::Model& model, const tokenizer::Tokenizer& tok,
                                  const mask::GateTable& gates, const std::string& gate_source,
                                  const SweepOptions& opts, const fs::path& out_dir, bool quiet) {
  const auto& cfg = model.config();
  mask::check_shape(gates, cfg.n_layers, cfg.n_kv_heads, gate_source);
  check_sweep_options(opts);
  const int64_t eval_tokens = *std::max_element(opts.eval.context_lengths.begin(), opts.eval.context_lengths.end());
  const int64_t elem = static_cast<int64_t>(c10::elementSize(opts.eval.kv_dtype.value_or(model.options().dtype)));
  std::vector<SweepPoint> points;
  for (double s : opts.sparsities) {
    SweepPoint p;
    auto b = mask::binarize_by_sparsity(gates, s);
    mask::ExportInfo info;
    info.window = opts.window;
    info.source = gate_source;
    p.mask_dir = out_dir / "masks" / sweep_mask_name(s);
    mask::export_mask(p.mask_dir, b, info);
    p.requested_sparsity = s;
    p.actual_sparsity = b.actual_sparsity;
    p.threshold = b.threshold;
    p.eval_tokens = eval_tokens;
    p.kv_bytes = mask::kv_cache_bytes(b.mask, eval_tokens, opts.window, cfg.head_dim, elem);
    p.kv_bytes_full = mask::kv_cache_bytes_full(cfg.n_layers, cfg.n_kv_heads, eval_tokens, cfg.head_dim, elem);
    auto layout = runtime::HeadLayout::from_mask(b.mask, opts.window);
    auto run = run_niah(model, tok, layout, opts.eval, quiet);
    write_niah_outputs(p.mask_dir / "eval", run, fmt::format("{} sparsity {:g}", opts.eval.kind, s));
    p.score = run.mean_score();
    const int64_t n_heads = cfg.n_layers * cfg.n_kv_heads;
    const auto n_stream = static_cast<int64_t>(
        std::count(b.mask.values.begin(), b.mask.values.end(), 0.0));
    for (int64_t r = 0; r < opts.random_masks; ++r) {
      if (n_stream == 0 || n_stream == n_heads) {
        p.random_scores.push_back(p.score);  // only one mask has this many streaming heads
        continue;
      }
      const auto rm = mask::random_mask(cfg.n_layers, cfg.n_kv_heads,
                                        static_cast<double>(n_stream) / static_cast<double>(n_heads),
                                        static_cast<uint64_t>(r + 1));
      auto rlayout = runtime::HeadLayout::from_mask(rm, opts.window);
      auto rrun = run_niah(model, tok, rlayout, opts.eval, quiet);
      const auto rdir = p.mask_dir / fmt::format("random{}", r + 1);
      mask::write_gate_tsv(rdir / "full_attention_heads.tsv", rm);
      write_niah_outputs(rdir, rrun, fmt::format("{} random mask {} sparsity {:g}", opts.eval.kind, r + 1, s));
      p.random_scores.push_back(rrun.mean_score());
    }
    if (!quiet) {
      core::log_info("sweep: sparsity {:g} (actual {:.3f}): score {:.3f}{}", s, p.actual_sparsity, p.score,
                     p.random_scores.empty() ? "" : ", random masks " + random_stats(p, ""));
    }
    points.push_back(p);
  }
  return points;
}

std::string sweep_csv(const std::vector<SweepPoint>& points) {
  std::string out =
      "requested_sparsity,actual_sparsity,threshold,eval_tokens,kv_bytes,kv_bytes_full,kv_ratio,score,"
      "random_masks,random_mean,random_scores,mask_dir\n";
  for (const auto& p : points) {
    std::string scores;
    for (double x : p.random_scores) scores += fmt::format("{}{:.6f}", scores.empty() ? "" : " ", x);
    out += fmt::format("{:g},{:.6f},{:.6g},{},{},{},{:.6f},{:.6f},{},{},{},{}\n", p.requested_sparsity,
                       p.actual_sparsity, p.threshold, p.eval_tokens, p.kv_bytes, p.kv_bytes_full, kv_ratio(p),
                       p.score, p.random_scores.size(),
                       p.random_scores.empty() ? std::string() : fmt::format("{:.6f}", p.random_mean()), scores,
                       p.mask_dir.string());
  }
  return out;
}

std::string sweep_table(const std::vector<SweepPoint>& points) {
  std::string out = fmt::format("{:>9} {:>9} {:>10} {:>12} {:>9} {:>7}  {}\n", "requested", "actual", "threshold",
                                "kv_MiB", "kv_ratio", "score", "random masks: mean (min..max)");
  for (const auto& p : points) {
    out += fmt::format("{:>9g} {:>9.4f} {:>10.4g} {:>12.2f} {:>9.3f} {:>7.3f}  {}\n", p.requested_sparsity,
                       p.actual_sparsity, p.threshold, static_cast<double>(p.kv_bytes) / 1048576.0, kv_ratio(p),
                       p.score, random_stats(p, "-"));
  }
  return out;
}

std::string sweep_markdown(const std::vector<SweepPoint>& points) {
  const bool with_random = std::any_of(points.begin(), points.end(), [](const auto& p) { return !p.random_scores.empty(); });
  std::string out = "| streaming heads (requested) | actual | KV cache vs full | trained gates |";
  out += with_random ? " random masks, mean (min..max) |\n|---|---|---|---|---|\n" : "\n|---|---|---|---|\n";
  for (const auto& p : points) {
    out += fmt::format("| {:g} | {:.3f} | {:.3f} | {:.3f} |", p.requested_sparsity, p.actual_sparsity, kv_ratio(p),
                       p.score);
    out += with_random ? fmt::format(" {} |\n", random_stats(p, "-")) : "\n";
  }
  return out;
}

std::string sweep_svg(const std::vector<SweepPoint>& points, const std::string& title) {
  io::LineChart c;
  c.title = title;
  c.x_label = "Streaming heads (actual sparsity)";
  c.y_label = "Score / KV-cache ratio";
  io::LineSeries score{"score (trained gates)", {}, {}}, rnd{"score (random masks, mean)", {}, {}},
      kv{"KV cache vs full", {}, {}};
  for (const auto& p : points) {
    score.x.push_back(p.actual_sparsity);
    score.y.push_back(p.score);
    if (!p.random_scores.empty()) {
      rnd.x.push_back(p.actual_sparsity);
      rnd.y.push_back(p.random_mean());
    }
    kv.x.push_back(p.actual_sparsity);
    kv.y.push_back(kv_ratio(p));
  }
  c.series = {score};
  if (!rnd.x.empty()) c.series.push_back(rnd);
  c.series.push_back(kv);
  c.y_min = 0.0;
  c.y_max = 1.0;
  return io::render_line_chart_svg(c);
}

}  // namespace duo::eval
