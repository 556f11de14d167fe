// Passkeys and templates: the NATO-alphabet word keys of the official multi-passkey generator
// (mit-han-lab/duo-attention duo_attn/data.py), the classic digit keys (Mohtashami & Jaggi,
// "Landmark Attention"), ordinals, a portable random number source, and template filling.
//
// Templates are plain strings with two placeholders: "{ordinal}" (first, second, ...) and
// "{passkey}". A template is split at each "{passkey}" into text pieces that are tokenized on
// their own, and the passkey's tokens are spliced between them, exactly as the official code
// concatenates `needle_tokens + passkey_tokens`. A template without "{passkey}" gets the passkey
// appended (the official needle and question are written that way).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace duo::tokenizer {
class Tokenizer;
}

namespace duo::data_gen {

// The 26 words the official generator draws passkey words from ("juliett", "xray" as there).
const std::vector<std::string>& nato_alphabet();
// "first" ... "twentieth": the official generator supports at most 20 passkeys.
const std::vector<std::string>& ordinal_numbers();

// Uniform integer in [0, n) from a 64-bit engine, by rejection, so that the draw is the same on
// every standard library (std::uniform_int_distribution is implementation-defined).
uint64_t uniform_index(std::mt19937_64& rng, uint64_t n);
// Mixes a seed and a stream index into an independent engine seed (splitmix64).
uint64_t mix_seed(uint64_t seed, uint64_t stream);

// A random passkey. kind "words": `length` NATO words joined by single spaces;
// kind "digits": `length` decimal digits, the first one non-zero. Throws on another kind.
std::string make_passkey(std::string_view kind, int64_t length, std::mt19937_64& rng);

// Replaces every "{ordinal}" in `text` by `ordinal`.
std::string fill_ordinal(std::string_view text, std::string_view ordinal);

// A template tokenized around its passkey slots: pieces.size() == slots + 1 and
// tokens = pieces[0] + key + pieces[1] + key + ... + pieces[slots].
struct TokenTemplate {
  std::vector<std::vector<int32_t>> pieces;
  int64_t slots() const { return static_cast<int64_t>(pieces.size()) - 1; }
  // Number of tokens with a key of `key_tokens` tokens.
  int64_t size_with(int64_t key_tokens) const;
  // Appends pieces[0] + key + pieces[1] + ... to `out`.
  void append(std::vector<int32_t>& out, const std::vector<int32_t>& key) const;
};

// Tokenizes `text` (with "{ordinal}" already filled) around its "{passkey}" slots; appends a slot
// at the end when the text has none. Pieces are encoded without special tokens.
TokenTemplate tokenize_template(const tokenizer::Tokenizer& tok, std::string_view text);
// Renders the template as text with `key` in every slot (for previews and answers).
std::string render_template(std::string_view text, std::string_view key);

}  // namespace duo::data_gen
