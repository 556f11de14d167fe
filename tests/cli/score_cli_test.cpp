// End-to-end `duo score` and the multi-method `duo sweep`: the built binary on a tiny checkpoint
// with a word-level tokenizer; its folders read back by `duo export` and `duo sweep` unchanged.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/passkey_tokenizer.h"
#include "common/text_lines.h"
#include "common/tiny_checkpoint.h"
#include "core/atomic_file.h"
#include "mask/gate_table.h"
#include "mask/mask_dir.h"

namespace duo {
namespace {

namespace fs = std::filesystem;

struct Result {
  int code = 0;
  std::string out;  // stdout and stderr
};

Result run_duo(const std::string& args) {
  const fs::path log = testing::temp_dir("cli_score_log") / "out.txt";
  const std::string cmd = "cd '" + std::string(DUO_SOURCE_DIR) + "' && OMP_NUM_THREADS=1 '" + std::string(DUO_BINARY) +
                          "' " + args + " > '" + log.string() + "' 2>&1";
  const int status = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = core::read_file(log);
  return r;
}

fs::path tiny_model_dir(const std::string& name) {
  auto dir = testing::temp_dir(name);
  auto tok_json = testing::passkey_tokenizer_json();
  testing::write_tiny_checkpoint(dir, testing::eval_model_config(static_cast<int64_t>(tok_json["model"]["vocab"].size())),
                                 /*seed=*/5);
  core::write_file_atomic(dir / "tokenizer.json", tok_json.dump());
  return dir;
}

const char* kGrid = " --eval passkey --set context_lengths=[96] --set depth_percents=[30] --set max_new_tokens=3 ";

TEST(ScoreCli, EveryMethodWritesAGateFolderThatExportReads) {
  const auto dir = tiny_model_dir("cli_score");
  for (const std::string method : {"retrieval", "razor", "attention-mass"}) {
    const auto out = dir / method;
    auto r = run_duo("score -q --model '" + dir.string() + "' --method " + method + kGrid +
                     "--set razor.length=16 --deploy-sink 4 --deploy-recent 16 --out '" + out.string() + "'");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("score: " + method), std::string::npos) << r.out;
    auto gates = mask::read_gate_tsv(out / "full_attention_heads.tsv");
    EXPECT_EQ(gates.n_layers, 2);
    EXPECT_EQ(gates.n_kv_heads, 2);
    for (double v : gates.values) EXPECT_TRUE(v >= 0.0 && v <= 1.0) << method << " " << v;
    auto cfg = nlohmann::json::parse(core::read_file(out / "config.json"));
    EXPECT_EQ(cfg["method"], method);
    EXPECT_EQ(cfg["num_query_heads"], 4);
    EXPECT_TRUE(cfg.contains(method == "razor" ? "razor" : "prompts")) << cfg.dump();
    EXPECT_NE(core::read_file(out / "scores.svg").find("<svg"), std::string::npos);
    EXPECT_NE(core::read_file(out / "config.yaml").find("method: \"" + method + "\""), std::string::npos);
    // `duo export` takes the folder as it takes trained gates.
    r = run_duo("export --gates '" + out.string() + "' --sparsity 0.5 --out '" + (dir / ("mask-" + method)).string() + "'");
    ASSERT_EQ(r.code, 0) << r.out;
    auto m = mask::load_mask_dir(dir / ("mask-" + method)).mask;
    EXPECT_EQ(std::count(m.values.begin(), m.values.end(), 0.0), 2) << method;
  }
  fs::remove_all(dir);
}

TEST(ScoreCli, BadInputIsOneErrorLine) {
  const auto dir = tiny_model_dir("cli_score_bad");
  auto r = run_duo("score --model '" + dir.string() + "' --method razor --set razor.copies=1 --out '" +
                   (dir / "x").string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("error: score: key 'razor.copies'"), std::string::npos) << r.out;
  EXPECT_EQ(testing::lines_of(r.out).size(), 1u) << r.out;
  EXPECT_FALSE(fs::exists(dir / "x"));
  r = run_duo("score --model '" + dir.string() + "' --out '" + (dir / "x").string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("key 'method' is empty"), std::string::npos) << r.out;
  // attention-mass with prompts no longer than its window: nothing to measure.
  r = run_duo("score -q --model '" + dir.string() + "' --method attention-mass" + kGrid +
              "--deploy-sink 64 --deploy-recent 256 --out '" + (dir / "y").string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("no query has a key outside the window"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

TEST(ScoreCli, SweepComparesNamedMethods) {
  const auto dir = tiny_model_dir("cli_score_sweep");
  mask::write_gate_tsv(dir / "gates.tsv", mask::GateTable{2, 2, {0.9, 0.1, 0.2, 0.8}});
  auto r = run_duo("score -q --model '" + dir.string() + "' --method razor --set razor.length=16 --out '" +
                   (dir / "razor").string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto sweep = dir / "sweep";
  r = run_duo("sweep -q --model '" + dir.string() + "' --gates 'trained=" + (dir / "gates.tsv").string() +
              ",razor=" + (dir / "razor").string() + "' --sparsities 0,0.5 --random 2 --sink 2 --recent 8" + kGrid +
              "--out '" + sweep.string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto csv = testing::lines_of(core::read_file(sweep / "sweep.csv"));
  ASSERT_EQ(csv.size(), 5u) << core::read_file(sweep / "sweep.csv");  // header + 2 methods x 2 sparsities
  const auto md = testing::lines_of(core::read_file(sweep / "sweep.md"));
  EXPECT_NE(md[0].find("| trained | razor | random masks"), std::string::npos) << md[0];
  EXPECT_TRUE(fs::exists(sweep / "masks" / "razor" / "s=0.5" / "full_attention_heads.tsv"));
  EXPECT_TRUE(fs::exists(sweep / "masks" / "random" / "s=0.5" / "random1" / "full_attention_heads.tsv"));
  // An unnamed item among named ones is refused before any work.
  r = run_duo("sweep -q --model '" + dir.string() + "' --gates 'trained=" + (dir / "gates.tsv").string() + "," +
              (dir / "razor").string() + "' --out '" + (dir / "sweep2").string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("has no name"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace duo
