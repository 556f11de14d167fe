// `duo score --model M --method retrieval|razor|attention-mass --out DIR [--config FILE.yaml]
// [--set key=value ...]`: scores every head of a model without training (src/score/) and writes
// DIR/full_attention_heads.tsv (one score per layer and KV head in [0, 1], higher = more
// retrieval-like; the gate-table format, so `duo export --gates DIR --sparsity S` and `duo sweep
// --gates NAME=DIR` read it as trained gates), DIR/config.json (method, inputs, settings, raw
// statistics), DIR/scores.svg (heatmap) and the resolved DIR/config.yaml. The NIAH grid's keys
// (configs/eval/*.yaml) sit at the top level: they choose the prompts of retrieval and
// attention-mass; deploy_sink / deploy_recent are attention-mass's window.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli/command.h"
#include "cli/eval_grid.h"
#include "cli/model_spec.h"
#include "cli/run_options.h"
#include "core/error.h"
#include "core/file_checks.h"
#include "io/options.h"
#include "score/run_score.h"
#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using duo::cli::CommonOptions;
using duo::cli::DeployWindowOptions;
using duo::score::ScoreOptions;

struct ScoreCommandOptions {
  std::string model;                  // model folder, or a preset (random weights; give --tokenizer)
  std::string tokenizer;              // folder with tokenizer.json; "" = the model folder
  std::string out = "outputs/score";  // output folder
  std::string dtype = "fp32";         // compute dtype
  ScoreOptions score;                 // method, tile size, razor probe, prompts (window: from `window`)
  DeployWindowOptions window;         // attention-mass: the sink + recent window
  CommonOptions common;               // threads, quiet

  template <class V>
  void visit(V& v) {
    v("model", model, "model folder, or a model preset (random weights; then give tokenizer)");
    v("tokenizer", tokenizer, "folder with tokenizer.json (default: the model folder)");
    v("method", score.method, "retrieval | razor | attention-mass");
    v("out", out, "output folder");
    v("dtype", dtype, "compute dtype: fp32 | bf16");
    v("block", score.block, "tile size (tokens) of the blockwise attention statistics");
    v.section("razor", score.razor, "method razor: the repeated random-token probe");
    window.visit(v);
    score.prompts.visit(v);  // the grid's keys at the top level, as in configs/eval/*.yaml
    common.visit(v);
  }
};

void run_score_cmd(ScoreCommandOptions o) {
  duo::cli::apply_common_options(o.common);
  duo::cli::require_key(o.model, "score", "model", "--model", "a model folder (or preset) to score");
  duo::cli::require_key(o.score.method, "score", "method", "--method", duo::score::kScoreMethods);
  o.score.window = o.window.window();
  duo::score::check_score_options(o.score);  // before the model loads
  duo::core::check_output_folder(o.out, "score: --out");
  auto loaded = duo::cli::load_model_spec(o.model, duo::model::parse_dtype(o.dtype, "--dtype"));
  const fs::path tok_dir = o.tokenizer.empty() ? loaded.dir : fs::path(o.tokenizer);
  DUO_CHECK(!tok_dir.empty() && fs::exists(tok_dir / "tokenizer.json"),
            "score: {} has no tokenizer.json; expected a model folder with its tokenizer (or --tokenizer DIR)",
            o.tokenizer.empty() ? o.model : o.tokenizer);
  auto tok = duo::tokenizer::Tokenizer::load(tok_dir);
  auto result = duo::score::run_score(loaded.model, tok, o.score, o.common.quiet);
  const fs::path out = o.out;
  fs::create_directories(out);
  duo::io::write_options_yaml(out / "config.yaml", o);
  nlohmann::json config = {{"model", o.model},
                           {"model_description", loaded.description},
                           {"tokenizer", tok_dir.string()},
                           {"dtype", o.dtype},
                           {"block", o.score.block}};
  if (o.score.method == "razor") {
    const auto& r = o.score.razor;
    config["razor"] = {{"length", r.length}, {"copies", r.copies}, {"sequences", r.sequences}, {"seed", r.seed},
                       {"echo_share", r.echo_share}, {"induction_share", r.induction_share}};
  } else {
    const auto& p = o.score.prompts;
    config["prompts"] = {{"kind", p.kind}, {"context_lengths", p.context_lengths},
                         {"depth_percents", p.depth_percents}, {"samples", p.samples}, {"seed", p.prompt.seed}};
    if (o.score.method == "retrieval") config["prompts"]["max_new_tokens"] = p.max_new_tokens;
  }
  if (o.score.method == "attention-mass") config["window"] = {{"sink", o.score.window.sink}, {"recent", o.score.window.recent}};
  duo::score::write_score_outputs(out, result, config, fmt::format("{} scores | {}", o.score.method, o.model));
  std::printf("score: %s on %s: %lld layers x %lld KV heads in %.2f s -> %s/full_attention_heads.tsv, %s/config.json, "
              "%s/scores.svg\n",
              o.score.method.c_str(), o.model.c_str(), static_cast<long long>(result.kv_scores.n_layers),
              static_cast<long long>(result.kv_scores.n_kv_heads), result.seconds, o.out.c_str(), o.out.c_str(),
              o.out.c_str());
}

void add_command(CLI::App& app) {
  using O = ScoreCommandOptions;
  auto* cmd = app.add_subcommand(
      "score", "Score every head without training (retrieval, razor, attention-mass); writes gate-format scores");
  auto s = std::make_shared<duo::cli::OptionSurface<O>>(
      cmd, "YAML score options: the keys below, e.g. a prompt grid from configs/eval/*.yaml (the grid's defaults "
                "below are kind needle's)");
  s->option("--model", "Model folder (with tokenizer.json), or a model preset", &O::model);
  s->option("--tokenizer", "Folder with tokenizer.json (default: the model folder)", &O::tokenizer);
  s->option("--method", "retrieval, razor or attention-mass", &O::score, &ScoreOptions::method)
      ->check(CLI::IsMember({"retrieval", "razor", "attention-mass"}));
  auto eval_kind = std::make_shared<std::string>();
  auto* eval_flag = cmd->add_option("--eval", *eval_kind, "Prompts: niah (official needle, sets kind=needle) or passkey");
  eval_flag->check(CLI::IsMember({"niah", "passkey"}));
  s->option("--deploy-sink,--sink", "attention-mass: sink tokens of the window", &O::window,
            &DeployWindowOptions::deploy_sink);
  s->option("--deploy-recent,--recent", "attention-mass: recent tokens of the window", &O::window,
            &DeployWindowOptions::deploy_recent);
  s->option("--out", "Output folder", &O::out);
  s->option("--dtype", "Compute dtype: fp32 or bf16", &O::dtype);
  s->common_flags(&O::common);
  cmd->callback([s, eval_kind, eval_flag] {
    std::optional<std::string> kind;
    if (eval_flag->count() > 0) kind = *eval_kind == "niah" ? "needle" : "passkey";
    auto grid = [](auto& o) -> auto& { return o.score.prompts; };
    run_score_cmd(duo::cli::resolve_with_eval_grid(*s, grid, kind));
  });
}

DUO_COMMAND(82, add_command);

}  // namespace
