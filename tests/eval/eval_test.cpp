// Eval tests: the official NIAH word-overlap score and the passkey exact match on hand-computed
// cases, random masks and mask specs, the NIAH grid outputs (results.csv rows, niah.svg), the
// sparsity sweep (exported masks, actual sparsity, KV bytes by the formula) and the bench report.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/memory.h"
#include "eval/bench.h"
#include "eval/model_setup.h"
#include "eval/niah.h"
#include "eval/niah_score.h"
#include "eval/sweep.h"
#include "eval/system_stats.h"
#include "eval_helpers.h"
#include "mask/binarize.h"
#include "mask/kv_budget.h"
#include "mask/mask_dir.h"

namespace duo::eval {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(NiahScore, OfficialWordOverlap) {
  const std::string answer = "eat a sandwich and sit in Dolores Park on a sunny day.";
  // 12 answer words, 11 distinct ("a" twice): a perfect answer scores 11/12, as in visualize.py.
  EXPECT_DOUBLE_EQ(needle_word_score(answer, answer), 11.0 / 12.0);
  EXPECT_DOUBLE_EQ(needle_word_score(" EAT A Sandwich\nand sit in dolores park on a sunny day.", answer), 11.0 / 12.0);
  // "day" without the period is another word; "sandwich," too.
  EXPECT_DOUBLE_EQ(needle_word_score("eat a sandwich, sunny day", answer), 3.0 / 12.0);  // eat, a, sunny
  EXPECT_DOUBLE_EQ(needle_word_score("", answer), 0.0);
  EXPECT_DOUBLE_EQ(needle_word_score("Dolores Dolores Dolores", answer), 1.0 / 12.0);
  EXPECT_DOUBLE_EQ(needle_word_score("x", "a b"), 0.0);
  EXPECT_DOUBLE_EQ(needle_word_score("b", "a b"), 0.5);
  EXPECT_EQ(split_words("  a\tb\n\nc "), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(NiahScore, PasskeyExactMatch) {
  EXPECT_EQ(passkey_exact_score(" 71432. Remember", "71432"), 1.0);
  EXPECT_EQ(passkey_exact_score("71432", "71432"), 1.0);
  EXPECT_EQ(passkey_exact_score("714325", "71432"), 0.0);
  EXPECT_EQ(passkey_exact_score("7143", "71432"), 0.0);
  EXPECT_EQ(passkey_exact_score("The key is 71432", "71432"), 0.0);
  EXPECT_EQ(passkey_exact_score(" alpha bravo charlie", "alpha bravo"), 1.0);
  EXPECT_EQ(passkey_exact_score("anything", ""), 0.0);
  // Word-level tokenizers decode digits spaced out.
  EXPECT_EQ(passkey_exact_score(" 7 1 4 3 2 .", "71432"), 1.0);
  EXPECT_EQ(passkey_exact_score("7 1 4 3 2", "71432"), 1.0);
  EXPECT_EQ(passkey_exact_score("7 1 4 3 2 5", "71432"), 0.0);
  EXPECT_EQ(passkey_exact_score("7 1 4 3", "71432"), 0.0);
  EXPECT_EQ(passkey_exact_score("7 1 4 3 3", "71432"), 0.0);
  EXPECT_EQ(passkey_exact_score("alpha bravo x", "alpha bravo"), 1.0);
  EXPECT_EQ(passkey_exact_score("alpha bravos", "alpha bravo"), 0.0);
}

TEST(ModelSetup, RandomMasksAndMaskSpecs) {
  auto m = random_mask(4, 3, 0.75, 1);
  int64_t full = 0;
  for (double v : m.values) full += v != 0.0;
  EXPECT_EQ(full, 3);  // round(0.25 * 12)
  EXPECT_EQ(random_mask(4, 3, 0.75, 1).values, m.values);
  EXPECT_NE(random_mask(4, 3, 0.75, 2).values, m.values);
  auto spec = load_mask_spec("random:0.5:3", 4, 3, 8, 16);
  EXPECT_EQ(spec.layout.total_stream(), 6);
  EXPECT_EQ(spec.layout.sink, 8);
  EXPECT_EQ(load_mask_spec("", 4, 3).layout.total_full(), 12);
  EXPECT_THROW(load_mask_spec("random:abc", 4, 3), duo::Error);
  // A mask folder of another shape is refused with both shapes.
  auto dir = testing::temp_dir("eval_mask_shape");
  mask::ExportInfo info;
  mask::export_mask(dir, mask::binarize_by_sparsity(random_mask(2, 2, 0.0, 0), 0.5), info);
  try {
    load_mask_spec(dir.string(), 4, 3);
    FAIL() << "expected a shape error";
  } catch (const duo::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("[2, 2]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[4, 3]"), std::string::npos) << msg;
  }
  EXPECT_EQ(load_mask_spec(dir.string(), 2, 2).layout.total_stream(), 2);
}

TEST(Niah, PasskeyGridWritesResultsAndHeatmap) {
  auto tok = testing::passkey_tokenizer();
  auto model = model::Model::random(model::ModelConfig::from_json(testing::eval_model_config(tok.vocab_size())), 3);
  auto opts = resolve_niah_options("", {"kind=passkey", "context_lengths=[64,96]", "depth_percents=[0,50,100]",
                                        "max_new_tokens=3"});
  EXPECT_EQ(opts.prompt.kind, "passkey");
  EXPECT_EQ(opts.prompt.haystack_dir, "builtin");
  const auto& cfg = model.config();
  auto layout = load_mask_spec("random:0.5", cfg.n_layers, cfg.n_kv_heads, 4, 16).layout;
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
  const auto csv = lines_of(core::read_file(dir / "results.csv"));
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
  auto layout = load_mask_spec("full", cfg.n_layers, cfg.n_kv_heads).layout;
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
  const auto csv = lines_of(niah_csv(run));
  ASSERT_EQ(csv.size(), 3u);
  EXPECT_NE(csv[1].find("\"say \"\"hi\"\", ok\""), std::string::npos) << csv[1];
  EXPECT_DOUBLE_EQ(run.mean_score(), 0.5);
  EXPECT_NE(niah_svg(run, "t").find("0.50"), std::string::npos);
  EXPECT_THROW(resolve_niah_options("", {"kind=other"}), duo::Error);
  EXPECT_THROW(resolve_niah_options("", {"no_such_key=1"}), duo::Error);
}

TEST(Sweep, ExportsEachMaskAndReportsKvBytes) {
  auto tok = testing::passkey_tokenizer();
  auto model = model::Model::random(model::ModelConfig::from_json(testing::eval_model_config(tok.vocab_size())), 3);
  const auto& cfg = model.config();
  mask::GateTable gates{cfg.n_layers, cfg.n_kv_heads, {0.9, 0.1, 0.5, 0.3}};
  SweepOptions o;
  o.sparsities = {0, 0.5, 1};
  o.sink = 4;
  o.recent = 16;
  o.eval = resolve_niah_options("", {"kind=passkey", "context_lengths=[64]", "depth_percents=[50]", "max_new_tokens=2"});
  auto dir = testing::temp_dir("eval_sweep");
  auto points = run_sweep(model, tok, gates, "gates.tsv", o, dir, /*quiet=*/true);
  ASSERT_EQ(points.size(), 3u);
  const double want_sparsity[] = {0.0, 0.5, 1.0};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(points[i].actual_sparsity, want_sparsity[i]);
    auto m = mask::load_mask_dir(points[i].mask_dir);
    EXPECT_EQ(m.sink, 4);
    EXPECT_EQ(points[i].kv_bytes, mask::kv_cache_bytes(m.mask, 64, 4, 16, cfg.head_dim, 4));
    EXPECT_TRUE(std::filesystem::exists(points[i].mask_dir / "eval" / "results.csv"));
  }
  // Sparsity 0.5 keeps the two largest gates (0.9, 0.5) full.
  auto half = mask::load_mask_dir(points[1].mask_dir).mask;
  EXPECT_EQ(half.values, (std::vector<double>{1, 0, 1, 0}));
  // Hand count at 64 tokens, head_dim 16, fp32: all full = 2 layers * 2 heads * 64 * 2 * 16 * 4.
  EXPECT_EQ(points[0].kv_bytes, 2 * 2 * 64 * 2 * 16 * 4);
  EXPECT_EQ(points[2].kv_bytes, 2 * 2 * 20 * 2 * 16 * 4);
  EXPECT_EQ(lines_of(sweep_csv(points)).size(), 4u);
  EXPECT_NE(sweep_svg(points, "sweep").find("<svg"), std::string::npos);
  for (const auto& p : points) EXPECT_TRUE(p.random_scores.empty());
}

TEST(Sweep, RandomMasksHaveTheSameSizeAndTheirOwnScores) {
  auto tok = testing::passkey_tokenizer();
  auto model = model::Model::random(model::ModelConfig::from_json(testing::eval_model_config(tok.vocab_size())), 3);
  const auto& cfg = model.config();
  mask::GateTable gates{cfg.n_layers, cfg.n_kv_heads, {0.9, 0.1, 0.5, 0.3}};
  SweepOptions o;
  o.sparsities = {0, 0.5};
  o.sink = 4;
  o.recent = 16;
  o.random_masks = 3;
  o.eval = resolve_niah_options("", {"kind=passkey", "context_lengths=[64]", "depth_percents=[50]", "max_new_tokens=2"});
  auto dir = testing::temp_dir("eval_sweep_random");
  auto points = run_sweep(model, tok, gates, "gates.tsv", o, dir, /*quiet=*/true);
  ASSERT_EQ(points.size(), 2u);
  // Sparsity 0: one possible mask, so the "random" scores are the trained score, not re-run.
  EXPECT_EQ(points[0].random_scores, std::vector<double>(3, points[0].score));
  EXPECT_FALSE(std::filesystem::exists(points[0].mask_dir / "random1"));
  ASSERT_EQ(points[1].random_scores.size(), 3u);
  for (int r = 1; r <= 3; ++r) {
    auto m = mask::read_gate_tsv(points[1].mask_dir / ("random" + std::to_string(r)) / "full_attention_heads.tsv");
    EXPECT_EQ(std::count(m.values.begin(), m.values.end(), 0.0), 2) << r;  // 2 of 4 heads streaming
    EXPECT_EQ(m.values, random_mask(cfg.n_layers, cfg.n_kv_heads, 0.5, static_cast<uint64_t>(r)).values);
  }
  const double mean = (points[1].random_scores[0] + points[1].random_scores[1] + points[1].random_scores[2]) / 3;
  EXPECT_DOUBLE_EQ(points[1].random_mean(), mean);
  const auto md = lines_of(sweep_markdown(points));
  ASSERT_EQ(md.size(), 4u);
  EXPECT_NE(md[0].find("random masks"), std::string::npos);
  EXPECT_EQ(md[2].rfind("| 0 | 0.000 | 1.000 |", 0), 0u) << md[2];
}

TEST(Bench, ReportsBothSidesWithFormulaKvBytes) {
  auto model = model::Model::random(model::ModelConfig::from_json(testing::eval_model_config(96)), 3);
  const auto& cfg = model.config();
  auto m = load_mask_spec("random:0.5", cfg.n_layers, cfg.n_kv_heads, 4, 8);
  BenchOptions o;
  o.contexts = {48, 24};
  o.decode_tokens = 3;
  o.bandwidth_bytes = 8 << 20;
  auto r = run_bench(model, m.layout, o, /*quiet=*/true);
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0].tokens, 24);  // sorted
  EXPECT_GT(r.bandwidth_gb_per_s, 0.0);
  EXPECT_DOUBLE_EQ(r.bandwidth_gb_per_s, std::max(r.bandwidth_before_gb_per_s, r.bandwidth_after_gb_per_s));
  for (const auto& row : r.rows) {
    const int64_t total = row.tokens + o.decode_tokens;
    EXPECT_EQ(row.duo.kv_bytes, mask::kv_cache_bytes(m.layout.to_mask(), total, 4, 8, cfg.head_dim, 4));
    EXPECT_EQ(row.full.kv_bytes, mask::kv_cache_bytes_full(cfg.n_layers, cfg.n_kv_heads, total, cfg.head_dim, 4));
    EXPECT_EQ(row.full.bytes_per_token, r.weight_bytes + row.full.kv_used_bytes);
    EXPECT_GT(row.full.decode_ms_per_token, 0.0);
    EXPECT_GT(row.duo.peak_rss_bytes, 0);
  }
  auto j = r.to_json();
  EXPECT_TRUE(j["rows"][0]["ratios"].contains("decode_speedup_over_bytes_ratio"));
  // Weights read per token: every parameter but the embedding table, plus one embedding row.
  int64_t params = 0;
  for (const auto& [name, t] : model.named_weights()) params += t.numel();
  EXPECT_EQ(weight_bytes_per_token(model), (params - cfg.vocab_size * cfg.hidden_size + cfg.hidden_size) * 4);
}

// After a reset, the high-water mark forgets a 256 MiB buffer that was touched and freed before.
TEST(Bench, PeakResidentMemoryResets) {
  {
    at::Tensor big = at::ones({int64_t{64} << 20});  // 256 MiB, written: resident
    EXPECT_GT(peak_rss_bytes(), int64_t{256} << 20);
  }
  const int64_t before = peak_rss_bytes();
  duo::core::release_free_memory();  // in case duo's heap policy kept the block
  if (!reset_peak_rss()) GTEST_SKIP() << "/proc/self/clear_refs is not writable here";
  EXPECT_LT(peak_rss_bytes(), before - (int64_t{128} << 20));
}

// duo's heap policy keeps a freed 256 MiB block resident for reuse; releasing gives it back.
TEST(Bench, FreedMemoryIsKeptUntilReleased) {
  duo::core::keep_freed_memory();
  const int64_t base = current_rss_bytes();
  { at::Tensor big = at::ones({int64_t{64} << 20}); }  // 256 MiB, written, then freed
  EXPECT_GT(current_rss_bytes(), base + (int64_t{200} << 20)) << "freed memory went back to the kernel";
  duo::core::release_free_memory();
  EXPECT_LT(current_rss_bytes(), base + (int64_t{64} << 20)) << "release_free_memory kept it";
}

}  // namespace
}  // namespace duo::eval
