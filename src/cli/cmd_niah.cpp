// `duo niah --model DIR [--mask DIR] --config configs/eval/niah.yaml [--set key=value ...]
// [--out DIR]`: the needle-in-a-haystack grid (context lengths x depths) decoded with the split
// KV cache. Writes DIR/results.csv, DIR/niah.svg and the resolved DIR/config.yaml.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "core/error.h"
#include "eval/model_setup.h"
#include "eval/niah.h"
#include "io/options.h"
#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;

struct NiahArgs {
  std::string model;
  std::string mask;
  std::string config;
  std::vector<std::string> sets;
  std::string out = "outputs/niah";
  std::string dtype = "fp32";
  bool print_config = false;
  duo::cli::CommonOptions common;
};

void run_niah_cmd(const NiahArgs& a) {
  duo::cli::apply_common_options(a.common);
  auto opts = duo::eval::resolve_niah_options(a.config, a.sets);
  if (a.print_config) {
    std::printf("%s", duo::io::options_help(opts).c_str());
    return;
  }
  DUO_CHECK(!a.model.empty(), "niah: --model is required");
  auto loaded = duo::eval::load_model_spec(a.model, duo::model::parse_dtype(a.dtype, "--dtype"));
  DUO_CHECK(!loaded.dir.empty() && fs::exists(loaded.dir / "tokenizer.json"),
            "niah: {} has no tokenizer.json; expected a model folder with its tokenizer", a.model);
  auto tok = duo::tokenizer::Tokenizer::load(loaded.dir);
  const auto& cfg = loaded.model.config();
  auto mask = duo::eval::load_mask_spec(a.mask, cfg.n_layers, cfg.n_kv_heads);
  auto run = duo::eval::run_niah(loaded.model, tok, mask.layout, opts, a.common.quiet);
  fs::create_directories(a.out);
  duo::io::write_options_yaml(fs::path(a.out) / "config.yaml", opts);
  duo::eval::write_niah_outputs(a.out, run, fmt::format("NIAH {} | {} | mask {}", opts.kind, a.model, mask.description));
  std::printf("niah: %zu points, mean score %.3f -> %s/results.csv, %s/niah.svg\n", run.points.size(), run.mean_score(),
              a.out.c_str(), a.out.c_str());
}

void add_command(CLI::App& app) {
  auto a = std::make_shared<NiahArgs>();
  auto* cmd = app.add_subcommand("niah", "Needle-in-a-haystack grid with a head mask (results.csv + niah.svg)");
  cmd->add_option("--model", a->model, "Model folder (with tokenizer.json)");
  cmd->add_option("--mask", a->mask, "Mask folder from `duo export`, random:SPARSITY[:SEED], or full (default)");
  cmd->add_option("--config", a->config, "YAML eval options (configs/eval/niah.yaml, passkey.yaml)");
  cmd->add_option("--set", a->sets, "Override an option: key=value (repeatable), e.g. context_lengths=[1000,2000]");
  cmd->add_option("--out", a->out, "Output folder")->default_val("outputs/niah");
  cmd->add_option("--dtype", a->dtype, "Compute dtype: fp32 or bf16")->default_val("fp32");
  cmd->add_flag("--print-config", a->print_config, "Print the resolved options and exit");
  duo::cli::add_common_options(cmd, a->common);
  cmd->callback([a] { run_niah_cmd(*a); });
}

DUO_COMMAND(75, add_command);

}  // namespace
