// The scorers on a real (tiny, random) GQA model: attention-mass through the model's forward equals
// a dense computation from the model's own q and k; every method gives one score per KV head in
// [0, 1], the max over its query heads (except razor, which ranks), deterministically; the output
// folder reads back as gates.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/passkey_tokenizer.h"
#include "common/tiny_checkpoint.h"
#include "core/atomic_file.h"
#include "mask/binarize.h"
#include "mask/mask_dir.h"
#include "score/run_score.h"
#include "score/score_prompts.h"

namespace duo::score {
namespace {

struct ScoreSetup {
  tokenizer::Tokenizer tok = duo::testing::passkey_tokenizer();
  model::Model model =
      model::Model::random(model::ModelConfig::from_json(duo::testing::eval_model_config(tok.vocab_size())), 3);
  ScoreOptions opts = [] {
    ScoreOptions o;
    o.prompts = eval::resolve_niah_options("", {"kind=passkey", "context_lengths=[96]", "depth_percents=[20,60]",
                                                "max_new_tokens=4"});
    o.window = StreamWindow{4, 16};
    o.block = 32;
    o.razor.length = 24;
    o.razor.copies = 3;
    return o;
  }();
};

// Mean outside-window mass per query head of one layer, from a materialized softmax.
at::Tensor dense_mass(const at::Tensor& q, const at::Tensor& k, StreamWindow w) {
  const int64_t t = q.size(1), g = q.size(0) / k.size(0);
  auto s = at::matmul(q, k.repeat_interleave(g, 0).transpose(1, 2)) / std::sqrt(double(q.size(2)));
  auto i = at::arange(t).unsqueeze(1), j = at::arange(t).unsqueeze(0);
  auto p = at::softmax(s.masked_fill(j.gt(i), -INFINITY), -1);  // [Hq, T, T]
  auto drop = j.le(i).logical_and(j.ge(w.sink)).logical_and((i - j).ge(w.recent));
  auto mass = (p * drop).sum(-1);  // [Hq, T]
  return mass.narrow(1, w.slots(), t - w.slots()).mean(1).to(at::kDouble);
}

TEST(RunScore, AttentionMassThroughTheModelEqualsDense) {
  ScoreSetup s;
  s.opts.method = "attention-mass";
  s.opts.prompts.depth_percents = {50};
  auto r = run_score(s.model, s.tok, s.opts);
  const auto prompt = build_score_prompts(s.tok, s.opts.prompts).at(0);
  std::vector<int64_t> ids(prompt.ids.begin(), prompt.ids.end());
  auto x = s.model.embed(at::tensor(ids, at::TensorOptions().dtype(at::kLong)));
  auto pos = at::arange(static_cast<int64_t>(ids.size()), at::TensorOptions().dtype(at::kLong));
  for (int64_t l = 0; l < s.model.config().n_layers; ++l) {
    auto qkv = s.model.qkv(l, s.model.attn_norm(l, x), pos);
    auto want = dense_mass(qkv.q, qkv.k, s.opts.window);
    for (int64_t h = 0; h < s.model.config().n_heads; ++h)
      EXPECT_NEAR(r.query_scores.at(l, h), want[h].item<double>(), 1e-5) << "layer " << l << " head " << h;
    x = s.model.layer_forward(l, x, attention::LayerSpec{});
  }
}

TEST(RunScore, EveryMethodScoresEachKvHeadInUnitRange) {
  ScoreSetup s;
  const auto& cfg = s.model.config();
  for (const char* method : {"retrieval", "razor", "attention-mass"}) {
    s.opts.method = method;
    auto a = run_score(s.model, s.tok, s.opts), b = run_score(s.model, s.tok, s.opts);
    ASSERT_EQ(a.kv_scores.n_layers, cfg.n_layers) << method;
    ASSERT_EQ(a.kv_scores.n_kv_heads, cfg.n_kv_heads) << method;
    ASSERT_EQ(a.query_scores.n_kv_heads, cfg.n_heads) << method;
    EXPECT_EQ(a.kv_scores.values, b.kv_scores.values) << method << ": not deterministic";
    for (double v : a.kv_scores.values) {
      EXPECT_GE(v, 0.0) << method;
      EXPECT_LE(v, 1.0) << method;
    }
    if (std::string(method) != "razor") {
      const int64_t g = cfg.n_heads / cfg.n_kv_heads;
      for (int64_t l = 0; l < cfg.n_layers; ++l)
        for (int64_t h = 0; h < cfg.n_kv_heads; ++h)
          EXPECT_EQ(a.kv_scores.at(l, h), std::max(a.query_scores.at(l, h * g), a.query_scores.at(l, h * g + 1)));
    } else {
      EXPECT_TRUE(a.details.contains("induction_kv_heads"));
      // Razor's scores are ranks: each of 1 - k / (N - 1) once.
      auto v = a.kv_scores.values;
      std::sort(v.begin(), v.end());
      for (size_t k = 0; k < v.size(); ++k) EXPECT_NEAR(v[k], double(k) / double(v.size() - 1), 1e-12);
    }
  }
  s.opts.method = "retrieval";
  EXPECT_EQ(run_score(s.model, s.tok, s.opts).details["prompts"].get<int64_t>(), 2);
}

TEST(RunScore, OutputFolderReadsBackAsGates) {
  ScoreSetup s;
  s.opts.method = "attention-mass";
  auto r = run_score(s.model, s.tok, s.opts);
  const auto dir = duo::testing::temp_dir("score_out");
  write_score_outputs(dir / "mass", r, {{"model", "tiny"}}, "attention-mass scores");
  auto src = mask::load_gates(dir / "mass");
  EXPECT_EQ(src.gates.values, r.kv_scores.values);  // %.18e round-trips doubles
  EXPECT_EQ(src.config["method"], "attention-mass");
  EXPECT_EQ(src.config["model"], "tiny");
  EXPECT_NE(core::read_file(dir / "mass" / "scores.svg").find("<svg"), std::string::npos);
  auto b = mask::binarize_by_sparsity(mask::clip01(src.gates), 0.5);
  EXPECT_DOUBLE_EQ(b.actual_sparsity, 0.5);
  std::filesystem::remove_all(dir);
}

TEST(RunScore, RefusesUnknownMethodsAndBadSettings) {
  ScoreSetup s;
  s.opts.method = "entropy";
  EXPECT_THROW(run_score(s.model, s.tok, s.opts), Error);
  s.opts.method = "razor";
  s.opts.razor.copies = 1;
  EXPECT_THROW(check_score_options(s.opts), Error);
  s.opts.razor.copies = 2;
  s.opts.block = 0;
  EXPECT_THROW(check_score_options(s.opts), Error);
}

}  // namespace
}  // namespace duo::score
