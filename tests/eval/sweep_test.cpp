// The sparsity sweep (eval/sweep.h): exported masks, actual sparsity, KV bytes by the formula,
// and random masks of the same size with their own scores.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "common/passkey_tokenizer.h"
#include "common/text_lines.h"
#include "eval/niah.h"
#include "eval/sweep.h"
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

}  // namespace
}  // namespace duo::eval
