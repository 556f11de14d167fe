// Needle scores (see niah_score.h).
#include "eval/niah_score.h"

#include <cctype>
#include <set>

namespace duo::eval {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

}  // namespace

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && !is_space(text[j])) ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

double needle_word_score(const std::string& response, const std::string& answer) {
  const auto expected = split_words(lower(answer));
  if (expected.empty()) return 0.0;
  const auto got = split_words(lower(response));
  const std::set<std::string> got_set(got.begin(), got.end());
  const std::set<std::string> want_set(expected.begin(), expected.end());
  size_t hits = 0;
  for (const auto& w : want_set) hits += got_set.count(w);
  return static_cast<double>(hits) / static_cast<double>(expected.size());
}

double passkey_exact_score(const std::string& response, const std::string& key) {
  size_t i = 0;
  while (i < response.size() && is_space(response[i])) ++i;
  if (key.empty()) return 0.0;
  if (response.compare(i, key.size(), key) != 0) return 0.0;
  // "71432" must not be the start of a longer number or word ("714325").
  const size_t end = i + key.size();
  return end == response.size() || !std::isalnum(static_cast<unsigned char>(response[end])) ? 1.0 : 0.0;
}

}  // namespace duo::eval
