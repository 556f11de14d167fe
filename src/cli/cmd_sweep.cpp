// `duo sweep --model DIR --gates RUN --sparsities 0,0.25,0.5,0.75,0.9 --eval niah|passkey
// [--config FILE.yaml] [--set ...] --out DIR`: exports one mask per sparsity
// (DIR/masks/s=<sparsity>), evaluates each, prints and writes the table (DIR/sweep.csv) and
// DIR/sweep.svg; --random N adds N random masks of the same size per sparsity, and DIR/sweep.md
// is the Markdown table (the demo puts it into the README).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "eval/model_setup.h"
#include "eval/sweep.h"
#include "io/options.h"
#include "mask/mask_dir.h"
#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;

struct SweepArgs {
  std::string model;
  std::string gates;
  std::vector<double> sparsities = {0, 0.25, 0.5, 0.75, 0.9};
  std::string eval = "niah";
  std::string config;
  std::vector<std::string> sets;
  int64_t sink = 64;
  int64_t recent = 256;
  int64_t random = 0;
  std::string out = "outputs/sweep";
  std::string dtype = "fp32";
  duo::cli::CommonOptions common;
};

void run_sweep_cmd(const SweepArgs& a) {
  duo::cli::apply_common_options(a.common);
  DUO_CHECK(a.eval == "niah" || a.eval == "passkey", "sweep: --eval expects niah or passkey; got '{}'", a.eval);
  std::vector<std::string> sets{std::string("kind=") + (a.eval == "niah" ? "needle" : "passkey")};
  sets.insert(sets.end(), a.sets.begin(), a.sets.end());
  duo::eval::SweepOptions opts;
  opts.sparsities = a.sparsities;
  opts.sink = a.sink;
  opts.recent = a.recent;
  DUO_CHECK(a.random >= 0, "sweep: --random expects a count >= 0; got {}", a.random);
  opts.random_masks = a.random;
  opts.eval = duo::eval::resolve_niah_options(a.config, sets);
  auto loaded = duo::eval::load_model_spec(a.model, duo::model::parse_dtype(a.dtype, "--dtype"));
  DUO_CHECK(!loaded.dir.empty() && fs::exists(loaded.dir / "tokenizer.json"),
            "sweep: {} has no tokenizer.json; expected a model folder with its tokenizer", a.model);
  auto tok = duo::tokenizer::Tokenizer::load(loaded.dir);
  auto src = duo::mask::load_gates(a.gates);
  auto gates = duo::mask::clip01(src.gates);
  fs::create_directories(a.out);
  duo::io::write_options_yaml(fs::path(a.out) / "eval_config.yaml", opts.eval);
  auto points = duo::eval::run_sweep(loaded.model, tok, gates, src.tsv_path.string(), opts, a.out, a.common.quiet);
  duo::core::write_file_atomic(fs::path(a.out) / "sweep.csv", duo::eval::sweep_csv(points));
  duo::core::write_file_atomic(fs::path(a.out) / "sweep.md", duo::eval::sweep_markdown(points));
  duo::core::write_file_atomic(fs::path(a.out) / "sweep.svg",
                               duo::eval::sweep_svg(points, fmt::format("Sparsity sweep ({}) | {}", a.eval, a.model)));
  std::printf("%s", duo::eval::sweep_table(points).c_str());
  std::printf("sweep: %s/sweep.csv, %s/sweep.md, %s/sweep.svg\n", a.out.c_str(), a.out.c_str(), a.out.c_str());
}

void add_command(CLI::App& app) {
  auto a = std::make_shared<SweepArgs>();
  auto* cmd = app.add_subcommand("sweep", "Export masks at several sparsities and evaluate each (table + sweep.svg)");
  cmd->add_option("--model", a->model, "Model folder (with tokenizer.json)")->required();
  cmd->add_option("--gates", a->gates, "Run folder, official pattern folder, or full_attention_heads.tsv")->required();
  cmd->add_option("--sparsities", a->sparsities, "Fractions of streaming heads")->delimiter(',');
  cmd->add_option("--eval", a->eval, "niah (official needle) or passkey")->default_val("niah");
  cmd->add_option("--config", a->config, "YAML eval options (configs/eval/*.yaml)");
  cmd->add_option("--set", a->sets, "Override an eval option: key=value (repeatable)");
  cmd->add_option("--sink", a->sink, "Deploy sink size of the exported masks")->default_val(64);
  cmd->add_option("--recent", a->recent, "Deploy recent window of the exported masks")->default_val(256);
  cmd->add_option("--random", a->random,
                  "Also evaluate N random masks with as many streaming heads, per sparsity (the baseline)")
      ->default_val(0);
  cmd->add_option("--out", a->out, "Output folder")->default_val("outputs/sweep");
  cmd->add_option("--dtype", a->dtype, "Compute dtype: fp32 or bf16")->default_val("fp32");
  duo::cli::add_common_options(cmd, a->common);
  cmd->callback([a] { run_sweep_cmd(*a); });
}

DUO_COMMAND(80, add_command);

}  // namespace
