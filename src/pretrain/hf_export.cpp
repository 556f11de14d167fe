// Writing the Hugging Face model folder (see hf_export.h).
#include "pretrain/hf_export.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_checks.h"
#include "io/checkpoint.h"
#include "io/json.h"
#include "pretrain/corpus_tokenizer.h"

namespace duo::pretrain {

model::ModelConfig make_model_config(const ShapeOptions& s, int64_t vocab_size) {
  DUO_CHECK(s.n_heads > 0 && s.hidden_size % s.n_heads == 0,
            "pretrain: model.hidden_size must be a multiple of model.n_heads; got {} and {}", s.hidden_size, s.n_heads);
  model::ModelConfig c;
  c.model_type = "llama";
  c.architecture = "LlamaForCausalLM";
  c.vocab_size = vocab_size;
  c.hidden_size = s.hidden_size;
  c.intermediate_size = s.intermediate_size;
  c.n_layers = s.n_layers;
  c.n_heads = s.n_heads;
  c.n_kv_heads = s.n_kv_heads;
  c.head_dim = s.hidden_size / s.n_heads;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = s.rope_theta;
  c.max_position_embeddings = s.max_position_embeddings;
  c.tie_word_embeddings = s.tie_word_embeddings;
  c.bos_token_ids = {kBosId};
  c.eos_token_ids = {kEosId};
  c.pad_token_ids = {kPadId};
  c.torch_dtype = "float32";
  c.initializer_range = s.initializer_range;
  c.validate("pretrain model shape");
  return c;
}

void write_hf_folder(const std::filesystem::path& dir, const model::Model& m) {
  core::check_output_folder(dir);
  std::filesystem::create_directories(dir);
  write_corpus_tokenizer(dir / "tokenizer.json");
  io::write_json(dir / "config.json", m.config().to_json());
  nlohmann::json gen = {{"bos_token_id", kBosId}, {"eos_token_id", kEosId}, {"pad_token_id", kPadId},
                        {"do_sample", false},     {"max_new_tokens", 16}};
  io::write_json(dir / "generation_config.json", gen);
  std::vector<std::pair<std::string, at::Tensor>> weights;
  for (const auto& [name, w] : m.named_weights()) weights.emplace_back(name, w.detach().to(at::kFloat).contiguous());
  io::write_safetensors(dir / "model.safetensors", weights, {{"format", "pt"}});
}

}  // namespace duo::pretrain
