// The sparsity sweep (eval/sweep.h): exported masks, actual sparsity, KV bytes by the formula,
// and random masks of the same size with their own scores.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>

#include "common/passkey_tokenizer.h"
#include "common/text_lines.h"
#include "eval/niah.h"
#include "eval/sweep.h"
#include "io/svg.h"
#include "mask/kv_budget.h"
#include "mask/mask_dir.h"
#include "mask/random_mask.h"
#include "tokenizer/tokenizer.h"

namespace duo::eval {
namespace {

// A random 2 x 2 model, four gates and a one-cell passkey grid with the window sink 4 / recent 16.
struct SweepSetup {
  tokenizer::Tokenizer tok = testing::passkey_tokenizer();
  model::Model model =
      model::Model::random(model::ModelConfig::from_json(testing::eval_model_config(tok.vocab_size())), 3);
  mask::GateTable gates{model.config().n_layers, model.config().n_kv_heads, {0.9, 0.1, 0.5, 0.3}};
  SweepOptions opts = [] {
    SweepOptions o;
    o.window = StreamWindow{4, 16};
    o.eval = resolve_niah_options("", {"kind=passkey", "context_lengths=[64]", "depth_percents=[50]",
                                       "max_new_tokens=2"});
    return o;
  }();

  std::vector<SweepPoint> run(const std::string& name) {
    return run_sweep(model, tok, gates, "gates.tsv", opts, testing::temp_dir(name), /*quiet=*/true);
  }
};

TEST(Sweep, ExportsEachMaskAndReportsKvBytes) {
  SweepSetup t;
  t.opts.sparsities = {0, 0.5, 1};
  const auto& cfg = t.model.config();
  auto points = t.run("eval_sweep");
  ASSERT_EQ(points.size(), 3u);
  const double want_sparsity[] = {0.0, 0.5, 1.0};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(points[i].actual_sparsity, want_sparsity[i]);
    auto m = mask::load_mask_dir(points[i].mask_dir);
    EXPECT_EQ(m.window, (StreamWindow{4, 16}));
    EXPECT_EQ(points[i].kv_bytes, mask::kv_cache_bytes(m.mask, 64, StreamWindow{4, 16}, cfg.head_dim, 4));
    EXPECT_TRUE(std::filesystem::exists(points[i].mask_dir / "eval" / "results.csv"));
  }
  // Sparsity 0.5 keeps the two largest gates (0.9, 0.5) full.
  auto half = mask::load_mask_dir(points[1].mask_dir).mask;
  EXPECT_EQ(half.values, (std::vector<double>{1, 0, 1, 0}));
  // Hand count at 64 tokens, head_dim 16, fp32: all full = 2 layers * 2 heads * 64 * 2 * 16 * 4.
  EXPECT_EQ(points[0].kv_bytes, 2 * 2 * 64 * 2 * 16 * 4);
  EXPECT_EQ(points[2].kv_bytes, 2 * 2 * 20 * 2 * 16 * 4);
  EXPECT_EQ(testing::lines_of(sweep_csv(points)).size(), 4u);
  EXPECT_NE(sweep_svg(points, "sweep").find("<svg"), std::string::npos);
  for (const auto& p : points) EXPECT_TRUE(p.random_scores.empty());
}

TEST(Sweep, RandomMasksHaveTheSameSizeAndTheirOwnScores) {
  SweepSetup t;
  t.opts.sparsities = {0, 0.5};
  t.opts.random_masks = 3;
  const auto& cfg = t.model.config();
  auto points = t.run("eval_sweep_random");
  ASSERT_EQ(points.size(), 2u);
  // Sparsity 0: one possible mask, so the "random" scores are the trained score, not re-run.
  EXPECT_EQ(points[0].random_scores, std::vector<double>(3, points[0].score));
  EXPECT_FALSE(std::filesystem::exists(points[0].mask_dir / "random1"));
  ASSERT_EQ(points[1].random_scores.size(), 3u);
  for (int r = 1; r <= 3; ++r) {
    auto m = mask::read_gate_tsv(points[1].mask_dir / ("random" + std::to_string(r)) / "full_attention_heads.tsv");
    EXPECT_EQ(std::count(m.values.begin(), m.values.end(), 0.0), 2) << r;  // 2 of 4 heads streaming
    EXPECT_EQ(m.values, mask::random_mask(cfg.n_layers, cfg.n_kv_heads, 0.5, static_cast<uint64_t>(r)).values);
  }
  const double mean = (points[1].random_scores[0] + points[1].random_scores[1] + points[1].random_scores[2]) / 3;
  EXPECT_DOUBLE_EQ(points[1].random_mean(), mean);
  const auto md = testing::lines_of(sweep_markdown(points));
  ASSERT_EQ(md.size(), 4u);
  EXPECT_NE(md[0].find("random masks"), std::string::npos);
  EXPECT_EQ(md[2].rfind("| 0 | 0.000 | 1.000 |", 0), 0u) << md[2];
}

TEST(Sweep, SeveralMethodsSideBySideWithOneRandomBaseline) {
  SweepSetup t;
  t.opts.sparsities = {0, 0.5};
  t.opts.random_masks = 2;
  const auto dir = testing::temp_dir("eval_sweep_multi");
  std::vector<GateSet> sets = {{"trained", t.gates, "a.tsv"},
                               {"razor", mask::GateTable{2, 2, {0.1, 0.9, 0.3, 0.5}}, "b.tsv"},
                               {"attention-mass", mask::GateTable{2, 2, {0.2, 0.4, 0.6, 0.8}}, "c.tsv"}};
  auto points = run_sweep(t.model, t.tok, sets, t.opts, dir, /*quiet=*/true);
  // One row per method and sparsity, ordered by sparsity then method.
  ASSERT_EQ(points.size(), 6u);
  const auto csv = testing::lines_of(sweep_csv(points));
  ASSERT_EQ(csv.size(), 7u);
  EXPECT_NE(csv[0].find(",method"), std::string::npos) << csv[0];
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(points[i].method, sets[i % 3].name);
    EXPECT_EQ(points[i].mask_dir, dir / "masks" / sets[i % 3].name / sweep_mask_name(points[i].requested_sparsity));
    const auto end = "," + sets[i % 3].name;
    EXPECT_EQ(csv[i + 1].compare(csv[i + 1].size() - end.size(), end.size(), end), 0) << csv[i + 1];
  }
  // Each method's own mask: at 0.5 the two largest scores stay full.
  EXPECT_EQ(mask::load_mask_dir(points[4].mask_dir).mask.values, (std::vector<double>{0, 1, 0, 1}));
  EXPECT_EQ(mask::load_mask_dir(points[5].mask_dir).mask.values, (std::vector<double>{0, 0, 1, 1}));
  // One random baseline per sparsity, shared by the methods, in masks/random.
  EXPECT_EQ(points[3].random_scores, points[5].random_scores);
  EXPECT_TRUE(std::filesystem::exists(dir / "masks" / "random" / "s=0.5" / "random2" / "full_attention_heads.tsv"));
  const auto md = testing::lines_of(sweep_markdown(points));
  ASSERT_EQ(md.size(), 4u);
  EXPECT_EQ(md[0], "| streaming heads (requested) | actual | KV cache vs full | trained | razor | attention-mass | "
                   "random masks, mean (min..max) |");
  EXPECT_EQ(md[1], "|---|---|---|---|---|---|---|");
  const auto svg = sweep_svg(points, "sweep");
  for (const char* label : {"score (trained)", "score (razor)", "score (attention-mass)", "score (random masks, mean)"})
    EXPECT_NE(svg.find(label), std::string::npos) << label;
}

TEST(Sweep, GateListNamesMethodsOrOneFolder) {
  using P = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(parse_gate_list("outputs/run"), (P{{"", "outputs/run"}}));
  EXPECT_EQ(parse_gate_list("outputs/masks/s=0.5"), (P{{"", "outputs/masks/s=0.5"}}));  // '/' before '='
  EXPECT_EQ(parse_gate_list("trained=outputs/run,razor=out/r"), (P{{"trained", "outputs/run"}, {"razor", "out/r"}}));
  EXPECT_EQ(parse_gate_list("trained=run"), (P{{"trained", "run"}}));
  EXPECT_THROW(parse_gate_list(""), Error);
  EXPECT_THROW(parse_gate_list("a=x,a=y"), Error);        // twice
  EXPECT_THROW(parse_gate_list("random=x"), Error);       // reserved
  EXPECT_THROW(parse_gate_list("trained=x,other"), Error);  // unnamed among named
  EXPECT_THROW(parse_gate_list("a b=x"), Error);          // name characters
  EXPECT_THROW(parse_gate_list("a="), Error);             // no folder
}

// Every <text> of a chart (rotated ones aside) lies inside its viewBox, by the width estimate.
void expect_labels_inside(const std::string& svg) {
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, std::regex("viewBox=\"0 0 ([0-9]+) ([0-9]+)\"")));
  const double width = std::stod(m[1]);
  const std::regex text("<text x=\"([0-9.]+)\" y=\"[0-9.]+\"([^>]*)>([^<]*)</text>");
  int n = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), text); it != std::sregex_iterator(); ++it, ++n) {
    const std::string attrs = (*it)[2], content = (*it)[3];
    if (attrs.find("transform") != std::string::npos) continue;
    const double x = std::stod((*it)[1]);
    std::smatch fs;
    const double font = std::regex_search(attrs, fs, std::regex("font-size=\"([0-9]+)\"")) ? std::stod(fs[1]) : 11.0;
    const double w = io::text_width_estimate(content, font);
    double x0 = x, x1 = x + w;
    if (attrs.find("text-anchor=\"middle\"") != std::string::npos) x0 = x - w / 2, x1 = x + w / 2;
    if (attrs.find("text-anchor=\"end\"") != std::string::npos) x0 = x - w, x1 = x;
    EXPECT_GE(x0, 0.0) << content;
    EXPECT_LE(x1, width) << content << " ends at " << x1 << " of " << width;
  }
  EXPECT_GT(n, 10);
}

TEST(Sweep, EveryLabelFitsInsideTheSvg) {
  SweepPoint a, b;
  a.method = b.method = "";
  a.requested_sparsity = a.actual_sparsity = 0.0;
  b.requested_sparsity = b.actual_sparsity = 1.0;
  a.kv_bytes = a.kv_bytes_full = b.kv_bytes_full = 100;
  b.kv_bytes = 10;
  a.random_scores = b.random_scores = {0.5};
  expect_labels_inside(sweep_svg({a, b}, "Sparsity sweep (passkey) | models/duo-tiny"));
  // Long method names and a long title widen the picture instead of running off its edge.
  std::vector<SweepPoint> many;
  for (const char* name : {"trained", "attention-mass-with-a-long-name", "razor", "retrieval"}) {
    for (auto p : {a, b}) {
      p.method = name;
      many.push_back(p);
    }
  }
  expect_labels_inside(sweep_svg(many, std::string(120, 'W')));
}

}  // namespace
}  // namespace duo::eval
