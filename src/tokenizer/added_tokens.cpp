// Added-token matching (see added_tokens.h).
#include "tokenizer/added_tokens.h"

#include "tokenizer/normalizers.h"
#include "tokenizer/unicode.h"

#include <algorithm>

namespace duo::tokenizer {
namespace {

// A word character for single_word: a letter, a number or '_'.
bool is_word_char(uint32_t cp) {
  return cp == '_' || in_class(CharClass::kLetter, cp) || in_class(CharClass::kNumber, cp);
}

uint32_t last_code_point(std::string_view s, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return next_code_point(s, start);
}

}  // namespace

void AddedVocabulary::Matcher::add(const std::string& s, int32_t token) {
  int32_t node = 0;
  for (unsigned char c : s) {
    auto& next = nodes[node].next;
    auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(c, int32_t{-1}));
    if (it != next.end() && it->first == c) {
      node = it->second;
    } else {
      int32_t fresh = static_cast<int32_t>(nodes.size());
      next.insert(it, {c, fresh});
      nodes.emplace_back();
      node = fresh;
    }
  }
  if (nodes[node].token < 0) nodes[node].token = token;  // first definition wins on duplicates
  first_byte[static_cast<unsigned char>(s[0])] = true;
  tokens.push_back(token);
}

std::pair<int32_t, size_t> AddedVocabulary::Matcher::longest_at(std::string_view text, size_t i) const {
  std::pair<int32_t, size_t> best{-1, 0};
  int32_t node = 0;
  for (size_t j = i; j < text.size(); ++j) {
    const auto& next = nodes[node].next;
    unsigned char c = static_cast<unsigned char>(text[j]);
    auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(c, int32_t{-1}));
    if (it == next.end() || it->first != c) break;
    node = it->second;
    if (nodes[node].token >= 0) best = {nodes[node].token, j + 1 - i};
  }
  return best;
}

void AddedVocabulary::load(const Json& list, const std::string& where, const Normalizer* normalizer) {
  DUO_CHECK(list.is_array(), "{}: expected a list, got {}", where, list.type_name());
  for (size_t i = 0; i < list.size(); ++i) {
    std::string w = where + "[" + std::to_string(i) + "]";
    const Json& j = list[i];
    AddedToken t;
    const Json& id = require_field(j, "id", w);
    DUO_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < (int64_t{1} << 31),
              "{}: 'id' must be a non-negative integer, got {}", w, id.dump());
    t.id = static_cast<int32_t>(id.get<int64_t>());
    t.content = require_string(j, "content", w);
    DUO_CHECK(!t.content.empty(), "{}: empty content", w);
    t.single_word = bool_or(j, "single_word", false, w);
    t.lstrip = bool_or(j, "lstrip", false, w);
    t.rstrip = bool_or(j, "rstrip", false, w);
    t.normalized = bool_or(j, "normalized", false, w);
    t.special = bool_or(j, "special", false, w);
    size_t index = tokens_.size();
    std::string match = t.content;
    if (t.normalized && normalizer != nullptr) match = normalizer->normalize(match);
    by_id_[t.id] = index;
    by_content_.emplace(t.content, index);
    tokens_.push_back(t);
    match_text_.push_back(match);
    if (match.empty()) continue;
    (t.normalized ? normalized_ : raw_).add(match, static_cast<int32_t>(index));
  }
}

void AddedVocabulary::split(const Matcher& m, std::string_view text, std::vector<Segment>& out) const {
  if (m.tokens.empty()) {
    if (!text.empty()) out.push_back({std::string(text), -1});
    return;
  }
  struct Match {
    size_t start, end;
    int32_t token;
  };
  std::vector<Match> matches;
  for (size_t i = 0; i < text.size();) {
    if (!m.first_byte[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    auto [token, len] = m.longest_at(text, i);
    if (token < 0) {
      ++i;
      continue;
    }
    const AddedToken& t = tokens_[token];
    if (t.single_word) {
      bool before_ok = i == 0 || !is_word_char(last_code_point(text, i));
      size_t after = i + len;
      bool after_ok = after == text.size() || !is_word_char(next_code_point(text, after));
      if (!before_ok || !after_ok) {
        i += len;  // the match is consumed but discarded, as aho-corasick's iterator does
        continue;
      }
    }
    matches.push_back({i, i + len, token});
    i += len;
  }
  // Segments, then lstrip / rstrip on the text beside each token.
  size_t first = out.size();
  size_t prev = 0;
  for (const Match& mt : matches) {
    if (mt.start > prev) out.push_back({std::string(text.substr(prev, mt.start - prev)), -1});
    out.push_back({tokens_[mt.token].content, tokens_[mt.token].id});
    prev = mt.end;
  }
  if (prev < text.size()) out.push_back({std::string(text.substr(prev)), -1});
  for (size_t k = first; k < out.size(); ++k) {
    if (out[k].id < 0) continue;
    const AddedToken& t = tokens_[by_id_.at(out[k].id)];
    if (t.lstrip && k > first && out[k - 1].id < 0) out[k - 1].text = std::string(trim_end_js(out[k - 1].text));
    if (t.rstrip && k + 1 < out.size() && out[k + 1].id < 0)
      out[k + 1].text = std::string(trim_start_js(out[k + 1].text));
  }
}

std::vector<Segment> AddedVocabulary::split_raw(std::string_view text) const {
  std::vector<Segment> out;
  split(raw_, text, out);
  return out;
}

void AddedVocabulary::split_normalized(std::string_view text, std::vector<Segment>& out) const {
  split(normalized_, text, out);
}

const AddedToken* AddedVocabulary::by_id(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::by_content(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

}  // namespace duo::tokenizer
