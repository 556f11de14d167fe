// `duo export` and `duo train` as a user runs them: official patterns in, masks out; bad inputs
// give one "error: ..." line, exit code 1 and no output.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <vector>

#include "common/cli_runner.h"
#include "common/tiny_checkpoint.h"
#include "core/stream_window.h"
#include "mask/gate_table.h"
#include "mask/mask_dir.h"

namespace fs = std::filesystem;
using duo::testing::run_duo;

namespace {

fs::path fresh(const std::string& name) {
  auto d = fs::temp_directory_path() / ("duo_cli_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

const fs::path kPatterns = fs::path(DUO_SHARED_DIR) / "reference" / "duo-attention-patterns";

}  // namespace

TEST(ExportCli, OfficialPatternToMask) {
  auto dir = fresh("export");
  auto r = run_duo("export --gates " + (kPatterns / "Mistral-7B-Instruct-v0.2").string() +
                       " --sparsity 0.75 --sink 64 --recent 256 --out " + (dir / "mask").string(),
                   dir);
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = duo::mask::load_mask_dir(dir / "mask");
  EXPECT_EQ(m.mask.n_layers, 32);
  EXPECT_EQ(m.mask.n_kv_heads, 8);
  int64_t full = 0;
  for (double v : m.mask.values) full += v == 1.0;
  EXPECT_EQ(full, 256 - 192);  // ceil(0.75 * 255) = 192 streaming heads
  EXPECT_NEAR(m.config["kv_cache_ratio"]["32768"].get<double>(), (64 * 32768.0 + 192 * 320.0) / (256 * 32768.0), 1e-12);
  EXPECT_NE(r.out.find("192 streaming"), std::string::npos) << r.out;
  // The resolved options beside the official-format config.json.
  const auto yaml = duo::testing::slurp(dir / "mask" / "export_config.yaml");
  EXPECT_NE(yaml.find("rule: \"sparsity\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("sparsity: 0.75"), std::string::npos) << yaml;
}

TEST(ExportCli, OptionsFromYamlAndFlags) {
  auto dir = fresh("export_yaml");
  std::ofstream(dir / "gates.tsv") << "0.9\t0.1\n0.2\t0.8\n";
  std::ofstream(dir / "export.yaml") << "gates: " << (dir / "gates.tsv").string()
                                     << "\nrule: threshold\nthreshold: 0.5\ndeploy_sink: 4\ndeploy_recent: 8\n";
  auto r = run_duo("export --config " + (dir / "export.yaml").string() + " --out " + (dir / "m1").string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = duo::mask::load_mask_dir(dir / "m1");
  EXPECT_EQ(m.window, (duo::StreamWindow{4, 8}));
  EXPECT_EQ(m.mask.values, (std::vector<double>{1, 0, 0, 1}));
  // --sparsity wins over the YAML's rule; --deploy-recent over its deploy_recent.
  r = run_duo("export --config " + (dir / "export.yaml").string() + " --sparsity 0.75 --deploy-recent 6 --out " +
                  (dir / "m2").string(),
              dir);
  ASSERT_EQ(r.code, 0) << r.err;
  m = duo::mask::load_mask_dir(dir / "m2");
  EXPECT_EQ(m.window, (duo::StreamWindow{4, 6}));
  EXPECT_EQ(m.mask.values, (std::vector<double>{1, 0, 0, 0}));
  EXPECT_NE(duo::testing::slurp(dir / "m2" / "export_config.yaml").find("rule: \"sparsity\""), std::string::npos);
  // An invalid deploy window is refused, naming its keys, before anything is written.
  r = run_duo("export --config " + (dir / "export.yaml").string() + " --recent 0 --out " + (dir / "m3").string(), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("deploy_sink/deploy_recent"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "m3"));
}

TEST(ExportCli, BadInputsFailCleanly) {
  auto dir = fresh("export_bad");
  // shape mismatch: both shapes in the message, nothing written
  auto r = run_duo("export --gates " + (kPatterns / "Llama-2-7B-32K-Instruct").string() +
                       " --sparsity 0.5 --layers 32 --kv-heads 8 --out " + (dir / "m1").string(),
                   dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("mask has shape [32, 32] (layers, kv heads) but the model has [32, 8]"), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir / "m1"));
  // a TSV with a NaN: file, line and column named
  duo::mask::GateTable t;
  std::ofstream(dir / "bad.tsv") << "0.5\t0.25\n0.1\tnan\n";
  r = run_duo("export --gates " + (dir / "bad.tsv").string() + " --threshold 0.5 --out " + (dir / "m2").string(), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bad.tsv: line 2, column 2: expected a finite number; got 'nan'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "m2"));
  // neither --sparsity nor --threshold
  r = run_duo("export --gates " + (dir / "bad.tsv").string() + " --out " + (dir / "m3").string(), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_FALSE(fs::exists(dir / "m3"));
}

TEST(TrainCli, UnknownKeyAndMissingModelFailBeforeWriting) {
  auto dir = fresh("train_bad");
  std::ofstream(dir / "t.yaml") << "model: nowhere\nthreads: 1\nquiet: true\ntrain_sink: 4\nlearning_rate: 0.1\n";
  auto r = run_duo("train --config " + (dir / "t.yaml").string() + " --set output_dir=" + (dir / "out").string(), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown key 'learning_rate'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out"));
  // The training window's keys are train_sink / train_recent; `sink` names no key.
  r = run_duo("train --set model=nowhere --set sink=4 --set output_dir=" + (dir / "out").string(), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown key 'sink'"), std::string::npos) << r.err;
  r = run_duo("train --set model=" + (dir / "missing").string() + " --set data_config=x.yaml --set output_dir=" +
                  (dir / "out").string(),
              dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;  // one line
  EXPECT_FALSE(fs::exists(dir / "out"));
}
