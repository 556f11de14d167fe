// `duo train --config configs/train/NAME.yaml [--set key=value ...] [--resume]`: learn one gate
// per KV head on a frozen model (src/train). Options: defaults < YAML < --set < flags; the
// resolved options go to <output_dir>/config.yaml.
#include <fmt/format.h>

#include <cstdio>

#include "cli/command.h"
#include "cli/run_options.h"
#include "core/error.h"
#include "core/file_checks.h"
#include "core/log.h"
#include "io/options.h"
#include "model/model.h"
#include "train/options.h"
#include "train/samples.h"
#include "train/trainer.h"

namespace {

using duo::cli::CommonOptions;

struct TrainCommandOptions {
  duo::train::TrainOptions train;  // the training task (train/options.h)
  CommonOptions common;            // threads, quiet

  template <class V>
  void visit(V& v) {
    train.visit(v);
    common.visit(v);
  }
};

void run(TrainCommandOptions c, bool resume) {
  const int threads = duo::cli::apply_common_options(c.common);
  const auto& o = c.train;
  DUO_CHECK(!o.model.empty(), "train: key 'model' is empty; expected a model folder (set it in the YAML or --set model=DIR)");
  duo::core::check_output_folder(o.output_dir, "train: output_dir");  // before the model loads
  duo::model::LoadOptions lo;
  lo.dtype = duo::model::parse_dtype(o.dtype, "dtype");
  auto model = duo::model::Model::load(o.model, lo);
  auto samples = duo::train::open_samples(o, model.config().vocab_size);
  duo::core::log_info("train: {} ({} layers x {} kv heads = {} gates), {} samples from {}, {} steps, {} threads",
                      o.model, model.config().n_layers, model.config().n_kv_heads,
                      model.config().n_layers * model.config().n_kv_heads, samples->size(), samples->describe(),
                      o.steps, threads);
  auto r = duo::train::run_training(o, model, *samples, resume, duo::io::options_to_yaml(c), c.common.quiet);
  std::printf("trained %lld steps; gates in %s/full_attention_heads.tsv (history.h5, gates.svg beside it)\n",
              static_cast<long long>(r.steps), r.output_dir.string().c_str());
}

void add_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train one gate per KV head (retrieval vs streaming) on a frozen model");
  auto s = std::make_shared<duo::cli::OptionSurface<TrainCommandOptions>>(
      cmd, "YAML file of training options (see configs/train/)");
  auto resume = std::make_shared<bool>(false);
  cmd->add_flag("--resume", *resume, "Continue from output_dir/checkpoint/state.h5");
  s->common_flags(&TrainCommandOptions::common);
  cmd->callback([s, resume] { run(s->resolve(), *resume); });
}

DUO_COMMAND(40, add_command);

}  // namespace
