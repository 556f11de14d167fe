// Passkeys, ordinals and template splicing (see passkey.h).
#include "data_gen/passkey.h"

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace duo::data_gen {
namespace {

constexpr std::string_view kPasskeySlot = "{passkey}";
constexpr std::string_view kOrdinalSlot = "{ordinal}";

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t hit = text.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace

const std::vector<std::string>& nato_alphabet() {
  static const std::vector<std::string> kWords = {
      "alpha", "bravo",  "charlie", "delta",  "echo",   "foxtrot", "golf",    "hotel", "india",
      "juliett", "kilo", "lima",    "mike",   "november", "oscar", "papa",    "quebec", "romeo",
      "sierra", "tango", "uniform", "victor", "whiskey", "xray",   "yankee",  "zulu"};
  return kWords;
}

const std::vector<std::string>& ordinal_numbers() {
  static const std::vector<std::string> kOrdinals = {
      "first",      "second",     "third",      "fourth",      "fifth",      "sixth",      "seventh",
      "eighth",     "ninth",      "tenth",      "eleventh",    "twelfth",    "thirteenth", "fourteenth",
      "fifteenth",  "sixteenth",  "seventeenth", "eighteenth", "nineteenth", "twentieth"};
  return kOrdinals;
}

uint64_t uniform_index(std::mt19937_64& rng, uint64_t n) {
  DUO_CHECK(n > 0, "uniform_index: expected a range of at least 1 value, got 0");
  // Reject the top partial block so that every residue is equally likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do {
    x = rng();
  } while (x >= limit);
  return x % n;
}

uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::string make_passkey(std::string_view kind, int64_t length, std::mt19937_64& rng) {
  DUO_CHECK(length > 0, "passkey_length: expected at least 1, got {}", length);
  std::string key;
  if (kind == "words") {
    const auto& words = nato_alphabet();
    for (int64_t i = 0; i < length; ++i) {
      if (i > 0) key += ' ';
      key += words[uniform_index(rng, words.size())];
    }
  } else if (kind == "digits") {
    key += static_cast<char>('1' + uniform_index(rng, 9));
    for (int64_t i = 1; i < length; ++i) key += static_cast<char>('0' + uniform_index(rng, 10));
  } else {
    fail("passkey_kind: expected 'words' or 'digits', got '{}'", kind);
  }
  return key;
}

std::string fill_ordinal(std::string_view text, std::string_view ordinal) {
  return replace_all(text, kOrdinalSlot, ordinal);
}

int64_t TokenTemplate::size_with(int64_t key_tokens) const {
  int64_t n = slots() * key_tokens;
  for (const auto& p : pieces) n += static_cast<int64_t>(p.size());
  return n;
}

void TokenTemplate::append(std::vector<int32_t>& out, const std::vector<int32_t>& key) const {
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (i > 0) out.insert(out.end(), key.begin(), key.end());
    out.insert(out.end(), pieces[i].begin(), pieces[i].end());
  }
}

TokenTemplate tokenize_template(const tokenizer::Tokenizer& tok, std::string_view text) {
  TokenTemplate t;
  size_t pos = 0;
  while (true) {
    size_t hit = text.find(kPasskeySlot, pos);
    std::string_view piece = text.substr(pos, hit == std::string_view::npos ? std::string_view::npos : hit - pos);
    t.pieces.push_back(piece.empty() ? std::vector<int32_t>{} : tok.encode(piece, /*add_special_tokens=*/false));
    if (hit == std::string_view::npos) break;
    pos = hit + kPasskeySlot.size();
  }
  if (t.pieces.size() == 1) t.pieces.emplace_back();  // no slot: the key follows the text
  return t;
}

std::string render_template(std::string_view text, std::string_view key) {
  if (text.find(kPasskeySlot) == std::string_view::npos) return std::string(text) + std::string(key);
  return replace_all(text, kPasskeySlot, key);
}

}  // namespace duo::data_gen
