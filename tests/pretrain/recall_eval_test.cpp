// recall_one's one-forward check against plain greedy decoding (one forward per new token), and
// the recall grid's shape and bookkeeping.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>
#include <unistd.h>

#include "core/threads.h"
#include "model/model.h"
#include "pretrain/corpus_tokenizer.h"
#include "pretrain/hf_export.h"
#include "pretrain/recall_eval.h"
#include "tokenizer/tokenizer.h"

namespace duo::pretrain {
namespace {

namespace fs = std::filesystem;

struct Fixture {
  fs::path dir;
  tokenizer::Tokenizer tok;
  model::Model m;
};

Fixture make_fixture() {
  core::set_threads(1);
  auto dir = fs::temp_directory_path() / ("duo_pretrain_recall_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  write_corpus_tokenizer(dir / "tokenizer.json");
  auto tok = tokenizer::Tokenizer::load(dir / "tokenizer.json");
  ShapeOptions s;
  s.n_layers = 2;
  s.hidden_size = 32;
  s.n_heads = 4;
  s.n_kv_heads = 2;
  s.intermediate_size = 64;
  s.initializer_range = 0.5;  // peaked logits, so that greedy choices are not near-ties
  auto m = model::Model::random(make_model_config(s, tok.vocab_size()), 11);
  return {dir, tok, m};
}

// The plain reference: append argmax tokens one forward at a time.
std::vector<int64_t> greedy(const model::Model& m, std::vector<int64_t> ids, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    auto logits = m.logits(at::tensor(ids, at::kLong));
    ids.push_back(logits[-1].argmax().item<int64_t>());
  }
  return std::vector<int64_t>(ids.end() - n, ids.end());
}

TEST(RecallEval, OneForwardCheckEqualsGreedyDecoding) {
  auto f = make_fixture();
  auto prompt32 = f.tok.encode("What is the pass key? The pass key is", /*add_special_tokens=*/true);
  std::vector<int64_t> prompt(prompt32.begin(), prompt32.end());
  auto gen = greedy(f.m, prompt, 5);
  auto ids = prompt;
  ids.insert(ids.end(), gen.begin(), gen.end());
  const Span answer{static_cast<int64_t>(prompt.size()), 5};
  int64_t digits = 0;
  EXPECT_TRUE(recall_one(f.m, ids, answer, {}, &digits));
  EXPECT_EQ(digits, 5);
  // Any wrong answer token is a miss; a wrong third token leaves the first two right.
  for (int64_t k = 0; k < 5; ++k) {
    auto bad = ids;
    bad[static_cast<size_t>(answer.start + k)] = (bad[static_cast<size_t>(answer.start + k)] + 1) % f.tok.vocab_size();
    int64_t d = 0;
    EXPECT_FALSE(recall_one(f.m, bad, answer, {}, &d)) << k;
    EXPECT_GE(d, k);
    EXPECT_LT(d, 5);
  }
  fs::remove_all(f.dir);
}

TEST(RecallEval, GridCoversEveryCellOnHeldOutSamples) {
  auto f = make_fixture();
  RecallOptions o;
  o.lengths = {128, 192};
  o.depths = {0.0, 1.0};
  o.samples = 3;
  auto r = evaluate_recall(f.m, f.tok, o);
  ASSERT_EQ(r.cells.size(), 4u);
  EXPECT_EQ(r.cells[1].length, 128);
  EXPECT_EQ(r.cells[1].depth, 1.0);
  for (const auto& c : r.cells) {
    EXPECT_EQ(c.total, 3);
    EXPECT_EQ(c.digits_total, 15);
  }
  EXPECT_LE(r.mean_accuracy(), 1.0);
  EXPECT_NE(r.table().find("192"), std::string::npos);
  // Folder form: the same numbers after writing and loading the model.
  write_hf_folder(f.dir / "m", f.m);
  auto r2 = evaluate_recall(f.dir / "m", o);
  for (size_t i = 0; i < r.cells.size(); ++i) EXPECT_EQ(r.cells[i].digits_correct, r2.cells[i].digits_correct);
  fs::remove_all(f.dir);
}

}  // namespace
}  // namespace duo::pretrain
