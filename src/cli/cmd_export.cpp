// `duo export`: trained gates (a run folder, an official pattern folder or a TSV) -> a deployable
// head mask folder (full_attention_heads.tsv of 0/1 + config.json), by sparsity or threshold.
#include <fmt/format.h>

#include <cstdio>
#include <optional>

#include "cli/command.h"
#include "core/error.h"
#include "mask/binarize.h"
#include "mask/mask_dir.h"

namespace {

struct ExportArgs {
  std::string gates;
  std::optional<double> sparsity;
  std::optional<double> threshold;
  int64_t sink = 64;
  int64_t recent = 256;
  std::string out;
  int64_t layers = 0;
  int64_t kv_heads = 0;
};

void run_export(const ExportArgs& a) {
  using namespace duo::mask;
  DUO_CHECK(a.sparsity.has_value() != a.threshold.has_value(), "export: give exactly one of --sparsity and --threshold");
  GateSource src = load_gates(a.gates);
  if (a.layers > 0 || a.kv_heads > 0) check_shape(src.gates, a.layers, a.kv_heads, src.tsv_path.string());
  GateTable gates = clip01(src.gates);
  Binarized b = a.sparsity ? binarize_by_sparsity(gates, *a.sparsity) : binarize_by_threshold(gates, *a.threshold);
  ExportInfo info;
  info.sink = a.sink;
  info.recent = a.recent;
  info.source = src.tsv_path.string();
  info.source_config = src.config;
  auto cfg = export_mask(a.out, b, info);
  std::printf("exported %s: %lld layers x %lld kv heads, %lld full, %lld streaming (sparsity %.4f",
              a.out.c_str(), static_cast<long long>(gates.n_layers), static_cast<long long>(gates.n_kv_heads),
              static_cast<long long>(cfg["num_full_heads"].get<int64_t>()),
              static_cast<long long>(cfg["num_streaming_heads"].get<int64_t>()), b.actual_sparsity);
  if (a.sparsity) std::printf(", requested %.4f", *a.sparsity);
  std::printf("), threshold %.6g\n", b.threshold);
  std::printf("KV cache vs full attention (sink %lld, recent %lld):", static_cast<long long>(a.sink),
              static_cast<long long>(a.recent));
  for (int64_t t : {4096, 32768, 131072})
    std::printf("  %lldK tokens %.3f", static_cast<long long>(t / 1024), cfg["kv_cache_ratio"][std::to_string(t)].get<double>());
  std::printf("\n");
}

void add_command(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand("export", "Binarize trained gates into a deployable head mask folder");
  cmd->add_option("--gates", args->gates, "Run folder, official pattern folder, or full_attention_heads.tsv")->required();
  auto* sp = cmd->add_option("--sparsity", args->sparsity, "Fraction of heads made streaming (quantile rule)");
  auto* th = cmd->add_option("--threshold", args->threshold, "A head is full iff its gate >= threshold");
  sp->excludes(th);
  cmd->add_option("--sink", args->sink, "Deploy sink size in tokens")->default_val(64);
  cmd->add_option("--recent", args->recent, "Deploy recent window in tokens")->default_val(256);
  cmd->add_option("--out", args->out, "Output mask folder")->required();
  cmd->add_option("--layers", args->layers, "Expected number of layers (refuse a mask of another shape)");
  cmd->add_option("--kv-heads", args->kv_heads, "Expected KV heads per layer (refuse a mask of another shape)");
  cmd->callback([args] { run_export(*args); });
}

DUO_COMMAND(60, add_command);

}  // namespace
