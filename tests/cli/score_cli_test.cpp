// End-to-end `duo score` and the multi-method `duo sweep`: the built binary on a tiny checkpoint
// with a word-level tokenizer; its folders read back by `duo export` and `duo sweep` unchanged.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/cli_runner.h"
#include "common/passkey_tokenizer.h"
#include "common/text_lines.h"
#include "common/tiny_checkpoint.h"
#include "core/atomic_file.h"
#include "mask/gate_table.h"
#include "mask/mask_dir.h"

namespace duo {
namespace {

namespace fs = std::filesystem;

const char* kGrid = " --eval passkey --set context_lengths=[96] --set depth_percents=[30] --set max_new_tokens=3 ";

TEST(ScoreCli, EveryMethodWritesAGateFolderThatExportReads) {
  const auto dir = testing::eval_model_dir("cli_score");
  for (const std::string method : {"retrieval", "razor", "attention-mass"}) {
    const auto out = dir / method;
    auto r = testing::duo_cli("score -q --model '" + dir.string() + "' --method " + method + kGrid +
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
    r = testing::duo_cli("export --gates '" + out.string() + "' --sparsity 0.5 --out '" + (dir / ("mask-" + method)).string() + "'");
    ASSERT_EQ(r.code, 0) << r.out;
    auto m = mask::load_mask_dir(dir / ("mask-" + method)).mask;
    EXPECT_EQ(std::count(m.values.begin(), m.values.end(), 0.0), 2) << method;
  }
  fs::remove_all(dir);
}

TEST(ScoreCli, BadInputIsOneErrorLine) {
  const auto dir = testing::eval_model_dir("cli_score_bad");
  auto r = testing::duo_cli("score --model '" + dir.string() + "' --method razor --set razor.copies=1 --out '" +
                   (dir / "x").string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("error: score: key 'razor.copies'"), std::string::npos) << r.out;
  EXPECT_EQ(testing::lines_of(r.out).size(), 1u) << r.out;
  EXPECT_FALSE(fs::exists(dir / "x"));
  r = testing::duo_cli("score --model '" + dir.string() + "' --out '" + (dir / "x").string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("key 'method' is empty"), std::string::npos) << r.out;
  // attention-mass with prompts no longer than its window: nothing to measure.
  r = testing::duo_cli("score -q --model '" + dir.string() + "' --method attention-mass" + kGrid +
              "--deploy-sink 64 --deploy-recent 256 --out '" + (dir / "y").string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("no query has a key outside the window"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

TEST(ScoreCli, SweepComparesNamedMethods) {
  const auto dir = testing::eval_model_dir("cli_score_sweep");
  mask::write_gate_tsv(dir / "gates.tsv", mask::GateTable{2, 2, {0.9, 0.1, 0.2, 0.8}});
  auto r = testing::duo_cli("score -q --model '" + dir.string() + "' --method razor --set razor.length=16 --out '" +
                   (dir / "razor").string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto sweep = dir / "sweep";
  r = testing::duo_cli("sweep -q --model '" + dir.string() + "' --gates 'trained=" + (dir / "gates.tsv").string() +
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
  r = testing::duo_cli("sweep -q --model '" + dir.string() + "' --gates 'trained=" + (dir / "gates.tsv").string() + "," +
              (dir / "razor").string() + "' --out '" + (dir / "sweep2").string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("has no name"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace duo
