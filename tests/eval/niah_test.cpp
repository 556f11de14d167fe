// The NIAH grid (eval/niah.h): option resolution by kind, results.csv rows, niah.svg, and
// several passkey samples per cell.
#include <gtest/gtest.h>

#include "common/passkey_tokenizer.h"
#include "common/text_lines.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "eval/niah.h"
#include "eval/niah_score.h"
#include "mask/random_mask.h"
#include "runtime/head_layout.h"

namespace duo::eval {
namespace {

TEST(Niah, PasskeyGridWritesResultsAndHeatmap) {
  auto tok = testing::passkey_tokenizer();
  auto model = model::Model::random(model::ModelConfig::from_json(testing::eval_model_config(tok.vocab_size())), 3);
  auto opts = resolve_niah_options("", {"kind=passkey", "context_lengths=[64,96]", "depth_percents=[0,50,100]",
                                        "max_new_tokens=3"});
  EXPECT_EQ(opts.prompt.kind, "passkey");
  EXPECT_EQ(opts.prompt.haystack_dir, "builtin");
  const auto& cfg = model.config();
  const auto half = mask::random_mask(cfg.n_layers, cfg.n_kv_heads, 0.5, /*seed=*/0);
  auto layout = runtime::HeadLayout::from_mask(half, StreamWindow{4, 16});
  auto run = run_niah(model, tok, layout, opts, /*quiet=*/true);
  ASSERT_EQ(run.points.size(), 6u);
  for (const auto& p : run.points) {
    EXPECT_LE(p.prompt_tokens, p.context_length);
    EXPECT_GT(p.prompt_tokens, p.context_length / 2);
    EXPECT_EQ(p.expected.size(), 5u);  // a 5-digit key
    EXPECT_EQ(p.score, passkey_exact_score(p.response, p.expected));
    EXPECT_GT(p.kv_bytes, 0);
  }
  auto dir = testing::temp_dir("eval_niah");
  write_niah_outputs(dir, run, "test grid");
  const auto csv = testing::lines_of(core::read_file(dir / "results.csv"));
  ASSERT_EQ(csv.size(), 7u);
  EXPECT_EQ(csv[0].rfind("context_length,depth_percent,", 0), 0u);
  EXPECT_EQ(csv[1].rfind("64,0,", 0), 0u);
  EXPECT_EQ(csv[2].rfind("96,0,", 0), 0u);
  const auto svg = core::read_file(dir / "niah.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("test grid"), std::string::npos);
  EXPECT_NE(svg.find(">96<"), std::string::npos);
}

TEST(Niah, SamplesPerCellDrawTheirOwnKeys) {
  auto tok = testing::passkey_tokenizer();
  auto model = model::Model::random(model::ModelConfig::from_json(testing::eval_model_config(tok.vocab_size())), 3);
  auto opts = resolve_niah_options("", {"kind=passkey", "context_lengths=[64]", "depth_percents=[0,100]",
                                        "max_new_tokens=1", "samples=3"});
  const auto& cfg = model.config();
  auto layout = runtime::HeadLayout::all_full(cfg.n_layers, cfg.n_kv_heads);
  auto run = run_niah(model, tok, layout, opts, /*quiet=*/true);
  ASSERT_EQ(run.points.size(), 6u);
  for (size_t cell = 0; cell < 2; ++cell) {
    const auto* p = &run.points[cell * 3];
    EXPECT_EQ(p[0].sample, 0);
    EXPECT_EQ(p[2].sample, 2);
    EXPECT_EQ(p[0].depth_percent, p[2].depth_percent);
    EXPECT_NE(p[0].expected, p[1].expected);
    EXPECT_NE(p[1].expected, p[2].expected);
  }
  // Sample 0 is the single-sample grid's prompt.
  opts.samples = 1;
  EXPECT_EQ(run_niah(model, tok, layout, opts, true).points[0].expected, run.points[0].expected);
  opts.kind = "needle";
  opts.samples = 2;
  EXPECT_THROW(run_niah(model, tok, layout, opts, true), duo::Error);
}

TEST(Niah, CsvQuotesResponsesAndSvgAveragesCells) {
  NiahRun run;
  run.context_lengths = {10};
  run.depth_percents = {50};
  NiahPoint p;
  p.context_length = 10;
  p.depth_percent = 50;
  p.response = "say \"hi\", ok";
  p.expected = "x";
  p.score = 0.25;
  run.points = {p, p};
  run.points[1].score = 0.75;
  const auto csv = testing::lines_of(niah_csv(run));
  ASSERT_EQ(csv.size(), 3u);
  EXPECT_NE(csv[1].find("\"say \"\"hi\"\", ok\""), std::string::npos) << csv[1];
  EXPECT_DOUBLE_EQ(run.mean_score(), 0.5);
  EXPECT_NE(niah_svg(run, "t").find("0.50"), std::string::npos);
  EXPECT_THROW(resolve_niah_options("", {"kind=other"}), duo::Error);
  EXPECT_THROW(resolve_niah_options("", {"no_such_key=1"}), duo::Error);
}

}  // namespace
}  // namespace duo::eval
