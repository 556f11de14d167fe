// `duo bench --model DIR_OR_PRESET --mask DIR|random:S --contexts 4096,16384,32768
// [--decode-tokens N] [--kv-dtype bf16|f16|fp32] [--memory-gib G] [--out FILE.json] [--config FILE.yaml] [--set key=value ...]`: full
// attention and the mask side by side in one run (see eval/bench.h for what is measured and how).
// --out also writes the resolved options as FILE.config.yaml. With --memory-gib G it reports the
// longest context that fits in G GiB instead (eval/capacity.h).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "cli/model_spec.h"
#include "cli/run_options.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_checks.h"
#include "eval/bench.h"
#include "eval/capacity.h"
#include "io/options.h"

namespace {

namespace fs = std::filesystem;
using duo::cli::CommonOptions;
using duo::cli::DeployWindowOptions;
using duo::eval::BenchOptions;

struct BenchCommandOptions {
  std::string model;            // model folder or preset
  std::string mask;             // mask folder or random:S[:seed]
  std::string dtype = "fp32";   // compute dtype
  duo::cli::StorageOptions storage;  // KV cache and weight storage dtypes
  double memory_gib = 0.0;      // > 0: report the capacity in this budget instead of speed
  bool capacity_check = true;   // with memory_gib: run the full-attention capacity once
  std::string out;              // JSON report ("" = none)
  BenchOptions bench;           // what is measured (eval/bench.h)
  DeployWindowOptions window;   // deploy window of random: masks
  CommonOptions common;         // threads, quiet

  template <class V>
  void visit(V& v) {
    v("model", model, "model folder, or a preset from configs/models (random weights)");
    v("mask", mask, "mask folder from `duo export`, or random:SPARSITY[:SEED]");
    v("dtype", dtype, "compute dtype: fp32 | bf16");
    storage.visit(v);
    v("memory_gib", memory_gib, "> 0: the longest context that fits in this many GiB (full and mask), not speed");
    v("capacity_check", capacity_check, "with memory_gib: run the full-attention capacity and report its peak");
    v("out", out, "write the report as JSON (and the resolved options as FILE.config.yaml)");
    bench.visit(v);
    window.visit(v);
    common.visit(v);
  }
};

void run_bench_cmd(BenchCommandOptions o) {
  duo::cli::apply_common_options(o.common);
  duo::cli::require_key(o.model, "bench", "model", "--model", "a model folder or preset");
  duo::cli::require_key(o.mask, "bench", "mask", "--mask", "a mask folder or random:SPARSITY");
  o.bench.kv_dtype = duo::model::parse_dtype(o.storage.kv_dtype, "bench: key 'kv_dtype' (--kv-dtype)");
  duo::eval::check_bench_options(o.bench);
  duo::eval::CapacityOptions capacity;
  capacity.memory_gib = o.memory_gib;
  capacity.prefill_chunk = o.bench.prefill_chunk;
  capacity.kv_dtype = o.bench.kv_dtype;
  capacity.check = o.capacity_check;
  capacity.seed = o.bench.seed;
  if (o.memory_gib != 0.0) duo::eval::check_capacity_options(capacity);  // before loading
  const fs::path config_out = o.out.empty() ? fs::path() : duo::cli::config_path_beside(o.out);
  if (!o.out.empty()) duo::core::check_output_file(o.out, "bench: --out");  // before any work
  if (!o.out.empty()) duo::core::check_output_file(config_out, "bench: --out's config");
  const auto dtype = duo::model::parse_dtype(o.dtype, "--dtype");
  auto loaded = duo::cli::load_model_spec(o.model, dtype, 0, o.storage.weight_dtype,
                                          "bench: key 'weight_dtype' (--weight-dtype)");
  const auto& cfg = loaded.model.config();
  auto mask = duo::cli::load_mask_spec(o.mask, cfg.n_layers, cfg.n_kv_heads, o.window.window());
  if (o.memory_gib != 0.0) {
    auto cap = duo::eval::run_capacity(loaded.model, mask.layout, capacity, o.common.quiet);
    std::printf("model %s | mask %s\n%s", loaded.description.c_str(), mask.description.c_str(), cap.table().c_str());
    if (!o.out.empty()) {
      duo::core::write_file_atomic(o.out, cap.to_json().dump(2) + "\n");
      duo::io::write_options_yaml(config_out, o);
    }
    return;
  }
  auto report = duo::eval::run_bench(loaded.model, mask.layout, o.bench, o.common.quiet);
  report.model = loaded.description;
  report.mask = mask.description;
  std::printf("%s", report.table().c_str());
  if (!o.out.empty()) {
    duo::core::write_file_atomic(o.out, report.to_json().dump(2) + "\n");
    duo::io::write_options_yaml(config_out, o);
  }
}

void add_command(CLI::App& app) {
  using O = BenchCommandOptions;
  auto* cmd = app.add_subcommand("bench", "Prefill / decode speed and KV memory: full attention vs a head mask");
  auto s = std::make_shared<duo::cli::OptionSurface<O>>(cmd, "YAML bench options (keys below)");
  s->option("--model", "Model folder, or a preset from configs/models (random weights)", &O::model);
  s->option("--mask", "Mask folder from `duo export`, or random:SPARSITY[:SEED]", &O::mask);
  s->option("--contexts", "Prompt lengths in tokens", &O::bench, &BenchOptions::contexts)->delimiter(',');
  s->option("--decode-tokens", "Decode steps timed per run (median reported)", &O::bench, &BenchOptions::decode_tokens);
  s->option("--prefill-chunk", "Prefill chunk size (0 = whole prompt)", &O::bench, &BenchOptions::prefill_chunk);
  s->option("--deploy-sink,--sink", "Deploy window of random: masks: sink tokens", &O::window,
            &DeployWindowOptions::deploy_sink);
  s->option("--deploy-recent,--recent", "Deploy window of random: masks: recent tokens", &O::window,
            &DeployWindowOptions::deploy_recent);
  s->option("--dtype", "Compute dtype: fp32 or bf16", &O::dtype);
  s->storage_flags(&O::storage);
  s->option("--out", "Write the report as JSON (and the resolved options as FILE.config.yaml)", &O::out);
  s->option("--bandwidth-mib", "Buffer summed to measure read bandwidth (MiB)", &O::bench,
            &BenchOptions::bandwidth_mib);
  s->option("--memory-gib", "Report the longest context that fits in G GiB (full and mask) instead of speed",
            &O::memory_gib);
  s->option("--capacity-check", "With --memory-gib: run the full-attention capacity once (true/false)",
            &O::capacity_check);
  s->flag("--skip-full", "Run the mask only (no full-attention baseline)", &O::bench, &BenchOptions::skip_full);
  s->common_flags(&O::common);
  cmd->callback([s] { run_bench_cmd(s->resolve()); });
}

DUO_COMMAND(90, add_command);

}  // namespace
