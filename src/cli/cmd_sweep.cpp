// `duo sweep --model DIR --gates RUN --sparsities 0,0.25,0.5,0.75,0.9 --eval niah|passkey
// [--config FILE.yaml] [--set key=value ...] --out DIR`: exports one mask per sparsity
// (DIR/masks/s=<sparsity>), evaluates each, prints and writes the table (DIR/sweep.csv) and
// DIR/sweep.svg; --random N adds N random masks of the same size per sparsity, and DIR/sweep.md
// is the Markdown table (the demo prints it). `--gates trained=RUN,razor=DIR,...` sweeps several
// sets of head scores side by side (trained gates, `duo score` folders), one column / line each,
// with one random baseline per sparsity (eval/sweep.h). The eval grid's keys (configs/eval/*.yaml) sit at
// the top level of the sweep's keys; the resolved options go to DIR/config.yaml.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli/command.h"
#include "cli/eval_grid.h"
#include "cli/model_spec.h"
#include "cli/run_options.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_checks.h"
#include "eval/sweep.h"
#include "io/options.h"
#include "mask/mask_dir.h"
#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using duo::cli::CommonOptions;
using duo::cli::DeployWindowOptions;
using duo::eval::SweepOptions;

struct SweepCommandOptions {
  std::string model;                 // model folder (with tokenizer.json)
  std::string gates;                 // a run / pattern / score folder or TSV, or NAME=DIR,NAME=DIR,...
  std::string out = "outputs/sweep"; // output folder
  std::string dtype = "fp32";        // compute dtype
  duo::cli::StorageOptions storage;  // KV cache and weight storage dtypes
  SweepOptions sweep;                // sparsities, random masks, the eval grid (window: from `window`)
  DeployWindowOptions window;        // deploy window of the exported and random masks
  CommonOptions common;              // threads, quiet

  template <class V>
  void visit(V& v) {
    v("model", model, "model folder (with tokenizer.json)");
    v("gates", gates, "run folder, pattern folder, score folder or TSV; or NAME=DIR,NAME=DIR,... to compare methods");
    v("out", out, "output folder");
    v("dtype", dtype, "compute dtype: fp32 | bf16");
    storage.visit(v);
    v("sparsities", sweep.sparsities, "fractions of streaming heads, one mask each");
    v("random_masks", sweep.random_masks, "per sparsity, also evaluate N random masks as large (the baseline)");
    window.visit(v);
    sweep.eval.visit(v);  // the grid's keys at the top level, as in configs/eval/*.yaml
    common.visit(v);
  }
};

void run_sweep_cmd(SweepCommandOptions o) {
  duo::cli::apply_common_options(o.common);
  duo::cli::require_key(o.model, "sweep", "model", "--model", "a model folder with tokenizer.json");
  duo::cli::require_key(o.gates, "sweep", "gates", "--gates", "a run folder, pattern folder or TSV");
  DUO_CHECK(o.sweep.random_masks >= 0, "sweep: random_masks (--random) expects a count >= 0; got {}",
            o.sweep.random_masks);
  SweepOptions opts = o.sweep;
  opts.eval.kv_dtype = duo::model::parse_dtype(o.storage.kv_dtype, "sweep: key 'kv_dtype' (--kv-dtype)");
  duo::eval::check_sweep_options(opts);  // before the model loads
  duo::core::check_output_folder(o.out, "sweep: --out");
  std::vector<duo::eval::GateSet> sets;
  for (const auto& [name, path] : duo::eval::parse_gate_list(o.gates)) {
    auto src = duo::mask::load_gates(path);
    sets.push_back({name, duo::mask::clip01(src.gates), src.tsv_path.string()});
  }
  opts.window = o.window.window();
  auto loaded = duo::cli::load_model_spec(o.model, duo::model::parse_dtype(o.dtype, "--dtype"), 0,
                                          o.storage.weight_dtype, "sweep: key 'weight_dtype' (--weight-dtype)");
  DUO_CHECK(!loaded.dir.empty() && fs::exists(loaded.dir / "tokenizer.json"),
            "sweep: {} has no tokenizer.json; expected a model folder with its tokenizer", o.model);
  auto tok = duo::tokenizer::Tokenizer::load(loaded.dir);
  const fs::path out = o.out;
  fs::create_directories(out);
  duo::io::write_options_yaml(out / "config.yaml", o);
  auto points = duo::eval::run_sweep(loaded.model, tok, sets, opts, out, o.common.quiet);
  duo::core::write_file_atomic(out / "sweep.csv", duo::eval::sweep_csv(points));
  duo::core::write_file_atomic(out / "sweep.md", duo::eval::sweep_markdown(points));
  const std::string title = fmt::format("Sparsity sweep ({}) | {}", opts.eval.kind, o.model);
  duo::core::write_file_atomic(out / "sweep.svg", duo::eval::sweep_svg(points, title));
  std::printf("%s", duo::eval::sweep_table(points).c_str());
  std::printf("sweep: %s/sweep.csv, %s/sweep.md, %s/sweep.svg\n", o.out.c_str(), o.out.c_str(), o.out.c_str());
}

void add_command(CLI::App& app) {
  using O = SweepCommandOptions;
  auto* cmd = app.add_subcommand("sweep", "Export masks at several sparsities and evaluate each (table + sweep.svg)");
  auto s = std::make_shared<duo::cli::OptionSurface<O>>(
      cmd, "YAML sweep options: the keys below, e.g. an eval grid from configs/eval/*.yaml (the grid's defaults "
                "below are kind needle's)");
  s->option("--model", "Model folder (with tokenizer.json)", &O::model);
  s->option("--gates",
            "Run folder, pattern folder, `duo score` folder or TSV; or NAME=DIR,NAME=DIR,... (e.g. "
            "trained=RUN,razor=DIR) to compare several side by side",
            &O::gates);
  s->option("--sparsities", "Fractions of streaming heads", &O::sweep, &SweepOptions::sparsities)->delimiter(',');
  auto eval_kind = std::make_shared<std::string>();
  auto* eval_flag = cmd->add_option("--eval", *eval_kind, "niah (official needle, sets kind=needle) or passkey");
  eval_flag->check(CLI::IsMember({"niah", "passkey"}));
  s->option("--deploy-sink,--sink", "Deploy window of the exported masks: sink tokens", &O::window,
            &DeployWindowOptions::deploy_sink);
  s->option("--deploy-recent,--recent", "Deploy window of the exported masks: recent tokens", &O::window,
            &DeployWindowOptions::deploy_recent);
  s->option("--random", "Also evaluate N random masks with as many streaming heads, per sparsity (the baseline)",
            &O::sweep, &SweepOptions::random_masks);
  s->option("--out", "Output folder", &O::out);
  s->option("--dtype", "Compute dtype: fp32 or bf16", &O::dtype);
  s->storage_flags(&O::storage);
  s->common_flags(&O::common);
  cmd->callback([s, eval_kind, eval_flag] {
    std::optional<std::string> kind;
    if (eval_flag->count() > 0) kind = *eval_kind == "niah" ? "needle" : "passkey";
    auto grid = [](auto& o) -> auto& { return o.sweep.eval; };
    run_sweep_cmd(duo::cli::resolve_with_eval_grid(*s, grid, kind));
  });
}

DUO_COMMAND(80, add_command);

}  // namespace
