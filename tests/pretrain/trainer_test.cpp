// duo pretrain on a tiny config: the loss falls, checkpoint + resume is bitwise an uninterrupted
// run, and the written folder is a Hugging Face model that duo::model loads and runs.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/threads.h"
#include "io/checkpoint.h"
#include "io/json.h"
#include "model/model.h"
#include "pretrain/trainer.h"
#include "tokenizer/tokenizer.h"

namespace duo::pretrain {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("duo_pretrain_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

PretrainOptions tiny(int64_t steps) {
  PretrainOptions o;
  o.seed = 7;
  o.lr = 1e-2;
  o.warmup_steps = 2;
  o.model.n_layers = 2;
  o.model.hidden_size = 32;
  o.model.n_heads = 4;
  o.model.n_kv_heads = 2;
  o.model.intermediate_size = 64;
  o.curriculum.stage_end = {steps / 2, steps};
  o.curriculum.stage_context_min = {96, 128};
  o.curriculum.stage_context_max = {128, 192};
  o.curriculum.stage_batch = {2, 1};
  o.curriculum.stage_passkey_length = {8, 5};
  o.checkpoint_every = 3;
  o.eval_every = 0;
  o.eval_lengths = {128};
  o.eval_depths = {0.5};
  o.eval_samples = 1;
  o.log_every = 100;
  return o;
}

class PretrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    core::set_threads(1);
    core::set_log_level(core::LogLevel::kWarn);
  }
};

TEST_F(PretrainTest, LossFalls) {
  auto dir = fresh_dir("loss");
  RunControl rc;
  rc.quiet = true;
  rc.final_eval = false;
  auto res = run_pretrain(tiny(24), dir, rc);
  EXPECT_TRUE(res.finished);
  EXPECT_EQ(res.step, 24);
  EXPECT_GT(res.first_loss, 4.0);  // about log(vocab) at random init
  EXPECT_LT(res.last_loss, 0.6 * res.first_loss);
  fs::remove_all(dir);
}

TEST_F(PretrainTest, ResumeIsBitwiseIdentical) {
  auto a = fresh_dir("straight");
  auto b = fresh_dir("resumed");
  RunControl rc;
  rc.quiet = true;
  rc.final_eval = false;
  auto opts = tiny(8);
  run_pretrain(opts, a, rc);
  RunControl part = rc;
  part.stop_after = 5;  // stops between checkpoints: the stop itself must write one
  auto r1 = run_pretrain(opts, b, part);
  EXPECT_EQ(r1.step, 5);
  EXPECT_FALSE(r1.finished);
  // A second fresh run into the same folder is refused without resume.
  EXPECT_THROW(run_pretrain(opts, b, rc), duo::Error);
  part.stop_after = 0;
  part.resume = true;
  auto r2 = run_pretrain(opts, b, part);
  EXPECT_EQ(r2.step, 8);
  EXPECT_TRUE(r2.finished);

  auto ca = io::Checkpoint::open(a / "checkpoint.safetensors");
  auto cb = io::Checkpoint::open(b / "checkpoint.safetensors");
  ASSERT_EQ(ca.names(), cb.names());
  int64_t compared = 0;
  for (const auto& name : ca.names()) {
    auto ta = ca.tensor(name);
    auto tb = cb.tensor(name);
    EXPECT_TRUE(at::equal(ta, tb)) << name;
    ++compared;
  }
  EXPECT_GT(compared, 3 * 10);  // params + both moments
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST_F(PretrainTest, WritesALoadableHuggingFaceFolder) {
  auto dir = fresh_dir("hf");
  RunControl rc;
  rc.quiet = true;
  auto res = run_pretrain(tiny(4), dir, rc);
  ASSERT_TRUE(res.last_eval.has_value());
  EXPECT_EQ(res.last_eval->cells.size(), 1u);
  EXPECT_TRUE(fs::exists(dir / "eval.tsv"));
  const auto m_dir = dir / "model";
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "generation_config.json"}) {
    EXPECT_TRUE(fs::exists(m_dir / f)) << f;
  }
  auto cfg = io::read_json(m_dir / "config.json");
  EXPECT_EQ(cfg["model_type"], "llama");
  EXPECT_EQ(cfg["num_hidden_layers"], 2);
  EXPECT_EQ(cfg["num_key_value_heads"], 2);

  auto m = model::Model::load(m_dir);
  auto tok = tokenizer::Tokenizer::load(m_dir);
  EXPECT_EQ(m.config().vocab_size, tok.vocab_size());
  auto ids32 = tok.encode("The grass is green. The sky is blue.", /*add_special_tokens=*/true);
  auto ids = at::tensor(std::vector<int64_t>(ids32.begin(), ids32.end()), at::kLong);
  auto logits = m.logits(ids);
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{ids.size(0), tok.vocab_size()}));
  EXPECT_TRUE(logits.isfinite().all().item<bool>());
  // The saved weights are the trained ones: they equal the checkpoint's params.
  auto ck = io::Checkpoint::open(dir / "checkpoint.safetensors");
  for (const auto& [name, w] : m.named_weights()) {
    EXPECT_TRUE(at::equal(w, ck.tensor("param." + name))) << name;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace duo::pretrain
