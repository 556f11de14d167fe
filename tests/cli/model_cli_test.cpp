// `duo forward`, `duo info` and `duo make-checkpoint` run as a user would: the built binary
// (DUO_BINARY) on tiny checkpoints written here; outputs read back from HDF5 and compared with
// the in-process model; a corrupt checkpoint gives one "error: ..." line, exit code 1, no file.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/cli_runner.h"
#include "common/tiny_checkpoint.h"
#include "io/hdf5.h"
#include "model/model.h"
#include "model/preset.h"

namespace {

namespace dt = duo::testing;
namespace fs = std::filesystem;

using duo::testing::RunResult;
using duo::testing::slurp;

RunResult run_duo(const std::string& args, const fs::path& dir) {
  return duo::testing::run_duo(args + " --threads 1", dir);
}

TEST(ModelCli, ForwardWritesLogitsAndHidden) {
  auto dir = dt::temp_dir("cli_forward");
  auto cfg = dt::tiny_config("qwen2");
  cfg["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 64}};
  dt::write_tiny_checkpoint(dir / "m", cfg, 3);
  auto r = run_duo("forward --model " + (dir / "m").string() + " --ids 1,2,3,50,7 --out " + (dir / "f.h5").string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  duo::io::H5Reader h5(dir / "f.h5");
  at::Tensor logits = h5.read("logits"), hidden = h5.read("hidden");
  EXPECT_EQ(logits.scalar_type(), at::kFloat);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{5, 96}));
  EXPECT_EQ(hidden.sizes(), (std::vector<int64_t>{5, 64}));
  auto m = duo::model::Model::load(dir / "m");
  auto ids = at::tensor(std::vector<int64_t>{1, 2, 3, 50, 7}, at::kLong);
  auto h = m.hidden(ids);
  EXPECT_TRUE(at::allclose(hidden, h, 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(logits, m.lm_head(h), 1e-5, 1e-6));
  // bf16 compute: still float32 datasets, close to fp32.
  r = run_duo("forward --model " + (dir / "m").string() + " --ids 1,2,3,50,7 --dtype bf16 --out " +
                  (dir / "b.h5").string(),
              dir);
  ASSERT_EQ(r.code, 0) << r.err;
  at::Tensor lb = duo::io::H5Reader(dir / "b.h5").read("logits");
  EXPECT_EQ(lb.scalar_type(), at::kFloat);
  EXPECT_LT((lb - logits).abs().max().item<double>() / logits.abs().max().item<double>(), 5e-2);
  fs::remove_all(dir);
}

TEST(ModelCli, CorruptOrMismatchedCheckpointFailsCleanly) {
  auto dir = dt::temp_dir("cli_corrupt");
  dt::write_tiny_checkpoint(dir / "m", dt::tiny_config("llama"), 3);
  fs::resize_file(dir / "m" / "model.safetensors", 1000);  // truncated
  auto r = run_duo("forward --model " + (dir / "m").string() + " --ids 1,2 --out " + (dir / "f.h5").string(), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(dir / "f.h5"));

  // A config that does not match the weights (one more layer): the missing tensor is named.
  auto cfg = dt::tiny_config("llama");
  dt::write_tiny_checkpoint(dir / "m", cfg, 3);
  cfg["num_hidden_layers"] = 3;
  duo::io::write_json(dir / "m" / "config.json", cfg);
  r = run_duo("forward --model " + (dir / "m").string() + " --ids 1,2 --out " + (dir / "f.h5").string(), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("error: "), std::string::npos);
  EXPECT_NE(r.err.find("model.layers.2."), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "f.h5"));

  // Token id past the vocabulary.
  cfg["num_hidden_layers"] = 2;
  duo::io::write_json(dir / "m" / "config.json", cfg);
  r = run_duo("forward --model " + (dir / "m").string() + " --ids 1,96 --out " + (dir / "f.h5").string(), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("out of range"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "f.h5"));
  fs::remove_all(dir);
}

TEST(ModelCli, MakeCheckpointThenInfo) {
  auto dir = dt::temp_dir("cli_make");
  const std::string preset = std::string(DUO_SOURCE_DIR) + "/configs/models/tiny-llama.yaml";
  auto r = run_duo("make-checkpoint --preset " + preset + " --out " + (dir / "m").string() +
                       " --seed 5 --dtype bf16 --shard-mb 0.05",
                   dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "m" / "model.safetensors.index.json"));
  auto cfg = duo::model::ModelConfig::load(dir / "m");
  EXPECT_EQ(cfg.torch_dtype, "bfloat16");
  EXPECT_EQ(cfg.vocab_size, 256);
  r = run_duo("info --model " + (dir / "m").string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("LlamaForCausalLM"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("KV bytes/token   256"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("BF16 x21"), std::string::npos) << r.out;
  // Same seed, same weights: a second run into another folder loads to identical logits.
  r = run_duo("make-checkpoint --preset " + preset + " --out " + (dir / "n").string() + " --seed 5 --dtype bf16", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  auto ids = at::tensor(std::vector<int64_t>{4, 8, 15, 16, 23, 42}, at::kLong);
  EXPECT_TRUE(at::equal(duo::model::Model::load(dir / "m").logits(ids), duo::model::Model::load(dir / "n").logits(ids)));
  fs::remove_all(dir);
}

TEST(ModelCli, EveryShippedPresetIsValid) {
  for (const auto& e : fs::directory_iterator(std::string(DUO_SOURCE_DIR) + "/configs/models")) {
    if (e.path().extension() != ".yaml") continue;
    auto doc = duo::model::read_preset(e.path());
    EXPECT_NO_THROW(duo::model::ModelConfig::from_json(doc, e.path().string())) << e.path();
  }
}

}  // namespace
