// The word-level tokenizer of the built-in model duo-tiny: a Hugging Face tokenizer.json
// (model WordLevel) over the vocabulary of the synthetic passkey corpus (the built-in filler, the
// classic and official passkey templates, NATO words, ordinals), with every digit and every
// punctuation character a token of its own, so that a 5-digit key is 5 tokens.
//
// Pre-tokenizer (components duo::tokenizer supports): Sequence of
//   Split(Regex "\s+", Removed)                       whitespace separates and is dropped
//   Split(Regex "[0-9]|[^0-9A-Za-z_\s]", Isolated)    each digit / punctuation char alone
// Special tokens: <unk> 0, <s> 1 (BOS, prepended by a TemplateProcessing post-processor),
// </s> 2 (EOS), <pad> 3. Words outside the vocabulary become <unk>.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace duo::pretrain {

inline constexpr int64_t kUnkId = 0;
inline constexpr int64_t kBosId = 1;
inline constexpr int64_t kEosId = 2;
inline constexpr int64_t kPadId = 3;

// Splits ASCII text the way the tokenizer.json pre-tokenizer does (for building the vocabulary).
std::vector<std::string> split_words(std::string_view text);

// The vocabulary, id order: the 4 special tokens, digits 0-9, then the sorted corpus pieces.
std::vector<std::string> corpus_vocabulary();

// The tokenizer.json document for `vocab` (vocab[i] has id i; vocab[0..3] are the specials).
nlohmann::json tokenizer_json(const std::vector<std::string>& vocab);

// Writes tokenizer_json(corpus_vocabulary()) to `path` atomically.
void write_corpus_tokenizer(const std::filesystem::path& path);

}  // namespace duo::pretrain
