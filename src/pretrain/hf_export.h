// The Hugging Face folder of a pretrained model: config.json (model_type llama),
// model.safetensors (float32, HF tensor names), tokenizer.json, generation_config.json.
#pragma once

#include <cstdint>
#include <filesystem>

#include "model/model.h"
#include "model/model_config.h"
#include "pretrain/pretrain_options.h"

namespace duo::pretrain {

// The Llama config of `shape` over a vocabulary of `vocab_size` tokens (specials of
// corpus_tokenizer.h: bos 1, eos 2, pad 3).
model::ModelConfig make_model_config(const ShapeOptions& shape, int64_t vocab_size);

// Writes config.json, model.safetensors, generation_config.json and tokenizer.json (the corpus
// tokenizer) into dir (created if needed); each file atomically, the weights last but one.
void write_hf_folder(const std::filesystem::path& dir, const model::Model& m);

}  // namespace duo::pretrain
