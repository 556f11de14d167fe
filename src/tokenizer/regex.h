// PCRE2 (UTF + UCP, JIT) regular expressions for tokenizer.json patterns.
//
// Patterns are translated before compiling so that they match what the JavaScript reference
// (@lenml/tokenizers) matches: \p{L} and \p{N} are widened with the code points the
// reference's Unicode tables add over PCRE2's, \s / \S use the reference's whitespace set, and
// the case-insensitive contraction group of the Llama 3 / Qwen patterns is spelt out as the
// reference spells it ((?i:'s|...) would also match U+017F under Unicode case folding).
// A compiled Regex is immutable and safe to use from several threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace duo::tokenizer {

class Regex {
 public:
  // Compiles `pattern` (tokenizer.json syntax) after translate_pattern(); `where` names the
  // file and component for error messages.
  Regex(std::string_view pattern, const std::string& where);
  // A regex that matches `literal` exactly (tokenizer.json's {"String": ...} patterns).
  static std::unique_ptr<Regex> literal(std::string_view literal, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends the byte ranges [start, end) of the non-empty, non-overlapping matches in `text`,
  // left to right (after an empty match the search moves on by one code point).
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

 private:
  Regex() = default;
  void compile(const std::string& pcre_pattern, const std::string& where);
  void* code_ = nullptr;  // pcre2_code_8*
};

// The PCRE2 pattern for a tokenizer.json Regex pattern (see the file comment).
std::string translate_pattern(std::string_view pattern);
// `s` with every character escaped for use as a literal in a PCRE2 pattern.
std::string escape_literal(std::string_view s);

}  // namespace duo::tokenizer
