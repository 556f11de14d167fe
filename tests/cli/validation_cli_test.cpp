// Issue 14, "nothing accepted that is wrong": values outside their domain are refused with one
// line naming the option before any work, a failed write to stdout fails the command, invalid
// UTF-8 is never changed silently, and bytes from a corrupt file are escaped in messages.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/cli_runner.h"
#include "common/passkey_tokenizer.h"
#include "common/tiny_checkpoint.h"
#include "core/atomic_file.h"
#include "io/json.h"

namespace fs = std::filesystem;
namespace dt = duo::testing;
using duo::testing::run_duo;

namespace {

// A tiny Llama folder with the passkey tokenizer (max_position_embeddings from eval_model_config).
fs::path model_dir(const std::string& name) {
  auto dir = dt::temp_dir(name);
  auto tok = dt::passkey_tokenizer_json();
  dt::write_tiny_checkpoint(dir / "m", dt::eval_model_config(static_cast<int64_t>(tok["model"]["vocab"].size())),
                            /*seed=*/3);
  duo::core::write_file_atomic(dir / "m" / "tokenizer.json", tok.dump());
  return dir;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

int64_t max_positions(const fs::path& m) {
  return duo::io::read_json(m / "config.json")["max_position_embeddings"].get<int64_t>();
}

}  // namespace

TEST(ValidationCli, ThreadsOutsideDomainRefused) {
  auto dir = dt::temp_dir("val_threads");
  for (const char* t : {"-3", "100000"}) {
    auto r = run_duo(std::string("tokenize --tokenizer x --text a --threads ") + t, dir);
    EXPECT_EQ(r.code, 1) << t;
    EXPECT_NE(r.err.find("key 'threads' (--threads) must be 0 (all cores) or 1.."), std::string::npos) << r.err;
  }
}

TEST(ValidationCli, IdsWithEmptyItemRefused) {
  auto dir = model_dir("val_ids");
  for (const char* ids : {"1,,3", ",1", "1,2,"}) {
    auto r = run_duo("decode --model " + q(dir / "m") + " --ids '" + ids + "'", dir);
    EXPECT_EQ(r.code, 1) << ids;
    EXPECT_NE(r.err.find("--ids: item"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("is empty"), std::string::npos) << r.err;
  }
}

TEST(ValidationCli, ExportSparsityOutsideUnitIntervalRefused) {
  auto dir = dt::temp_dir("val_export");
  duo::core::write_file_atomic(dir / "g.tsv", "0.1\t0.9\n0.3\t0.7\n");
  for (const char* s : {"-0.1", "1.5"}) {
    auto r = run_duo("export --gates " + q(dir / "g.tsv") + " --sparsity " + s + " --out " + q(dir / "out"), dir);
    EXPECT_EQ(r.code, 1) << s;
    EXPECT_NE(r.err.find("key 'sparsity' (--sparsity) must be a fraction of heads in [0, 1]"), std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(dir / "out")) << s;
  }
}

TEST(ValidationCli, SweepSparsitiesCheckedBeforeTheModelLoads) {
  auto dir = dt::temp_dir("val_sweep");
  auto r = run_duo("sweep --model nowhere --gates nowhere --sparsities 0.5,1.5", dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("key 'sparsities[1]' (--sparsities) must be a fraction of heads in [0, 1]; got 1.5"),
            std::string::npos)
      << r.err;
}

TEST(ValidationCli, ConfigKeysOutsideDomainRefused) {
  auto dir = model_dir("val_config");
  auto cfg = duo::io::read_json(dir / "m" / "config.json");
  cfg["max_position_embeddings"] = -1;
  duo::io::write_json(dir / "m" / "config.json", cfg);
  auto r = run_duo("decode --model " + q(dir / "m") + " --ids 1,2", dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("key 'max_position_embeddings' must be > 0; got -1"), std::string::npos) << r.err;
  cfg["max_position_embeddings"] = 64;
  cfg["num_hidden_layers"] = int64_t{1} << 40;
  duo::io::write_json(dir / "m" / "config.json", cfg);
  r = run_duo("decode --model " + q(dir / "m") + " --ids 1,2", dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("key 'num_hidden_layers' is 1099511627776 but the checkpoint's tensors hold only 2 layers"),
            std::string::npos)
      << r.err;
}

TEST(ValidationCli, DecodePastMaxPositionsRefusedUnlessAllowed) {
  auto dir = model_dir("val_long");
  const int64_t max_pos = max_positions(dir / "m");
  const std::string base = "decode --model " + q(dir / "m") + " --ids 3,4,5 --no-eos --threads 1 ";
  auto r = run_duo(base + "--max-new-tokens " + std::to_string(max_pos - 2), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is past the model's max_position_embeddings"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--allow-long-context"), std::string::npos) << r.err;
  r = run_duo(base + "--max-new-tokens " + std::to_string(max_pos - 3), dir);  // exactly max_pos: fine
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  // A typo of a size: one line about memory, not an allocation failure inside LibTorch.
  r = run_duo(base + "--allow-long-context --max-new-tokens 1000000000000", dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("warning: decode:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("error: generate: the KV cache for 3 prompt + 1000000000000 new tokens needs"),
            std::string::npos)
      << r.err;
  r = run_duo(base + "--max-new-tokens 0", dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("key 'max_new_tokens' (--max-new-tokens) must be >= 1; got 0"), std::string::npos) << r.err;
}

TEST(ValidationCli, EmptyPromptWarns) {
  auto dir = model_dir("val_empty_prompt");
  duo::core::write_file_atomic(dir / "empty.txt", "");
  auto r = run_duo("decode --model " + q(dir / "m") + " --prompt-file " + q(dir / "empty.txt") +
                       " --max-new-tokens 2 --no-eos --threads 1",
                   dir);
  EXPECT_NE(r.err.find("warning: decode: " + (dir / "empty.txt").string() + " is empty"), std::string::npos)
      << r.err;
}

TEST(ValidationCli, FailedWriteToStdoutFails) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  auto dir = dt::temp_dir("val_stdout");
  duo::core::write_file_atomic(dir / "tokenizer.json", dt::passkey_tokenizer_json().dump());
  const std::string cmd = std::string(DUO_BINARY) + " tokenize --tokenizer " + q(dir / "tokenizer.json") +
                          " --text 'the passkey is' >/dev/full 2>" + q(dir / "err.txt");
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(dt::slurp(dir / "err.txt").find("error: cannot write the output to stdout"), std::string::npos)
      << dt::slurp(dir / "err.txt");
}

TEST(ValidationCli, InvalidUtf8WarnsOrIsRefused) {
  auto dir = dt::temp_dir("val_utf8");
  duo::core::write_file_atomic(dir / "tokenizer.json", dt::passkey_tokenizer_json().dump());
  duo::core::write_file_atomic(dir / "bad.txt", "the \xff passkey \xfe");
  const std::string base = "tokenize --tokenizer " + q(dir / "tokenizer.json") + " --text-file " + q(dir / "bad.txt");
  auto r = run_duo(base, dir);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("is not valid UTF-8: 2 invalid bytes (the first at byte offset 4)"), std::string::npos)
      << r.err;
  r = run_duo(base + " --strict-utf8", dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is not valid UTF-8: 2 invalid bytes, the first at byte offset 4 (0xff)"), std::string::npos)
      << r.err;
  duo::core::write_file_atomic(dir / "good.txt", "the passkey");
  r = run_duo("tokenize --tokenizer " + q(dir / "tokenizer.json") + " --text-file " + q(dir / "good.txt"), dir);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.err.find("UTF-8"), std::string::npos) << r.err;
}

TEST(ValidationCli, CorruptHeaderBytesAreEscaped) {
  auto dir = model_dir("val_escape");
  // A safetensors header whose tensor name holds 0xff and an escape sequence.
  const std::string header = "{\"a\xff\x1b[2J\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  file += header + std::string(4, '\0');
  {
    std::ofstream f(dir / "m" / "model.safetensors", std::ios::binary);
    f << file;
  }
  auto r = run_duo("decode --model " + q(dir / "m") + " --ids 1,2", dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.find('\xff'), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\\xff"), std::string::npos) << r.err;
}
