// `duo pretrain`: trains the built-in model (duo-tiny) from scratch; see src/pretrain/trainer.h.
//
//   duo pretrain --config configs/pretrain/duo-tiny.yaml --out outputs/duo-tiny-run [--set k=v] [--resume]
//   duo pretrain --recall models/duo-tiny [--set eval_samples=8]    (passkey recall table only)
// --stop-after N returns after N steps (a checkpoint is written), for time-boxed sessions.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/run_options.h"
#include "core/error.h"
#include "core/log.h"
#include "io/options.h"
#include "pretrain/recall_eval.h"
#include "pretrain/trainer.h"

namespace {

struct Args {
  duo::cli::CommonOptions common;
  std::string config;
  std::string out = "outputs/duo-tiny-run";
  std::vector<std::string> sets;
  bool resume = false;
  int64_t stop_after = 0;
  std::string recall;
};

void run(const Args& a) {
  duo::cli::apply_common_options(a.common);
  duo::pretrain::PretrainOptions opts;
  duo::io::resolve_options(opts, a.config, a.sets);  // defaults < YAML < --set; unknown keys are errors
  duo::pretrain::validate_options(opts);
  if (!a.recall.empty()) {
    duo::pretrain::RecallOptions ro;
    ro.lengths = opts.eval_lengths;
    ro.depths = opts.eval_depths;
    ro.samples = opts.eval_samples;
    auto r = duo::pretrain::evaluate_recall(a.recall, ro);
    std::printf("passkey recall of %s (%lld samples per cell, full attention)\n%s%s\n", a.recall.c_str(),
                static_cast<long long>(ro.samples), r.table().c_str(), r.summary().c_str());
    return;
  }
  duo::pretrain::RunControl rc;
  rc.resume = a.resume;
  rc.quiet = a.common.quiet;
  rc.stop_after = a.stop_after;
  auto res = duo::pretrain::run_pretrain(opts, a.out, rc);
  duo::core::log_info("pretrain: {} at step {}/{} in {:.1f}s; model in {}/model", res.finished ? "finished" : "stopped",
                      res.step, opts.total_steps(), res.seconds, a.out);
  if (res.last_eval) std::printf("%s", res.last_eval->table().c_str());
}

void add_command(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("pretrain", "Train the built-in passkey model (duo-tiny) from scratch on CPU");
  cmd->add_option("--config", args->config, "YAML options (configs/pretrain/duo-tiny.yaml)");
  cmd->add_option("--out", args->out, "output folder (checkpoint, model/, eval.tsv)")->capture_default_str();
  cmd->add_option("--set", args->sets, "override an option: key=value (repeatable)");
  cmd->add_flag("--resume", args->resume, "continue from OUT/checkpoint.safetensors");
  cmd->add_option("--stop-after", args->stop_after, "return after N steps of this invocation (checkpoint written)");
  cmd->add_option("--recall", args->recall, "only evaluate passkey recall of this model folder and print the table");
  duo::cli::add_common_options(cmd, args->common);
  cmd->footer([] {
    duo::pretrain::PretrainOptions defaults;
    return "Options (YAML keys and --set):\n" + duo::io::options_help(defaults);
  }());
  cmd->callback([args] { run(*args); });
}

DUO_COMMAND(90, add_command);

}  // namespace
