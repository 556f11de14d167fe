// `duo bench --model DIR_OR_PRESET --mask DIR|random:S --contexts 4096,16384,32768
// [--decode-tokens N] [--out FILE.json]`: full attention and the mask side by side in one run
// (see eval/bench.h for what is measured and how).
#include <fmt/format.h>

#include <cstdio>

#include "cli/command.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "eval/bench.h"
#include "eval/model_setup.h"

namespace {

struct BenchArgs {
  std::string model;
  std::string mask;
  std::vector<int64_t> contexts = {4096, 16384, 32768};
  int64_t decode_tokens = 16;
  int64_t prefill_chunk = 0;
  int64_t sink = 64;
  int64_t recent = 256;
  std::string dtype = "fp32";
  std::string out;
  bool skip_full = false;
  int64_t bandwidth_mib = 1024;
  std::string backend = "kernel";
  duo::cli::CommonOptions common;
};

void run_bench_cmd(const BenchArgs& a) {
  duo::cli::apply_common_options(a.common);
  const auto dtype = duo::model::parse_dtype(a.dtype, "--dtype");
  auto loaded = duo::eval::load_model_spec(a.model, dtype);
  const auto& cfg = loaded.model.config();
  auto mask = duo::eval::load_mask_spec(a.mask, cfg.n_layers, cfg.n_kv_heads, a.sink, a.recent);
  duo::eval::BenchOptions o;
  o.contexts = a.contexts;
  o.decode_tokens = a.decode_tokens;
  o.prefill_chunk = a.prefill_chunk;
  o.skip_full = a.skip_full;
  o.bandwidth_bytes = a.bandwidth_mib << 20;
  DUO_CHECK(a.backend == "kernel" || a.backend == "aten", "--backend: expected kernel or aten; got '{}'", a.backend);
  o.backend = a.backend == "aten" ? duo::runtime::CachedAttention::kAten : duo::runtime::CachedAttention::kKernel;
  auto report = duo::eval::run_bench(loaded.model, mask.layout, o, a.common.quiet);
  report.model = loaded.description;
  report.mask = mask.description;
  std::printf("%s", report.table().c_str());
  if (!a.out.empty()) duo::core::write_file_atomic(a.out, report.to_json().dump(2) + "\n");
}

void add_command(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench", "Prefill / decode speed and KV memory: full attention vs a head mask");
  cmd->add_option("--model", a->model, "Model folder, or a preset from configs/models (random weights)")->required();
  cmd->add_option("--mask", a->mask, "Mask folder from `duo export`, or random:SPARSITY[:SEED]")->required();
  cmd->add_option("--contexts", a->contexts, "Prompt lengths in tokens")->delimiter(',');
  cmd->add_option("--decode-tokens", a->decode_tokens, "Decode steps timed per run (median reported)")->default_val(16);
  cmd->add_option("--prefill-chunk", a->prefill_chunk, "Prefill chunk size (0 = whole prompt)")->default_val(0);
  cmd->add_option("--sink", a->sink, "Sink tokens for random: masks")->default_val(64);
  cmd->add_option("--recent", a->recent, "Recent tokens for random: masks")->default_val(256);
  cmd->add_option("--dtype", a->dtype, "Compute dtype: fp32 or bf16")->default_val("fp32");
  cmd->add_option("--out", a->out, "Write the report as JSON");
  cmd->add_option("--bandwidth-mib", a->bandwidth_mib, "Buffer summed to measure read bandwidth (MiB)")->default_val(1024);
  cmd->add_option("--backend", a->backend, "Decode attention: kernel (attention::attend_chunk) or aten")->default_val("kernel");
  cmd->add_flag("--skip-full", a->skip_full, "Run the mask only (no full-attention baseline)");
  duo::cli::add_common_options(cmd, a->common);
  cmd->callback([a] { run_bench_cmd(*a); });
}

DUO_COMMAND(90, add_command);

}  // namespace
