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

std::string gate_set_label(const std::string& name) { return name.empty() ? "trained gates" : name; }

std::vector<std::pair<std::string, std::string>> parse_gate_list(const std::string& spec) {
  DUO_CHECK(!spec.empty(), "sweep: --gates is empty; expected a run folder or NAME=DIR,NAME=DIR,...");
  std::vector<std::string> items;
  size_t from = 0;
  while (true) {
    const size_t comma = spec.find(',', from);
    items.push_back(spec.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& item : items) {
    const size_t eq = item.find('=');
    const bool named = eq != std::string::npos && item.substr(0, eq).find('/') == std::string::npos &&
                       !(items.size() == 1 && fs::exists(item));
    if (!named) {
      DUO_CHECK(items.size() == 1,
                "sweep: --gates item '{}' has no name; expected one unnamed folder, or NAME=DIR for every item "
                "(e.g. trained=outputs/run,razor=outputs/razor)", item);
      out.emplace_back("", item);
      continue;
    }
    const std::string name = item.substr(0, eq), path = item.substr(eq + 1);
    DUO_CHECK(!name.empty() && name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
                  std::string::npos && name != "." && name != "..",
              "sweep: --gates item '{}': expected NAME=DIR with a name of letters, digits, '_', '-' or '.'; got name '{}'",
              item, name);
    DUO_CHECK(name != "random", "sweep: --gates name 'random' is reserved for the random-mask baseline; got '{}'", item);
    DUO_CHECK(!path.empty(), "sweep: --gates item '{}' names no folder; expected NAME=DIR", item);
    for (const auto& [n, p] : out)
      DUO_CHECK(n != name, "sweep: --gates names '{}' twice; expected each method once", name);
    out.emplace_back(name, path);
  }
  return out;
}

std::vector<SweepPoint> run_sweep(const model::Model& model, const tokenizer::Tokenizer& tok,
                                  const std::vector<GateSet>& sets, const SweepOptions& opts,
                                  const fs::path& out_dir, bool quiet) {
  const auto& cfg = model.config();
  DUO_CHECK(!sets.empty(), "sweep: no gate sets; expected at least one --gates folder");
  const bool legacy = sets.size() == 1 && sets[0].name.empty();
  for (const auto& set : sets) {
    mask::check_shape(set.gates, cfg.n_layers, cfg.n_kv_heads, set.source);
    DUO_CHECK(legacy || !set.name.empty(), "sweep: with several gate sets every set needs a name; got an unnamed {}",
              set.source);
  }
  check_sweep_options(opts);
  const int64_t eval_tokens = *std::max_element(opts.eval.context_lengths.begin(), opts.eval.context_lengths.end());
  const int64_t elem = static_cast<int64_t>(c10::elementSize(opts.eval.kv_dtype.value_or(model.options().dtype)));
  const int64_t n_heads = cfg.n_layers * cfg.n_kv_heads;
  std::vector<SweepPoint> points;
  for (double s : opts.sparsities) {
    std::vector<SweepPoint> row;
    int64_t n_stream = 0;  // the same for every set (the count rule of binarize_by_sparsity)
    for (const auto& set : sets) {
      SweepPoint p;
      p.method = set.name;
      auto b = mask::binarize_by_sparsity(set.gates, s);
      n_stream = static_cast<int64_t>(std::count(b.mask.values.begin(), b.mask.values.end(), 0.0));
      mask::ExportInfo info;
      info.window = opts.window;
      info.source = set.source;
      p.mask_dir = legacy ? out_dir / "masks" / sweep_mask_name(s) : out_dir / "masks" / set.name / sweep_mask_name(s);
      mask::export_mask(p.mask_dir, b, info);
      p.requested_sparsity = s;
      p.actual_sparsity = b.actual_sparsity;
      p.threshold = b.threshold;
      p.eval_tokens = eval_tokens;
      p.kv_bytes = mask::kv_cache_bytes(b.mask, eval_tokens, opts.window, cfg.head_dim, elem);
      p.kv_bytes_full = mask::kv_cache_bytes_full(cfg.n_layers, cfg.n_kv_heads, eval_tokens, cfg.head_dim, elem);
      auto layout = runtime::HeadLayout::from_mask(b.mask, opts.window);
      auto run = run_niah(model, tok, layout, opts.eval, quiet);
      write_niah_outputs(p.mask_dir / "eval", run,
                         fmt::format("{} sparsity {:g}{}", opts.eval.kind, s, legacy ? "" : " | " + set.name));
      p.score = run.mean_score();
      if (!quiet) {
        core::log_info("sweep: {}sparsity {:g} (actual {:.3f}): score {:.3f}", legacy ? "" : set.name + " ", s,
                       p.actual_sparsity, p.score);
      }
      row.push_back(p);
    }
    // Every set binarizes to ceil(s * (N - 1)) streaming heads: one random baseline per sparsity.
    std::vector<double> random_scores;
    for (int64_t r = 0; r < opts.random_masks; ++r) {
      if (n_stream == 0 || n_stream == n_heads) {
        random_scores.push_back(row.front().score);  // only one mask has this many streaming heads
        continue;
      }
      const auto rm = mask::random_mask(cfg.n_layers, cfg.n_kv_heads,
                                        static_cast<double>(n_stream) / static_cast<double>(n_heads),
                                        static_cast<uint64_t>(r + 1));
      auto rlayout = runtime::HeadLayout::from_mask(rm, opts.window);
      auto rrun = run_niah(model, tok, rlayout, opts.eval, quiet);
      const auto rdir = (legacy ? row.front().mask_dir : out_dir / "masks" / "random" / sweep_mask_name(s)) /
                        fmt::format("random{}", r + 1);
      mask::write_gate_tsv(rdir / "full_attention_heads.tsv", rm);
      write_niah_outputs(rdir, rrun, fmt::format("{} random mask {} sparsity {:g}", opts.eval.kind, r + 1, s));
      random_scores.push_back(rrun.mean_score());
    }
    for (auto& p : row) p.random_scores = random_scores;
    if (!quiet && !random_scores.empty())
      core::log_info("sweep: sparsity {:g}: random masks {}", s, random_stats(row.front(), ""));
    points.insert(points.end(), row.begin(), row.end());
  }
  return points;
}

std::vector<SweepPoint> run_sweep(const model::Model& model, const tokenizer::Tokenizer& tok,
                                  const mask::GateTable& gates, const std::string& gate_source,
                                  const SweepOptions& opts, const fs::path& out_dir, bool quiet) {
  return run_sweep(model, tok, std::vector<GateSet>{GateSet{"", gates, gate_source}}, opts, out_dir, quiet);
}

std::string sweep_csv(const std::vector<SweepPoint>& points) {
  std::string out =
      "requested_sparsity,actual_sparsity,threshold,eval_tokens,kv_bytes,kv_bytes_full,kv_ratio,score,"
      "random_masks,random_mean,random_scores,mask_dir,method\n";
  for (const auto& p : points) {
    std::string scores;
    for (double x : p.random_scores) scores += fmt::format("{}{:.6f}", scores.empty() ? "" : " ", x);
    out += fmt::format("{:g},{:.6f},{:.6g},{},{},{},{:.6f},{:.6f},{},{},{},{},{}\n", p.requested_sparsity,
                       p.actual_sparsity, p.threshold, p.eval_tokens, p.kv_bytes, p.kv_bytes_full, kv_ratio(p),
                       p.score, p.random_scores.size(),
                       p.random_scores.empty() ? std::string() : fmt::format("{:.6f}", p.random_mean()), scores,
                       p.mask_dir.string(), p.method.empty() ? "trained" : p.method);
  }
  return out;
}

namespace {

// The method labels in order of first appearance, and the points grouped by sparsity (each group
// in that method order).
std::vector<std::string> method_names(const std::vector<SweepPoint>& points) {
  std::vector<std::string> names;
  for (const auto& p : points)
    if (std::find(names.begin(), names.end(), p.method) == names.end()) names.push_back(p.method);
  return names;
}

std::vector<std::vector<const SweepPoint*>> by_sparsity(const std::vector<SweepPoint>& points) {
  std::vector<std::vector<const SweepPoint*>> groups;
  for (const auto& p : points) {
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& g) { return g.front()->requested_sparsity == p.requested_sparsity; });
    if (it == groups.end()) groups.push_back({&p});
    else it->push_back(&p);
  }
  return groups;
}

const SweepPoint* find_method(const std::vector<const SweepPoint*>& group, const std::string& name) {
  for (const auto* p : group)
    if (p->method == name) return p;
  return nullptr;
}

}  // namespace

std::string sweep_table(const std::vector<SweepPoint>& points) {
  const auto names = method_names(points);
  const bool legacy = names.size() == 1 && names[0].empty();
  std::string out = fmt::format("{:>9} {:>9} {:>12} {:>9}", "requested", "actual", "kv_MiB", "kv_ratio");
  if (legacy) out += fmt::format(" {:>10} {:>7}", "threshold", "score");
  else
    for (const auto& n : names) out += fmt::format(" {:>14}", n);
  out += "  random masks: mean (min..max)\n";
  for (const auto& g : by_sparsity(points)) {
    const auto& p = *g.front();
    out += fmt::format("{:>9g} {:>9.4f} {:>12.2f} {:>9.3f}", p.requested_sparsity, p.actual_sparsity,
                       static_cast<double>(p.kv_bytes) / 1048576.0, kv_ratio(p));
    if (legacy) out += fmt::format(" {:>10.4g} {:>7.3f}", p.threshold, p.score);
    else
      for (const auto& n : names) {
        const auto* m = find_method(g, n);
        out += m ? fmt::format(" {:>14.3f}", m->score) : fmt::format(" {:>14}", "-");
      }
    out += fmt::format("  {}\n", random_stats(p, "-"));
  }
  return out;
}

std::string sweep_markdown(const std::vector<SweepPoint>& points) {
  const bool with_random = std::any_of(points.begin(), points.end(), [](const auto& p) { return !p.random_scores.empty(); });
  const auto names = method_names(points);
  std::string out = "| streaming heads (requested) | actual | KV cache vs full |", rule = "|---|---|---|";
  for (const auto& n : names) {
    out += fmt::format(" {} |", gate_set_label(n));
    rule += "---|";
  }
  if (with_random) {
    out += " random masks, mean (min..max) |";
    rule += "---|";
  }
  out += "\n" + rule + "\n";
  for (const auto& g : by_sparsity(points)) {
    const auto& p = *g.front();
    out += fmt::format("| {:g} | {:.3f} | {:.3f} |", p.requested_sparsity, p.actual_sparsity, kv_ratio(p));
    for (const auto& n : names) {
      const auto* m = find_method(g, n);
      out += m ? fmt::format(" {:.3f} |", m->score) : " - |";
    }
    out += with_random ? fmt::format(" {} |\n", random_stats(p, "-")) : "\n";
  }
  return out;
}

std::string sweep_svg(const std::vector<SweepPoint>& points, const std::string& title) {
  io::LineChart c;
  c.title = title;
  c.x_label = "Streaming heads (actual sparsity)";
  c.y_label = "Score / KV-cache ratio";
  const auto names = method_names(points);
  for (const auto& n : names) {
    io::LineSeries ser{"score (" + gate_set_label(n) + ")", {}, {}};
    for (const auto& p : points) {
      if (p.method != n) continue;
      ser.x.push_back(p.actual_sparsity);
      ser.y.push_back(p.score);
    }
    c.series.push_back(ser);
  }
  io::LineSeries rnd{"score (random masks, mean)", {}, {}}, kv{"KV cache vs full", {}, {}};
  for (const auto& g : by_sparsity(points)) {
    const auto& p = *g.front();
    if (!p.random_scores.empty()) {
      rnd.x.push_back(p.actual_sparsity);
      rnd.y.push_back(p.random_mean());
    }
    kv.x.push_back(p.actual_sparsity);
    kv.y.push_back(kv_ratio(p));
  }
  if (!rnd.x.empty()) c.series.push_back(rnd);
  c.series.push_back(kv);
  c.y_min = 0.0;
  c.y_max = 1.0;
  return io::render_line_chart_svg(c);
}

}  // namespace duo::eval
