// `duo niah --model DIR [--mask DIR] --config configs/eval/niah.yaml [--set key=value ...]
// [--out DIR]`: the needle-in-a-haystack grid (context lengths x depths) decoded with the split
// KV cache. Writes DIR/results.csv, DIR/niah.svg and the resolved DIR/config.yaml. The grid's
// keys (configs/eval/*.yaml) sit at the top level of the command's keys.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "cli/eval_grid.h"
#include "cli/model_spec.h"
#include "cli/run_options.h"
#include "core/error.h"
#include "core/file_checks.h"
#include "eval/niah.h"
#include "io/options.h"
#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using duo::cli::CommonOptions;

struct NiahOptions {
  std::string model;                // model folder (with tokenizer.json)
  std::string mask;                 // mask folder, random:S[:seed] or full ("" = full)
  std::string out = "outputs/niah"; // output folder
  std::string dtype = "fp32";       // compute dtype
  duo::cli::StorageOptions storage;  // KV cache and weight storage dtypes
  duo::eval::NiahEvalOptions eval;  // the grid (keys at the top level)
  CommonOptions common;             // threads, quiet

  template <class V>
  void visit(V& v) {
    v("model", model, "model folder (with tokenizer.json)");
    v("mask", mask, "mask folder from `duo export`, random:SPARSITY[:SEED], or full (the default)");
    v("out", out, "output folder");
    v("dtype", dtype, "compute dtype: fp32 | bf16");
    storage.visit(v);
    eval.visit(v);
    common.visit(v);
  }
};

void run_niah_cmd(NiahOptions o, bool print_config) {
  duo::cli::apply_common_options(o.common);
  if (print_config) {
    std::printf("%s", duo::io::options_help(o).c_str());
    return;
  }
  duo::cli::require_key(o.model, "niah", "model", "--model", "a model folder with tokenizer.json");
  duo::core::check_output_folder(o.out, "niah: --out");  // before any work
  o.eval.kv_dtype = duo::model::parse_dtype(o.storage.kv_dtype, "niah: key 'kv_dtype' (--kv-dtype)");
  auto loaded = duo::cli::load_model_spec(o.model, duo::model::parse_dtype(o.dtype, "--dtype"), 0,
                                          o.storage.weight_dtype, "niah: key 'weight_dtype' (--weight-dtype)");
  DUO_CHECK(!loaded.dir.empty() && fs::exists(loaded.dir / "tokenizer.json"),
            "niah: {} has no tokenizer.json; expected a model folder with its tokenizer", o.model);
  auto tok = duo::tokenizer::Tokenizer::load(loaded.dir);
  const auto& cfg = loaded.model.config();
  auto mask = duo::cli::load_mask_spec(o.mask, cfg.n_layers, cfg.n_kv_heads);
  auto run = duo::eval::run_niah(loaded.model, tok, mask.layout, o.eval, o.common.quiet);
  fs::create_directories(o.out);
  duo::io::write_options_yaml(fs::path(o.out) / "config.yaml", o);
  duo::eval::write_niah_outputs(o.out, run,
                                fmt::format("NIAH {} | {} | mask {}", o.eval.kind, o.model, mask.description));
  std::printf("niah: %zu points, mean score %.3f -> %s/results.csv, %s/niah.svg\n", run.points.size(), run.mean_score(),
              o.out.c_str(), o.out.c_str());
}

void add_command(CLI::App& app) {
  using O = NiahOptions;
  auto* cmd = app.add_subcommand("niah", "Needle-in-a-haystack grid with a head mask (results.csv + niah.svg)");
  auto s = std::make_shared<duo::cli::OptionSurface<O>>(
      cmd, "YAML eval options (configs/eval/niah.yaml, passkey.yaml; the keys below, with kind needle's "
                "defaults)");
  s->option("--model", "Model folder (with tokenizer.json)", &O::model);
  s->option("--mask", "Mask folder from `duo export`, random:SPARSITY[:SEED], or full (default)", &O::mask);
  s->option("--out", "Output folder", &O::out);
  s->option("--dtype", "Compute dtype: fp32 or bf16", &O::dtype);
  s->storage_flags(&O::storage);
  auto print_config = std::make_shared<bool>(false);
  cmd->add_flag("--print-config", *print_config, "Print the resolved options and exit");
  s->common_flags(&O::common);
  cmd->callback([s, print_config] {
    auto grid = [](auto& o) -> auto& { return o.eval; };
    run_niah_cmd(duo::cli::resolve_with_eval_grid(*s, grid), *print_config);
  });
}

DUO_COMMAND(75, add_command);

}  // namespace
