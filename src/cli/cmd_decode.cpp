// `duo decode --model DIR [--mask DIR] (--prompt-file F | --ids 1,2,3) --max-new-tokens N
// [--prefill-chunk C] [--kv-dtype bf16|f16|fp32] [--out FILE.json] [--config FILE.yaml] [--set key=value ...]`: greedy
// decoding with the split KV cache. Prints the generated text (with the model folder's
// tokenizer.json when present, else the ids), prefill tokens/s, decode ms/token and the KV-cache
// bytes; --out also writes them as JSON, and the resolved options as FILE.config.yaml.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli/command.h"
#include "cli/ids.h"
#include "cli/model_spec.h"
#include "cli/run_options.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_checks.h"
#include "core/log.h"
#include "core/printable.h"
#include "io/json.h"
#include "io/options.h"
#include "mask/kv_budget.h"
#include "runtime/decoder.h"
#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using duo::cli::CommonOptions;

struct DecodeOptions {
  std::string model;            // model folder or preset
  std::string mask;             // mask folder, random:S[:seed] or full ("" = full)
  std::string prompt_file;      // prompt text (tokenized with the model's tokenizer.json)
  std::string ids;              // or the prompt as token ids, "1,2,3"
  int64_t max_new_tokens = 32;  // tokens to generate
  int64_t prefill_chunk = duo::runtime::kDefaultPrefillChunk;  // 0 = whole prompt at once
  std::string dtype = "fp32";   // compute dtype
  duo::cli::StorageOptions storage;  // KV cache and weight storage dtypes
  std::string out;              // JSON report ("" = none)
  bool no_eos = false;          // keep going past the end-of-sequence token
  bool allow_long_context = false;  // decode past max_position_embeddings (with a warning)
  CommonOptions common;         // threads, quiet

  template <class V>
  void visit(V& v) {
    v("model", model, "model folder, or a preset from configs/models (random weights)");
    v("mask", mask, "mask folder from `duo export`, random:SPARSITY[:SEED], or full (the default)");
    v("prompt_file", prompt_file, "prompt text (needs the model folder's tokenizer.json)");
    v("ids", ids, "prompt token ids, e.g. 1,2,3 (instead of prompt_file)");
    v("max_new_tokens", max_new_tokens, "tokens to generate");
    v("prefill_chunk", prefill_chunk, "prefill chunk size in tokens; 0 = whole prompt");
    v("dtype", dtype, "compute dtype: fp32 | bf16");
    storage.visit(v);
    v("out", out, "write prompt length, generated ids, timings and KV bytes as JSON (and FILE.config.yaml)");
    v("no_eos", no_eos, "do not stop at the end-of-sequence token");
    v("allow_long_context", allow_long_context,
      "decode past the model's max_position_embeddings (warns; refused otherwise)");
    common.visit(v);
  }
};

void run_decode(DecodeOptions a) {
  duo::cli::apply_common_options(a.common);
  duo::cli::require_key(a.model, "decode", "model", "--model", "a model folder or preset");
  DUO_CHECK(a.prompt_file.empty() != a.ids.empty(), "decode: give exactly one of --prompt-file and --ids");
  DUO_CHECK(a.max_new_tokens >= 1, "decode: key 'max_new_tokens' (--max-new-tokens) must be >= 1; got {}",
            a.max_new_tokens);
  DUO_CHECK(a.prefill_chunk >= 0,
            "decode: key 'prefill_chunk' (--prefill-chunk) must be >= 0 (0 = whole prompt); got {}", a.prefill_chunk);
  std::vector<int64_t> prompt;
  if (!a.ids.empty()) prompt = duo::cli::parse_id_list(a.ids);  // before the model loads
  const fs::path config_out = a.out.empty() ? fs::path() : duo::cli::config_path_beside(a.out);
  if (!a.out.empty()) duo::core::check_output_file(a.out, "decode: --out");  // before any work
  if (!a.out.empty()) duo::core::check_output_file(config_out, "decode: --out's config");
  if (!a.prompt_file.empty()) duo::core::check_input_file(a.prompt_file, "decode: --prompt-file");
  const auto dtype = duo::model::parse_dtype(a.dtype, "--dtype");
  const auto kv_dtype = duo::model::parse_dtype(a.storage.kv_dtype, "decode: key 'kv_dtype' (--kv-dtype)");
  auto loaded = duo::cli::load_model_spec(a.model, dtype, 0, a.storage.weight_dtype,
                                          "decode: key 'weight_dtype' (--weight-dtype)");
  const auto& cfg = loaded.model.config();
  auto mask = duo::cli::load_mask_spec(a.mask, cfg.n_layers, cfg.n_kv_heads);

  std::optional<duo::tokenizer::Tokenizer> tok;
  if (!loaded.dir.empty() && fs::exists(loaded.dir / "tokenizer.json")) tok = duo::tokenizer::Tokenizer::load(loaded.dir);
  if (a.ids.empty()) {
    DUO_CHECK(tok.has_value(), "decode: --prompt-file needs {}/tokenizer.json; none found (use --ids)",
              loaded.dir.empty() ? a.model : loaded.dir.string());
    const std::string text = duo::core::read_file(a.prompt_file);
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
      duo::core::log_warn("decode: {} is empty; decoding from the special tokens alone", a.prompt_file);
    }
    if (const size_t bad = duo::core::count_invalid_utf8(text); bad > 0) {
      duo::core::log_warn("decode: {} is not valid UTF-8: {} invalid bytes (the first at byte offset {}) are encoded "
                          "as U+FFFD", a.prompt_file, bad, duo::core::first_invalid_utf8(text));
    }
    for (int32_t id : tok->encode(text, /*add_special_tokens=*/true)) prompt.push_back(id);
  }
  DUO_CHECK(!prompt.empty(), "decode: the prompt is empty; expected at least one token");
  for (size_t i = 0; i < prompt.size(); ++i) {
    DUO_CHECK(prompt[i] >= 0 && prompt[i] < cfg.vocab_size,
              "decode: prompt token at position {} out of range; expected 0 <= id < {}, got {}", i, cfg.vocab_size,
              prompt[i]);
  }
  // Past max_position_embeddings RoPE runs at positions the model never saw: refuse unless asked.
  const int64_t total = static_cast<int64_t>(prompt.size()) + a.max_new_tokens;
  if (total > cfg.max_position_embeddings) {
    DUO_CHECK(a.allow_long_context,
              "decode: the prompt ({} tokens) + max_new_tokens ({}) = {} is past the model's max_position_embeddings "
              "({}); expected at most {} (pass --allow-long-context to decode anyway)",
              prompt.size(), a.max_new_tokens, total, cfg.max_position_embeddings, cfg.max_position_embeddings);
    duo::core::log_warn("decode: {} tokens is past the model's max_position_embeddings ({}); expect degraded output",
                        total, cfg.max_position_embeddings);
  }
  duo::runtime::GenerateOptions go;
  go.max_new_tokens = a.max_new_tokens;
  go.prefill_chunk = a.prefill_chunk;
  go.kv_dtype = kv_dtype;
  if (!a.no_eos) {
    go.stop_ids = cfg.eos_token_ids;
    if (tok && tok->eos_id()) go.stop_ids.push_back(*tok->eos_id());
  }
  auto r = duo::runtime::generate_greedy(loaded.model, mask.layout, prompt, go);

  std::string text;
  if (tok) {
    std::vector<int32_t> out(r.tokens.begin(), r.tokens.end());
    text = tok->decode(out, /*skip_special_tokens=*/true);
  }
  const int64_t elem = static_cast<int64_t>(c10::elementSize(kv_dtype));
  const int64_t used = r.prompt_tokens + static_cast<int64_t>(r.tokens.size());
  const int64_t full_bytes = duo::mask::kv_cache_bytes_full(cfg.n_layers, cfg.n_kv_heads, used, cfg.head_dim, elem);
  if (tok) {
    std::printf("%s\n", text.c_str());
  } else {
    std::printf("%s\n", fmt::format("{}", fmt::join(r.tokens, ",")).c_str());
  }
  std::fprintf(stderr,
               "decode: %lld prompt tokens, %zu generated | mask %s | prefill %.1f tokens/s (%.3f s) | decode %.2f "
               "ms/token | KV %.2f MiB allocated (%.3f of full attention)\n",
               static_cast<long long>(r.prompt_tokens), r.tokens.size(), mask.description.c_str(),
               r.prefill_tokens_per_second(), r.prefill_seconds, r.decode_ms_per_token(),
               static_cast<double>(r.kv_bytes) / 1048576.0,
               full_bytes > 0 ? static_cast<double>(r.kv_used_bytes) / static_cast<double>(full_bytes) : 0.0);
  if (!a.out.empty()) {
    nlohmann::json j = {{"model", loaded.description},
                        {"mask", mask.description},
                        {"prompt_tokens", r.prompt_tokens},
                        {"generated_ids", r.tokens},
                        {"prefill_chunk", a.prefill_chunk},
                        {"prefill_seconds", r.prefill_seconds},
                        {"prefill_tokens_per_second", r.prefill_tokens_per_second()},
                        {"decode_steps", r.decode_steps},
                        {"decode_seconds", r.decode_seconds},
                        {"decode_ms_per_token", r.decode_ms_per_token()},
                        {"kv_bytes", r.kv_bytes},
                        {"kv_used_bytes", r.kv_used_bytes},
                        {"kv_bytes_full_attention", full_bytes},
                        {"dtype", duo::model::dtype_name(dtype)},
                        {"kv_dtype", duo::model::dtype_name(kv_dtype)},
                        {"weight_dtype", duo::model::dtype_name(loaded.model.weight_dtype())}};
    if (tok) j["text"] = text;
    duo::core::write_file_atomic(a.out, j.dump(2) + "\n");
    duo::io::write_options_yaml(config_out, a);
  }
}

void add_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("decode", "Greedy decoding with a head mask (split KV cache)");
  auto s = std::make_shared<duo::cli::OptionSurface<DecodeOptions>>(cmd, "YAML decode options (keys below)");
  s->option("--model", "Model folder, or a preset from configs/models (random weights)", &DecodeOptions::model);
  s->option("--mask", "Mask folder from `duo export`, random:SPARSITY[:SEED], or full (default)", &DecodeOptions::mask);
  s->option("--prompt-file", "Prompt text (needs the model folder's tokenizer.json)", &DecodeOptions::prompt_file);
  s->option("--ids", "Prompt token ids, e.g. 1,2,3", &DecodeOptions::ids);
  s->option("--max-new-tokens", "Tokens to generate", &DecodeOptions::max_new_tokens);
  s->option("--prefill-chunk", "Prefill chunk size in tokens (0 = whole prompt)", &DecodeOptions::prefill_chunk);
  s->option("--dtype", "Compute dtype: fp32 or bf16", &DecodeOptions::dtype);
  s->storage_flags(&DecodeOptions::storage);
  s->option("--out", "Write prompt length, generated ids, timings and KV bytes as JSON (and FILE.config.yaml)",
            &DecodeOptions::out);
  s->flag("--no-eos", "Do not stop at the end-of-sequence token", &DecodeOptions::no_eos);
  s->flag("--allow-long-context", "Decode past the model's max_position_embeddings (with a warning)",
          &DecodeOptions::allow_long_context);
  s->common_flags(&DecodeOptions::common);
  cmd->callback([s] { run_decode(s->resolve()); });
}

DUO_COMMAND(70, add_command);

}  // namespace
