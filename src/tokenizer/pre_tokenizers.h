// tokenizer.json pre-tokenizers: ByteLevel (with or without its GPT-2 regex), Split (Regex or
// String pattern, every `behavior`, `invert`), Metaspace, Sequence. Anything else fails to load
// with a message naming it.
#pragma once

#include "tokenizer/json_fields.h"

#include <memory>
#include <string>
#include <vector>

namespace duo::tokenizer {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits each piece further, in place and in order. `first_at_start` says pieces[0] begins
  // the input text (Metaspace's prepend_scheme "first" needs it).
  virtual void pre_tokenize(std::vector<std::string>& pieces, bool first_at_start) const = 0;
};

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& j, const std::string& where);

// How Split keeps the delimiters it finds (SplitDelimiterBehavior in huggingface/tokenizers).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Splits `s` at the regex matches `matches` (byte ranges, ordered) as huggingface/tokenizers'
// NormalizedString::split does; empty pieces are dropped. Appends to `out`.
void split_by_matches(const std::string& s, const std::vector<std::pair<size_t, size_t>>& matches,
                      SplitBehavior behavior, bool invert, std::vector<std::string>& out);

}  // namespace duo::tokenizer
