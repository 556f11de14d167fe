// Added tokens (tokenizer.json "added_tokens"): matched in the text before the normalizer and
// the model run, leftmost first and longest at a position, as huggingface/tokenizers'
// added_vocabulary.rs and the JavaScript reference do. lstrip / rstrip remove the whitespace
// beside a match; single_word rejects matches inside a word; tokens with normalized = true are
// matched in the normalized text (the others in the raw text); special marks the tokens that
// decode(skip_special_tokens = true) drops.
#pragma once

#include "tokenizer/json_fields.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace duo::tokenizer {

class Normalizer;

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

// A stretch of text: plain text when id < 0, else one added token.
struct Segment {
  std::string text;
  int32_t id = -1;
};

class AddedVocabulary {
 public:
  // Reads the "added_tokens" list. `normalizer` (may be null) normalizes the content of tokens
  // marked normalized, so they match in normalized text.
  void load(const Json& list, const std::string& where, const Normalizer* normalizer);

  // Splits `text` at the tokens matched in raw text (normalized = false).
  std::vector<Segment> split_raw(std::string_view text) const;
  // Splits already-normalized `text` at the tokens marked normalized; appends to `out`.
  void split_normalized(std::string_view text, std::vector<Segment>& out) const;
  bool has_normalized_tokens() const { return !normalized_.tokens.empty(); }

  const AddedToken* by_id(int32_t id) const;
  const AddedToken* by_content(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // A byte trie over the contents of one group of tokens.
  struct Matcher {
    struct Node {
      std::vector<std::pair<unsigned char, int32_t>> next;  // sorted by byte
      int32_t token = -1;                                   // index into tokens_
    };
    std::vector<Node> nodes{Node{}};
    std::vector<int32_t> tokens;  // indices into tokens_
    bool first_byte[256] = {};
    void add(const std::string& s, int32_t token);
    // Longest token starting at text[i]: (token index, length) or (-1, 0).
    std::pair<int32_t, size_t> longest_at(std::string_view text, size_t i) const;
  };
  void split(const Matcher& m, std::string_view text, std::vector<Segment>& out) const;

  std::vector<AddedToken> tokens_;
  std::vector<std::string> match_text_;  // per token: content, normalized when marked so
  std::unordered_map<int32_t, size_t> by_id_;
  std::unordered_map<std::string, size_t> by_content_;
  Matcher raw_, normalized_;
};

}  // namespace duo::tokenizer
