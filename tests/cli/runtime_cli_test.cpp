// End-to-end tests of `duo decode`, `duo niah`, `duo sweep` and `duo bench`: the built binary run
// on tiny checkpoints written here (with a word-level tokenizer.json), its files read back.
// Generated ids are checked against greedy decoding by the whole-sequence forward, in process.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <tuple>

#include "common/cli_runner.h"
#include "common/passkey_tokenizer.h"
#include "common/tiny_checkpoint.h"
#include "core/atomic_file.h"
#include "kernels/cpu/gemm.h"
#include "mask/binarize.h"
#include "mask/gate_table.h"
#include "mask/kv_budget.h"
#include "mask/mask_dir.h"
#include "model/model.h"

namespace duo {
namespace {

namespace fs = std::filesystem;

std::vector<int64_t> greedy_reference(const model::Model& m, std::vector<int64_t> ids, int n,
                                      const model::AttentionPlan& plan = {}) {
  std::vector<int64_t> out;
  for (int i = 0; i < n; ++i) {
    auto lg = m.logits(at::tensor(ids, at::TensorOptions().dtype(at::kLong)), plan);
    out.push_back(lg[lg.size(0) - 1].argmax().item<int64_t>());
    ids.push_back(out.back());
  }
  return out;
}

TEST(RuntimeCli, DecodeIdsMatchesGreedyForwardAndWritesJson) {
  auto dir = testing::eval_model_dir("cli_rt_decode");
  auto json_path = dir / "decode.json";
  auto r = testing::duo_cli("decode --model '" + dir.string() + "' --ids 3,4,5,6,7 --max-new-tokens 4 --no-eos --threads 1 --out '" +
                   json_path.string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ms/token"), std::string::npos) << r.out;
  auto j = nlohmann::json::parse(core::read_file(json_path));
  EXPECT_EQ(j["prompt_tokens"], 5);
  auto model = model::Model::load(dir);
  EXPECT_EQ(j["generated_ids"].get<std::vector<int64_t>>(), greedy_reference(model, {3, 4, 5, 6, 7}, 4));
  const auto& c = model.config();
  // The default KV cache is bf16: 2 bytes an element.
  EXPECT_EQ(j["kv_dtype"], "bfloat16");
  EXPECT_EQ(j["kv_bytes"], mask::kv_cache_bytes_full(c.n_layers, c.n_kv_heads, 9, c.head_dim, 2));
  EXPECT_TRUE(j.contains("decode_ms_per_token"));
  EXPECT_TRUE(j.contains("prefill_tokens_per_second"));
  // The resolved options beside the report.
  const auto yaml = core::read_file(dir / "decode.config.yaml");
  EXPECT_NE(yaml.find("max_new_tokens: 4"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("threads: 1"), std::string::npos) << yaml;
}

TEST(RuntimeCli, DecodeOptionsFromYamlSetAndFlags) {
  auto dir = testing::eval_model_dir("cli_rt_decode_yaml");
  core::write_file_atomic(dir / "decode.yaml", "ids: \"3,4,5\"\nmax_new_tokens: 2\nno_eos: true\nquiet: true\n");
  auto json_path = dir / "decode.json";
  // --set overrides the YAML, a flag given overrides both.
  auto r = testing::duo_cli("decode --config '" + (dir / "decode.yaml").string() + "' --set max_new_tokens=5 --model '" +
                   dir.string() + "' --max-new-tokens 3 --out '" + json_path.string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(core::read_file(json_path));
  EXPECT_EQ(j["prompt_tokens"], 3);
  EXPECT_EQ(j["generated_ids"].size(), 3u);
  const auto yaml = core::read_file(dir / "decode.config.yaml");
  EXPECT_NE(yaml.find("max_new_tokens: 3"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("quiet: true"), std::string::npos) << yaml;
  // Unknown keys and a missing model are errors.
  r = testing::duo_cli("decode --config '" + (dir / "decode.yaml").string() + "' --set sink=4 --model '" + dir.string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("unknown key 'sink'"), std::string::npos) << r.out;
  r = testing::duo_cli("decode --ids 3,4");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("decode: key 'model' is empty"), std::string::npos) << r.out;
}

TEST(RuntimeCli, DecodePromptFileWithAMaskFolder) {
  auto dir = testing::eval_model_dir("cli_rt_decode_mask");
  auto model = model::Model::load(dir);
  const auto& c = model.config();
  mask::GateTable gates{c.n_layers, c.n_kv_heads, {0.9, 0.1, 0.2, 0.8}};
  mask::ExportInfo info;
  info.window = StreamWindow{2, 5};
  auto mask_dir = dir / "mask";
  auto b = mask::binarize_by_sparsity(gates, 0.5);
  mask::export_mask(mask_dir, b, info);
  core::write_file_atomic(dir / "prompt.txt", "The grass is green. The sky is blue. The sun is yellow. Here we go.");
  auto json_path = dir / "decode.json";
  auto r = testing::duo_cli("decode --model '" + dir.string() + "' --mask '" + mask_dir.string() + "' --prompt-file '" +
                   (dir / "prompt.txt").string() + "' --max-new-tokens 3 --prefill-chunk 4 --no-eos --out '" +
                   json_path.string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(core::read_file(json_path));
  const int64_t t = j["prompt_tokens"].get<int64_t>();
  EXPECT_GT(t, 10);
  EXPECT_TRUE(j.contains("text"));
  EXPECT_EQ(j["kv_bytes"], mask::kv_cache_bytes(b.mask, t + 3, info.window, c.head_dim, 2));  // bf16 KV
  // The same tokens as the whole-sequence forward with the same streaming plan.
  model::AttentionPlan plan(static_cast<size_t>(c.n_layers));
  for (int64_t l = 0; l < c.n_layers; ++l) {
    for (int64_t h = 0; h < c.n_kv_heads; ++h)
      plan[l].kinds.push_back(b.mask.at(l, h) != 0 ? attention::HeadKind::kFull : attention::HeadKind::kStreaming);
    plan[l].window = info.window;
  }
  auto tok = testing::passkey_tokenizer();
  std::vector<int64_t> ids;
  for (int32_t id : tok.encode(core::read_file(dir / "prompt.txt"), true)) ids.push_back(id);
  ASSERT_EQ(static_cast<int64_t>(ids.size()), t);
  EXPECT_EQ(j["generated_ids"].get<std::vector<int64_t>>(), greedy_reference(model, ids, 3, plan));
}

TEST(RuntimeCli, RefusesAMaskOfAnotherShape) {
  auto dir = testing::eval_model_dir("cli_rt_shape");
  mask::ExportInfo info;
  mask::export_mask(dir / "mask", mask::binarize_by_sparsity(mask::GateTable{3, 2, {1, 0, 1, 0, 1, 0}}, 0.5), info);
  auto r = testing::duo_cli("decode --model '" + dir.string() + "' --mask '" + (dir / "mask").string() +
                   "' --ids 3,4 --max-new-tokens 2");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("error:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[3, 2]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[2, 2]"), std::string::npos) << r.out;
}

TEST(RuntimeCli, NiahAndSweepWriteTheirFiles) {
  auto dir = testing::eval_model_dir("cli_rt_niah");
  auto out = dir / "niah";
  auto r = testing::duo_cli("niah --model '" + dir.string() + "' --mask random:0.5 --config configs/eval/passkey.yaml --set "
                   "context_lengths=[64,80] --set depth_percents=[0,100] --set max_new_tokens=2 -q --out '" +
                   out.string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  std::istringstream csv(core::read_file(out / "results.csv"));
  int lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  EXPECT_EQ(lines, 5);
  EXPECT_NE(core::read_file(out / "niah.svg").find("<svg"), std::string::npos);
  EXPECT_NE(core::read_file(out / "config.yaml").find("context_lengths: [64, 80]"), std::string::npos);

  mask::GateTable gates{2, 2, {0.9, 0.1, 0.2, 0.8}};
  mask::write_gate_tsv(dir / "gates.tsv", gates);
  auto sweep = dir / "sweep";
  r = testing::duo_cli("sweep --model '" + dir.string() + "' --gates '" + (dir / "gates.tsv").string() +
              "' --sparsities 0,0.5,1 --eval passkey --sink 2 --recent 8 --set context_lengths=[64] --set "
              "depth_percents=[50] --set max_new_tokens=2 -q --out '" + sweep.string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("requested"), std::string::npos) << r.out;
  auto text = core::read_file(sweep / "sweep.csv");
  EXPECT_NE(text.find("\n0.5,0.500000,"), std::string::npos) << text;
  EXPECT_TRUE(fs::exists(sweep / "masks" / "s=0.5" / "full_attention_heads.tsv"));
  EXPECT_NE(core::read_file(sweep / "sweep.svg").find("<svg"), std::string::npos);
  EXPECT_EQ(mask::load_mask_dir(sweep / "masks" / "s=0.5").window, (StreamWindow{2, 8}));
  // The resolved options: the deploy window (flags --sink / --recent) and the grid's keys.
  const auto yaml = core::read_file(sweep / "config.yaml");
  for (const char* line : {"deploy_sink: 2", "deploy_recent: 8", "kind: \"passkey\"", "context_lengths: [64]",
                           "sparsities: [0.0, 0.5, 1.0]"})
    EXPECT_NE(yaml.find(line), std::string::npos) << line << "\n" << yaml;
  // The same run from that YAML alone.
  auto again = dir / "sweep_again";
  r = testing::duo_cli("sweep -q --config '" + (sweep / "config.yaml").string() + "' --set out='" + again.string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(core::read_file(again / "sweep.md"), core::read_file(sweep / "sweep.md"));
}

TEST(RuntimeCli, KvDtypeFlagSetsTheCacheAndRefusesOthers) {
  auto dir = testing::eval_model_dir("cli_rt_kv_dtype");
  const auto model = model::Model::load(dir);
  const auto& c = model.config();
  for (auto [flag, name, elem] : {std::tuple{"fp32", "float32", 4}, std::tuple{"f16", "float16", 2}}) {
    auto json_path = dir / (std::string(flag) + ".json");
    auto r = testing::duo_cli("decode --model '" + dir.string() + "' --ids 3,4,5,6,7 --max-new-tokens 4 --no-eos --threads 1 " +
                     "--kv-dtype " + flag + " --out '" + json_path.string() + "'");
    ASSERT_EQ(r.code, 0) << r.out;
    auto j = nlohmann::json::parse(core::read_file(json_path));
    EXPECT_EQ(j["kv_dtype"], name);
    EXPECT_EQ(j["kv_bytes"], mask::kv_cache_bytes_full(c.n_layers, c.n_kv_heads, 9, c.head_dim, elem));
    EXPECT_EQ(j["generated_ids"].get<std::vector<int64_t>>(), greedy_reference(model, {3, 4, 5, 6, 7}, 4));
  }
  auto r = testing::duo_cli("decode --model '" + dir.string() + "' --ids 3,4 --kv-dtype int8");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("error: decode: key 'kv_dtype' (--kv-dtype): unknown dtype 'int8'"), std::string::npos) << r.out;
  r = testing::duo_cli("bench --model tiny-llama --mask random:0.5 --contexts 24 --set kv_dtype=f64");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("kv_dtype"), std::string::npos) << r.out;
}

// --weight-dtype: auto keeps a bf16 checkpoint's matrices in bf16 (fp32 compute) and decodes the
// tokens of the widened model; bf16 rounds an fp32 checkpoint; 16-bit weights need fp32 compute.
TEST(RuntimeCli, WeightDtypeFlagStoresTheMatricesAndRefusesBadCombinations) {
  auto dir = testing::eval_model_dir("cli_rt_weight_dtype", at::kBFloat16);
  const auto widened = model::Model::load(dir);  // fp32 matrices holding the bf16 values
  const std::vector<int64_t> prompt = {3, 4, 5, 6, 7};
  const auto want = greedy_reference(widened, prompt, 4);
  for (auto [flag, name] : {std::pair{"auto", "bfloat16"}, std::pair{"fp32", "float32"}}) {
    auto json_path = dir / (std::string(flag) + ".json");
    auto r = testing::duo_cli("decode --model '" + dir.string() + "' --ids 3,4,5,6,7 --max-new-tokens 4 --no-eos --threads 1 " +
                     "--kv-dtype fp32 --weight-dtype " + flag + " --out '" + json_path.string() + "'");
    ASSERT_EQ(r.code, 0) << r.out;
    auto j = nlohmann::json::parse(core::read_file(json_path));
    EXPECT_EQ(j["weight_dtype"], name) << flag;
    EXPECT_EQ(j["dtype"], "float32");
    EXPECT_EQ(j["generated_ids"].get<std::vector<int64_t>>(), want) << flag;
  }
  auto json_path = dir / "bench.json";
  auto r = testing::duo_cli("bench --model tiny-llama --mask random:0.5 --contexts 24 --decode-tokens 2 --threads 1 "
                   "--bandwidth-mib 16 -q --weight-dtype bf16 --out '" + json_path.string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(core::read_file(json_path));
  EXPECT_EQ(j["weight_dtype"], "bfloat16");
  r = testing::duo_cli("bench --model tiny-llama --mask random:0.5 --contexts 24 --decode-tokens 2 --threads 1 "
              "--bandwidth-mib 16 -q --out '" + json_path.string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j32 = nlohmann::json::parse(core::read_file(json_path));
  EXPECT_EQ(j32["weight_dtype"], "float32");  // auto on a random preset: the compute dtype
  // The embedding table is read one row per token; every other matrix whole: 16-bit storage halves
  // all but the norms' bytes.
  EXPECT_LT(j["weight_bytes_per_token"].get<int64_t>(), j32["weight_bytes_per_token"].get<int64_t>() * 6 / 10);

  r = testing::duo_cli("decode --model '" + dir.string() + "' --ids 3,4 --dtype bf16 --weight-dtype f16");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("error: decode: key 'weight_dtype' (--weight-dtype): float16 weights need fp32 compute"),
            std::string::npos) << r.out;
  r = testing::duo_cli("decode --model '" + dir.string() + "' --ids 3,4 --weight-dtype int4");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("error: decode: key 'weight_dtype' (--weight-dtype): unknown dtype 'int4'"), std::string::npos)
      << r.out;
}

TEST(RuntimeCli, BenchMemoryGibReportsCapacity) {
  auto dir = testing::temp_dir("cli_rt_capacity");
  auto json_path = dir / "capacity.json";
  auto r = testing::duo_cli("bench --model tiny-llama --mask random:0.5 --memory-gib 1 --capacity-check false "
                   "--prefill-chunk 16 --threads 1 -q --out '" + json_path.string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("capacity in 1.00 GiB"), std::string::npos) << r.out;
  auto j = nlohmann::json::parse(core::read_file(json_path));
  EXPECT_GT(j["duo"]["max_tokens"].get<int64_t>(), j["full"]["max_tokens"].get<int64_t>());
  EXPECT_FALSE(j.contains("check"));
  r = testing::duo_cli("bench --model tiny-llama --mask random:0.5 --memory-gib 1 --prefill-chunk 0");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("prefill chunk > 0"), std::string::npos) << r.out;
}

TEST(RuntimeCli, BenchOnAPresetWithARandomMask) {
  auto dir = testing::temp_dir("cli_rt_bench");
  auto json_path = dir / "bench.json";
  auto r = testing::duo_cli("bench --model tiny-llama --mask random:0.5 --contexts 40,24 --decode-tokens 2 --sink 4 --recent 8 "
                   "--threads 1 --bandwidth-mib 16 -q --out '" + json_path.string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("decode speedup"), std::string::npos) << r.out;
  auto j = nlohmann::json::parse(core::read_file(json_path));
  ASSERT_EQ(j["rows"].size(), 2u);
  EXPECT_EQ(j["rows"][0]["tokens"], 24);
  EXPECT_GT(j["bandwidth_gb_per_s"].get<double>(), 0.0);
  // tiny-llama: 2 layers x 2 KV heads, head_dim 16; 1 of 4 heads... half streaming: 2 full, 2 streaming.
  const int64_t total = 24 + 2;
  // KV bytes at the default bf16 cache: 2 bytes an element.
  EXPECT_EQ(j["kv_dtype"], "bfloat16");
  EXPECT_EQ(j["rows"][0]["full"]["kv_bytes"], 2 * 2 * total * 2 * 16 * 2);
  EXPECT_EQ(j["rows"][0]["duo"]["kv_bytes"], (2 * total + 2 * 12) * 2 * 16 * 2);
  EXPECT_GT(j["rows"][0]["ratios"]["kv_bytes_ratio"].get<double>(), 0.0);
  const auto yaml = core::read_file(dir / "bench.config.yaml");
  EXPECT_NE(yaml.find("deploy_recent: 8"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("contexts: [40, 24]"), std::string::npos) << yaml;
}

// duo re-executes itself with short idle waits for the thread pools unless the user chose them.
TEST(RuntimeCli, ThreadPoolWaitSettings) {
  auto dir = testing::temp_dir("cli_rt_env");
  const std::string args = "bench --model tiny-llama --mask random:0.5 --contexts 8 --decode-tokens 1 --threads 1 "
                           "--bandwidth-mib 4 -q --out '" + (dir / "b.json").string() + "'";
  auto r = testing::duo_cli(args, DUO_SOURCE_DIR, "env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY -u OPENBLAS_THREAD_TIMEOUT -u DUO_THREAD_ENV");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(core::read_file(dir / "b.json"))["thread_env"],
            "GOMP_SPINCOUNT=10000 OMP_WAIT_POLICY=- OPENBLAS_THREAD_TIMEOUT=4");
  r = testing::duo_cli(args, DUO_SOURCE_DIR, "env -u GOMP_SPINCOUNT -u DUO_THREAD_ENV OMP_WAIT_POLICY=passive OPENBLAS_THREAD_TIMEOUT=9");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(core::read_file(dir / "b.json"))["thread_env"],
            "GOMP_SPINCOUNT=- OMP_WAIT_POLICY=passive OPENBLAS_THREAD_TIMEOUT=9");
}

// The matrix-product backend (kernels/cpu/gemm.h): DUO_GEMM picks it, `duo threads --env` and
// bench's JSON name it, and a bad value is one error line.
TEST(RuntimeCli, GemmBackendSetting) {
  auto r = testing::duo_cli("threads --env", DUO_SOURCE_DIR, "DUO_GEMM=blas");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("gemm: BLAS (at::mm)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("blas: "), std::string::npos) << r.out;
  r = testing::duo_cli("threads --env", DUO_SOURCE_DIR, "DUO_GEMM=mkl");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("DUO_GEMM: expected 'blas' or 'onednn'; got 'mkl'"), std::string::npos) << r.out;
  if (!kernels::cpu::onednn_available()) return;
  auto dir = testing::temp_dir("cli_rt_gemm");
  const std::string args = "bench --model tiny-llama --mask random:0.5 --contexts 8 --decode-tokens 1 --threads 1 "
                           "--bandwidth-mib 4 -q --out '" + (dir / "b.json").string() + "'";
  r = testing::duo_cli(args, DUO_SOURCE_DIR, "env -u DUO_GEMM");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(core::read_file(dir / "b.json"))["gemm"].get<std::string>().rfind("oneDNN ", 0), 0u);
}

}  // namespace
}  // namespace duo
