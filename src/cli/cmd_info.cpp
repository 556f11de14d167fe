// `duo info --model DIR`: what a model folder holds — architecture, sizes, parameter count, dtype,
// RoPE, sliding window, KV-cache bytes per token — and what the loader found in the checkpoint.
// The checkpoint is validated against the config (names, shapes, dtypes) without reading weights.
#include <cstdio>
#include <string>

#include "cli/command.h"
#include "cli/run_options.h"
#include "core/error.h"
#include "model/model.h"
#include "model/model_config.h"

namespace {

struct InfoOptions {
  std::string model;
  duo::cli::CommonOptions common;
};

std::string rope_text(const duo::model::ModelConfig& c) {
  const auto& r = c.rope_scaling;
  std::string s = fmt::format("theta {}", c.rope_theta);
  if (r.none()) return s + ", no scaling";
  if (r.type == "linear") return s + fmt::format(", linear factor {}", r.factor);
  if (r.type == "llama3") {
    return s + fmt::format(", llama3 factor {}, low_freq_factor {}, high_freq_factor {}, original_max_position {}",
                           r.factor, r.low_freq_factor, r.high_freq_factor, r.original_max_position_embeddings);
  }
  std::string af = r.attention_factor > 0 ? fmt::format("{}", r.attention_factor) : "derived";
  return s + fmt::format(", yarn factor {}, original_max_position {}, beta_fast {}, beta_slow {}, attention_factor {}",
                         r.factor, r.original_max_position_embeddings, r.beta_fast, r.beta_slow, af);
}

std::string window_text(const duo::model::ModelConfig& c) {
  if (c.sliding_window <= 0) return "none";
  if (c.max_window_layers <= 0) return fmt::format("{} tokens (every layer)", c.sliding_window);
  return fmt::format("{} tokens (layers {} and up)", c.sliding_window, c.max_window_layers);
}

std::string ids_text(const std::vector<int64_t>& ids) {
  if (ids.empty()) return "none";
  return fmt::format("{}", fmt::join(ids, ", "));
}

void run(const InfoOptions& o) {
  duo::cli::apply_common_options(o.common);
  const auto cfg = duo::model::ModelConfig::load(o.model);
  const auto info = duo::model::inspect_checkpoint(o.model, cfg);
  std::string biases;
  if (cfg.qkv_bias) biases += "q/k/v ";
  if (cfg.o_bias) biases += "o ";
  if (cfg.mlp_bias) biases += "mlp ";
  std::string dtypes;
  for (const auto& [name, n] : info.dtype_counts) dtypes += fmt::format("{}{} x{}", dtypes.empty() ? "" : ", ", name, n);

  std::printf("model            %s\n", o.model.c_str());
  std::printf("architecture     %s (model_type %s)\n", cfg.architecture.empty() ? "-" : cfg.architecture.c_str(),
              cfg.model_type.c_str());
  std::printf("layers           %lld\n", static_cast<long long>(cfg.n_layers));
  std::printf("hidden size      %lld (intermediate %lld)\n", static_cast<long long>(cfg.hidden_size),
              static_cast<long long>(cfg.intermediate_size));
  std::printf("heads            %lld query, %lld KV (%lld per group), head_dim %lld\n",
              static_cast<long long>(cfg.n_heads), static_cast<long long>(cfg.n_kv_heads),
              static_cast<long long>(cfg.n_gqa()), static_cast<long long>(cfg.head_dim));
  std::printf("vocab            %lld (bos %s, eos %s, pad %s)\n", static_cast<long long>(cfg.vocab_size),
              ids_text(cfg.bos_token_ids).c_str(), ids_text(cfg.eos_token_ids).c_str(),
              ids_text(cfg.pad_token_ids).c_str());
  std::printf("parameters       %lld (%.2f M)\n", static_cast<long long>(cfg.n_params()), cfg.n_params() / 1e6);
  std::printf("dtype            %s (config torch_dtype)\n", cfg.torch_dtype.empty() ? "-" : cfg.torch_dtype.c_str());
  std::printf("rope             %s\n", rope_text(cfg).c_str());
  std::printf("max positions    %lld\n", static_cast<long long>(cfg.max_position_embeddings));
  std::printf("sliding window   %s\n", window_text(cfg).c_str());
  std::printf("biases           %s\n", biases.empty() ? "none" : biases.c_str());
  std::printf("q/k norm         %s\n", cfg.qk_norm ? "yes (per head, before RoPE)" : "no");
  std::printf("tied embeddings  %s\n", cfg.tie_word_embeddings ? "yes" : "no");
  std::printf("KV bytes/token   %lld (fp16/bf16), %lld (fp32)\n", static_cast<long long>(cfg.kv_bytes_per_token(2)),
              static_cast<long long>(cfg.kv_bytes_per_token(4)));
  std::printf("checkpoint       %zu file(s): %s\n", info.files.size(), fmt::format("{}", fmt::join(info.files, ", ")).c_str());
  std::printf("tensors          %lld (%s)%s\n", static_cast<long long>(info.n_tensors), dtypes.c_str(),
              info.ignored.empty() ? "" : fmt::format("; ignored: {}", fmt::join(info.ignored, ", ")).c_str());
}

void add_command(CLI::App& app) {
  auto opts = std::make_shared<InfoOptions>();
  auto* cmd = app.add_subcommand("info", "Describe a model folder (config.json + safetensors) and check its tensors");
  cmd->add_option("--model", opts->model, "Model folder (Hugging Face layout)")->required();
  duo::cli::add_common_options(cmd, opts->common);
  cmd->callback([opts] { run(*opts); });
}

DUO_COMMAND(10, add_command);

}  // namespace
