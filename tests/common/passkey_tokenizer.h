// Test helpers for the eval grid (tests/eval, tests/cli): a tiny word-level tokenizer.json that
// covers the passkey variant's text (built from the texts themselves), and a random model whose
// vocabulary covers it.
#pragma once

#include <nlohmann/json.hpp>

#include <regex>
#include <set>
#include <string>

#include "common/tiny_checkpoint.h"
#include "model/model.h"
#include "model/model_config.h"
#include "tokenizer/tokenizer.h"

namespace duo::testing {

inline nlohmann::json passkey_tokenizer_json() {
  const char* texts[] = {
      "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.",
      "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz "
      "you about the important information there.",
      "The pass key is . Remember it. is the pass key. What is the pass key? The pass key is",
      "eat a sandwich and sit in Dolores Park on a sunny day."};
  std::set<std::string> words;
  const std::regex piece(R"([0-9]|[.,?:!]|[^\s0-9.,?:!]+)");
  for (const char* t : texts) {
    std::string s(t);
    for (auto it = std::sregex_iterator(s.begin(), s.end(), piece); it != std::sregex_iterator(); ++it) words.insert(it->str());
  }
  for (char c = '0'; c <= '9'; ++c) words.insert(std::string(1, c));
  nlohmann::json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  int id = 3;
  for (const auto& w : words) vocab[w] = id++;
  nlohmann::json split_ws = {{"type", "Split"}, {"pattern", {{"Regex", "\\s+"}}}, {"behavior", "Removed"}, {"invert", false}};
  nlohmann::json split_punct = {{"type", "Split"}, {"pattern", {{"Regex", "[0-9]|[.,?:!]"}}}, {"behavior", "Isolated"}, {"invert", false}};
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", nlohmann::json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", {split_ws, split_punct}}}},
          {"post_processor", nullptr},
          {"decoder", nullptr},
          {"model", {{"type", "WordLevel"}, {"vocab", vocab}, {"unk_token", "<unk>"}}}};
}

inline tokenizer::Tokenizer passkey_tokenizer() {
  return tokenizer::Tokenizer::from_json_string(passkey_tokenizer_json().dump(), "test tokenizer.json");
}

// tiny_config("llama") with a vocabulary of `vocab` ids and peaked random weights.
inline nlohmann::json eval_model_config(int64_t vocab) {
  auto j = tiny_config("llama");
  j["vocab_size"] = vocab;
  j["initializer_range"] = 0.2;
  j["max_position_embeddings"] = 4096;
  return j;
}

// A model folder for the end-to-end tests: eval_model_config's checkpoint (seed 5, weights rounded
// through `dtype`) beside the passkey tokenizer.json.
inline std::filesystem::path eval_model_dir(const std::string& name, at::ScalarType dtype = at::kFloat) {
  auto dir = temp_dir(name);
  auto tok_json = passkey_tokenizer_json();
  write_tiny_checkpoint(dir, eval_model_config(static_cast<int64_t>(tok_json["model"]["vocab"].size())),
                        /*seed=*/5, dtype);
  io::write_json(dir / "tokenizer.json", tok_json);
  return dir;
}

}  // namespace duo::testing
