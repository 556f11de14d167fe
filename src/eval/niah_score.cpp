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
  size_t i = 0, j = 0;
  auto skip = [](const std::string& t, size_t& k) {
    while (k < t.size() && is_space(t[k])) ++k;
  };
  skip(key, j);
  if (j == key.size()) return 0.0;
  while (true) {
    skip(response, i);
    skip(key, j);
    if (j == key.size()) break;
    if (i == response.size() || response[i] != key[j]) return 0.0;
    ++i;
    ++j;
  }
  // i is past the key and any whitespace after it; a longer number or word fails the match.
  const bool last_digit = std::isdigit(static_cast<unsigned char>(key[key.find_last_not_of(" \t\n\r\f\v")])) != 0;
  if (i == response.size()) return 1.0;
  const bool spaced = i > 0 && is_space(response[i - 1]);
  const auto next = static_cast<unsigned char>(response[i]);
  if (!spaced) return std::isalnum(next) ? 0.0 : 1.0;
  return last_digit && std::isdigit(next) ? 0.0 : 1.0;
}

}  // namespace duo::eval
