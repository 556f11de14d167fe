// `duo train --config configs/train/NAME.yaml [--set key=value ...] [--resume] [--nproc N]`: learn
// one gate per KV head on a frozen model (src/train). Options: defaults < YAML < --set < flags; the
// resolved options go to <output_dir>/config.yaml.
//
// Many processes (src/dist): under torchrun, srun or mpirun each process reads its rank from the
// environment and joins the process group before loading anything; `--nproc N` starts N local
// processes itself (dist/launcher.h). Only rank 0 logs, shows progress and writes files.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "cli/run_options.h"
#include "core/error.h"
#include "core/file_checks.h"
#include "core/log.h"
#include "core/threads.h"
#include "dist/env.h"
#include "dist/group.h"
#include "dist/launcher.h"
#include "dist/options.h"
#include "io/options.h"
#include "model/model.h"
#include "train/options.h"
#include "train/samples.h"
#include "train/trainer.h"

namespace {

using duo::cli::CommonOptions;

struct TrainCommandOptions {
  duo::train::TrainOptions train;  // the training task (train/options.h)
  duo::dist::DistOptions dist;     // backend, timeout, rank 0's address (dist/options.h)
  CommonOptions common;            // threads, quiet

  template <class V>
  void visit(V& v) {
    train.visit(v);
    dist.visit(v);
    common.visit(v);
  }
};

void run(TrainCommandOptions c, bool resume, int nproc) {
  DUO_CHECK(nproc >= 1 && nproc <= duo::dist::kMaxLocalProcesses, "train: --nproc is {}; expected 1..{}", nproc,
            duo::dist::kMaxLocalProcesses);
  duo::dist::check_backend(c.dist.dist_backend);
  const auto env = duo::dist::detect_env(c.dist.master_addr, c.dist.master_port);
  if (nproc > 1 && !duo::dist::launched_by_duo()) {
    DUO_CHECK(!env.distributed(), "train: --nproc {} inside a {} environment of {} processes; expected one launcher "
              "(drop --nproc, or run duo outside torchrun/srun/mpirun)", nproc, env.source, env.world_size);
    duo::cli::check_threads(c.common.threads);
    if (c.common.quiet) duo::core::set_log_level(duo::core::LogLevel::kWarn);
    throw duo::cli::ExitStatus{duo::dist::launch_local(nproc)};
  }
  // Processes on one machine share its cores: threads 0 ("all cores") means this process's share.
  if (c.common.threads == 0 && env.local_world_size > 1)
    c.common.threads = std::max(1, duo::core::available_cores() / env.local_world_size);
  if (!env.is_root()) c.common.quiet = true;  // rank 0 logs and shows progress; the others warn and fail only
  const int threads = duo::cli::apply_common_options(c.common);
  const auto& o = c.train;
  DUO_CHECK(!o.model.empty(), "train: key 'model' is empty; expected a model folder (set it in the YAML or --set model=DIR)");
  std::unique_ptr<duo::dist::Group> group =
      env.distributed() ? std::make_unique<duo::dist::Group>(env, c.dist) : std::make_unique<duo::dist::Group>();
  if (env.distributed())
    duo::core::log_info("train: rank 0 of {} processes ({}), {} threads each, rendezvous at {}:{}", env.world_size,
                        env.source, threads, env.master_addr, env.master_port);
  // Every rank loads and validates its own model and samples; a failure on one stops all.
  std::unique_ptr<duo::model::Model> model;
  std::unique_ptr<duo::train::SampleSource> samples;
  group->run_checked("loading the model and samples", [&] {
    if (env.is_root()) duo::core::check_output_folder(o.output_dir, "train: output_dir");  // before the model loads
    duo::model::LoadOptions lo;
    lo.dtype = duo::model::parse_dtype(o.dtype, "dtype");
    model = std::make_unique<duo::model::Model>(duo::model::Model::load(o.model, lo));
    samples = duo::train::open_samples(o, model->config().vocab_size);
  });
  duo::core::log_info("train: {} ({} layers x {} kv heads = {} gates), {} samples from {}, {} steps of {} sample{}, "
                      "{} threads", o.model, model->config().n_layers, model->config().n_kv_heads,
                      model->config().n_layers * model->config().n_kv_heads, samples->size(), samples->describe(),
                      o.steps, o.batch_size, o.batch_size == 1 ? "" : "s", threads);
  auto r = duo::train::run_training(o, *model, *samples, resume, duo::io::options_to_yaml(c), c.common.quiet, *group);
  if (env.is_root())
    std::printf("trained %lld steps; gates in %s/full_attention_heads.tsv (history.h5, gates.svg beside it)\n",
                static_cast<long long>(r.steps), r.output_dir.string().c_str());
}

void add_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train one gate per KV head (retrieval vs streaming) on a frozen model");
  auto s = std::make_shared<duo::cli::OptionSurface<TrainCommandOptions>>(
      cmd, "YAML file of training options (see configs/train/)");
  auto resume = std::make_shared<bool>(false);
  auto nproc = std::make_shared<int>(1);
  cmd->add_flag("--resume", *resume, "Continue from output_dir/checkpoint/state.h5");
  cmd->add_option("--nproc", *nproc, "Start N local processes that share each step's batch (torchrun-style; "
                  "under torchrun/srun/mpirun leave it out)")->capture_default_str();
  s->common_flags(&TrainCommandOptions::common);
  s->option("--dist-backend", "Process group backend: gloo (CPU over TCP); nccl needs a CUDA build",
            &TrainCommandOptions::dist, &duo::dist::DistOptions::dist_backend);
  s->option("--dist-timeout", "Seconds a rank waits for the others (rendezvous, each collective)",
            &TrainCommandOptions::dist, &duo::dist::DistOptions::dist_timeout);
  s->option("--master-addr", "Host of rank 0 where the environment has no MASTER_ADDR (Slurm, Open MPI)",
            &TrainCommandOptions::dist, &duo::dist::DistOptions::master_addr);
  s->option("--master-port", "Port of rank 0 where the environment has no MASTER_PORT",
            &TrainCommandOptions::dist, &duo::dist::DistOptions::master_port);
  s->option("--batch-size", "Samples per optimizer step (split over the processes)", &TrainCommandOptions::train,
            &duo::train::TrainOptions::batch_size);
  cmd->callback([s, resume, nproc] { run(s->resolve(), *resume, *nproc); });
}

DUO_COMMAND(40, add_command);

}  // namespace
