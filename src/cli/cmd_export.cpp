// `duo export --gates RUN (--sparsity S | --threshold T) --out DIR [--config FILE.yaml]
// [--set key=value ...]`: trained gates (a run folder, an official pattern folder or a TSV) -> a
// deployable head mask folder (full_attention_heads.tsv of 0/1 + config.json, the official
// format), by sparsity or threshold. The resolved options go to DIR/export_config.yaml.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "cli/run_options.h"
#include "core/error.h"
#include "core/file_checks.h"
#include "io/options.h"
#include "mask/binarize.h"
#include "mask/mask_dir.h"

namespace {

namespace fs = std::filesystem;
using duo::cli::CommonOptions;
using duo::cli::DeployWindowOptions;

struct ExportOptions {
  std::string gates;            // run folder, official pattern folder or full_attention_heads.tsv
  std::string rule;             // sparsity | threshold: which of the two keys below binarizes
  double sparsity = 0.5;        // rule sparsity: fraction of heads made streaming (quantile rule)
  double threshold = 0.5;       // rule threshold: a head is full iff its gate >= threshold
  std::string out;              // the mask folder
  int64_t layers = 0;           // expected layers (0 = any)
  int64_t kv_heads = 0;         // expected KV heads per layer (0 = any)
  DeployWindowOptions window;   // written into config.json as sink_size / recent_size
  CommonOptions common;         // threads, quiet

  template <class V>
  void visit(V& v) {
    v("gates", gates, "run folder, official pattern folder, or full_attention_heads.tsv");
    v("rule", rule, "sparsity | threshold: how to binarize (--sparsity / --threshold set it)");
    v("sparsity", sparsity, "rule sparsity: fraction of heads made streaming (quantile rule)");
    v("threshold", threshold, "rule threshold: a head is full iff its gate >= threshold");
    v("out", out, "output mask folder");
    v("layers", layers, "expected number of layers; refuse a mask of another shape (0 = any)");
    v("kv_heads", kv_heads, "expected KV heads per layer; refuse a mask of another shape (0 = any)");
    window.visit(v);
    common.visit(v);
  }
};

void run_export(ExportOptions o) {
  using namespace duo::mask;
  duo::cli::apply_common_options(o.common);
  duo::cli::require_key(o.gates, "export", "gates", "--gates", "a run folder, pattern folder or TSV");
  duo::cli::require_key(o.out, "export", "out", "--out", "the output mask folder");
  duo::core::check_output_folder(o.out, "export: --out");
  DUO_CHECK(o.rule == "sparsity" || o.rule == "threshold",
            "export: give exactly one of --sparsity and --threshold (or key 'rule': sparsity | threshold); "
            "got rule '{}'", o.rule);
  const bool by_sparsity = o.rule == "sparsity";
  DUO_CHECK(!by_sparsity || (o.sparsity >= 0.0 && o.sparsity <= 1.0),
            "export: key 'sparsity' (--sparsity) must be a fraction of heads in [0, 1]; got {}", o.sparsity);
  DUO_CHECK(o.layers >= 0, "export: key 'layers' (--layers) must be >= 0 (0 = any); got {}", o.layers);
  DUO_CHECK(o.kv_heads >= 0, "export: key 'kv_heads' (--kv-heads) must be >= 0 (0 = any); got {}", o.kv_heads);
  ExportInfo info;
  info.window = o.window.window();
  GateSource src = load_gates(o.gates);
  if (o.layers > 0 || o.kv_heads > 0) check_shape(src.gates, o.layers, o.kv_heads, src.tsv_path.string());
  GateTable gates = clip01(src.gates);
  Binarized b = by_sparsity ? binarize_by_sparsity(gates, o.sparsity) : binarize_by_threshold(gates, o.threshold);
  info.source = src.tsv_path.string();
  info.source_config = src.config;
  auto cfg = export_mask(o.out, b, info);
  duo::io::write_options_yaml(fs::path(o.out) / "export_config.yaml", o);
  std::printf("exported %s: %lld layers x %lld kv heads, %lld full, %lld streaming (sparsity %.4f",
              o.out.c_str(), static_cast<long long>(gates.n_layers), static_cast<long long>(gates.n_kv_heads),
              static_cast<long long>(cfg["num_full_heads"].get<int64_t>()),
              static_cast<long long>(cfg["num_streaming_heads"].get<int64_t>()), b.actual_sparsity);
  if (by_sparsity) std::printf(", requested %.4f", o.sparsity);
  std::printf("), threshold %.6g\n", b.threshold);
  std::printf("KV cache vs full attention (deploy sink %lld, recent %lld):", static_cast<long long>(info.window.sink),
              static_cast<long long>(info.window.recent));
  for (int64_t t : {4096, 32768, 131072})
    std::printf("  %lldK tokens %.3f", static_cast<long long>(t / 1024), cfg["kv_cache_ratio"][std::to_string(t)].get<double>());
  std::printf("\n");
}

void add_command(CLI::App& app) {
  using O = ExportOptions;
  auto* cmd = app.add_subcommand("export", "Binarize trained gates into a deployable head mask folder");
  auto s = std::make_shared<duo::cli::OptionSurface<O>>(cmd, "YAML export options (keys below)");
  s->option("--gates", "Run folder, official pattern folder, or full_attention_heads.tsv", &O::gates);
  auto* sp = s->option("--sparsity", "Fraction of heads made streaming (quantile rule; sets rule=sparsity)",
                       &O::sparsity);
  auto* th = s->option("--threshold", "A head is full iff its gate >= threshold (sets rule=threshold)", &O::threshold);
  sp->excludes(th);
  sp->default_str("");  // no rule by default: one of the two is required
  th->default_str("");
  s->option("--deploy-sink,--sink", "Deploy window: sink tokens (config.json sink_size)", &O::window,
            &DeployWindowOptions::deploy_sink);
  s->option("--deploy-recent,--recent", "Deploy window: recent tokens (config.json recent_size)", &O::window,
            &DeployWindowOptions::deploy_recent);
  s->option("--out", "Output mask folder", &O::out);
  s->option("--layers", "Expected number of layers (refuse a mask of another shape)", &O::layers);
  s->option("--kv-heads", "Expected KV heads per layer (refuse a mask of another shape)", &O::kv_heads);
  s->common_flags(&O::common);
  cmd->callback([s, sp, th] {
    O o = s->resolve();
    if (sp->count() > 0) o.rule = "sparsity";
    if (th->count() > 0) o.rule = "threshold";
    run_export(std::move(o));
  });
}

DUO_COMMAND(60, add_command);

}  // namespace
