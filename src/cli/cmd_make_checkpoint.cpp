// `duo make-checkpoint --preset configs/models/NAME.yaml --out DIR [--seed N] [--dtype fp32|bf16|fp16]
// [--shard-mb M]`: a Hugging Face style folder (config.json + safetensors) with random weights
// initialized like Hugging Face, for demos, tests and benchmarks.
#include <cstdio>
#include <string>

#include "cli/command.h"
#include "cli/run_options.h"
#include "core/error.h"
#include "core/file_checks.h"
#include "core/log.h"
#include "model/model.h"
#include "model/preset.h"

namespace {

struct MakeCheckpointOptions {
  std::string preset;
  std::string out;
  uint64_t seed = 0;
  std::string dtype = "fp32";
  double shard_mb = 0;
  duo::cli::CommonOptions common;
};

void run(const MakeCheckpointOptions& o) {
  duo::cli::apply_common_options(o.common);
  const auto dtype = duo::model::parse_dtype(o.dtype, "--dtype");
  DUO_CHECK(o.shard_mb >= 0, "--shard-mb: expected >= 0 (0 = one file); got {}", o.shard_mb);
  duo::core::check_output_folder(o.out, "make-checkpoint: --out");  // before the weights are drawn
  auto config = duo::model::read_preset(o.preset);
  const auto shard_bytes = static_cast<uint64_t>(o.shard_mb * 1024 * 1024);
  duo::model::write_random_checkpoint(config, o.out, o.seed, dtype, shard_bytes);
  duo::core::log_info("make-checkpoint: wrote {} ({} {}, seed {}{})", o.out, config.value("model_type", "?"),
                      duo::model::dtype_name(dtype), o.seed,
                      shard_bytes > 0 ? fmt::format(", shards of {} MB", o.shard_mb) : std::string());
}

void add_command(CLI::App& app) {
  auto opts = std::make_shared<MakeCheckpointOptions>();
  auto* cmd = app.add_subcommand("make-checkpoint", "Write a random checkpoint from a model preset (YAML of config.json keys)");
  cmd->add_option("--preset", opts->preset, "Preset YAML (e.g. configs/models/tiny-llama.yaml)")->required();
  cmd->add_option("--out", opts->out, "Output folder")->required();
  cmd->add_option("--seed", opts->seed, "Random seed")->default_val(0);
  cmd->add_option("--dtype", opts->dtype, "Stored dtype: fp32, bf16 or fp16")->default_val("fp32");
  cmd->add_option("--shard-mb", opts->shard_mb, "Shard size in MiB (0 = one model.safetensors)")->default_val(0);
  duo::cli::add_common_options(cmd, opts->common);
  cmd->callback([opts] { run(*opts); });
}

DUO_COMMAND(15, add_command);

}  // namespace
