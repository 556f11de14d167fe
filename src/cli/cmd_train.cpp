// `duo train --config configs/train/NAME.yaml [--set key=value ...] [--resume]`: learn one gate
// per KV head on a frozen model (src/train). Options: defaults < YAML < --set < flags.
#include <fmt/format.h>

#include <cstdio>

#include "cli/command.h"
#include "core/error.h"
#include "core/log.h"
#include "core/threads.h"
#include "io/options.h"
#include "model/model.h"
#include "train/options.h"
#include "train/samples.h"
#include "train/trainer.h"

namespace {

struct TrainArgs {
  std::string config;
  std::vector<std::string> sets;
  bool resume = false;
  int threads = -1;
  bool quiet = false;
};

void run(const TrainArgs& a) {
  duo::train::TrainOptions o;
  if (!a.config.empty()) duo::io::load_yaml_options(o, a.config);
  duo::io::apply_overrides(o, a.sets);
  if (a.threads >= 0) o.threads = a.threads;
  if (a.quiet) o.quiet = true;
  if (o.quiet) duo::core::set_log_level(duo::core::LogLevel::kWarn);
  DUO_CHECK(!o.model.empty(), "train: key 'model' is empty; expected a model folder (set it in the YAML or --set model=DIR)");
  const int threads = duo::core::set_threads(static_cast<int>(o.threads));
  duo::model::LoadOptions lo;
  lo.dtype = duo::model::parse_dtype(o.dtype, "dtype");
  auto model = duo::model::Model::load(o.model, lo);
  auto samples = duo::train::open_samples(o, model.config().vocab_size);
  duo::core::log_info("train: {} ({} layers x {} kv heads = {} gates), {} samples from {}, {} steps, {} threads",
                      o.model, model.config().n_layers, model.config().n_kv_heads,
                      model.config().n_layers * model.config().n_kv_heads, samples->size(), samples->describe(),
                      o.steps, threads);
  auto r = duo::train::run_training(o, model, *samples, a.resume, duo::io::options_to_yaml(o));
  std::printf("trained %lld steps; gates in %s/full_attention_heads.tsv (history.h5, gates.svg beside it)\n",
              static_cast<long long>(r.steps), r.output_dir.string().c_str());
}

void add_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", "Train one gate per KV head (retrieval vs streaming) on a frozen model");
  cmd->add_option("--config", args->config, "YAML file of training options (see configs/train/)");
  cmd->add_option("--set", args->sets, "Override an option: key=value (repeatable)")->take_all();
  cmd->add_flag("--resume", args->resume, "Continue from output_dir/checkpoint/state.h5");
  cmd->add_option("--threads", args->threads, "CPU threads (overrides the 'threads' option; 0 = all cores)");
  cmd->add_flag("--quiet,-q", args->quiet, "No progress line");
  duo::train::TrainOptions defaults;
  cmd->footer("Options (YAML keys, --set key=value):\n" + duo::io::options_help(defaults));
  cmd->callback([args] { run(*args); });
}

DUO_COMMAND(40, add_command);

}  // namespace
