// Pre-tokenizers (see pre_tokenizers.h). Semantics follow huggingface/tokenizers
// pre_tokenizers/{byte_level,split,metaspace,sequence}.rs.
#include "tokenizer/pre_tokenizers.h"

#include "tokenizer/unicode.h"

#include <algorithm>
#include "core/printable.h"

namespace duo::tokenizer {
namespace {

// The GPT-2 split pattern ByteLevel uses when use_regex is true.
constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex, const std::string& where)
      : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_ = std::make_unique<Regex>(kGpt2Pattern, where);
  }
  void pre_tokenize(std::vector<std::string>& pieces, bool) const override {
    std::vector<std::string> out;
    out.reserve(pieces.size());
    std::vector<std::pair<size_t, size_t>> m;
    for (std::string& p : pieces) {
      if (add_prefix_space_ && (p.empty() || p[0] != ' ')) p.insert(p.begin(), ' ');
      if (regex_) {
        m.clear();
        regex_->find_all(p, m);
        split_by_matches(p, m, SplitBehavior::kIsolated, false, out);
      } else if (!p.empty()) {
        out.push_back(std::move(p));
      }
    }
    for (std::string& p : out) p = map_bytes(p);
    pieces.swap(out);
  }

 private:
  static std::string map_bytes(const std::string& s) {
    std::string r;
    r.reserve(s.size() + s.size() / 2);
    for (unsigned char c : s) r += byte_to_utf8(c);
    return r;
  }
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(Pattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(std::vector<std::string>& pieces, bool) const override {
    std::vector<std::string> out;
    out.reserve(pieces.size() * 4);
    std::vector<std::pair<size_t, size_t>> m;
    for (const std::string& p : pieces) {
      m.clear();
      pattern_.regex->find_all(p, m);
      split_by_matches(p, m, behavior_, invert_, out);
    }
    pieces.swap(out);
  }

 private:
  Pattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
  void pre_tokenize(std::vector<std::string>& pieces, bool first_at_start) const override {
    std::vector<std::string> out;
    for (size_t i = 0; i < pieces.size(); ++i) {
      std::string s;
      for (char c : pieces[i]) {
        if (c == ' ')
          s += replacement_;
        else
          s += c;
      }
      bool starts = s.compare(0, replacement_.size(), replacement_) == 0;
      bool at_start = first_at_start && i == 0;
      if (!starts && (scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && at_start)))
        s = replacement_ + s;
      if (!split_) {
        if (!s.empty()) out.push_back(std::move(s));
        continue;
      }
      std::vector<std::pair<size_t, size_t>> m;
      for (size_t at = s.find(replacement_); at != std::string::npos; at = s.find(replacement_, at + replacement_.size()))
        m.emplace_back(at, at + replacement_.size());
      split_by_matches(s, m, SplitBehavior::kMergedWithNext, false, out);
    }
    pieces.swap(out);
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void pre_tokenize(std::vector<std::string>& pieces, bool first_at_start) const override {
    for (const auto& p : parts_) p->pre_tokenize(pieces, first_at_start);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

SplitBehavior parse_behavior(const std::string& b, const std::string& where) {
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  fail("{}: behavior '{}' is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous",
       where, core::printable(b));
}

}  // namespace

void split_by_matches(const std::string& s, const std::vector<std::pair<size_t, size_t>>& matches,
                      SplitBehavior behavior, bool invert, std::vector<std::string>& out) {
  // (start, end, is_match) covering all of s, as Pattern::find_matches yields them.
  struct Span {
    size_t a, b;
    bool match;
  };
  std::vector<Span> spans;
  spans.reserve(matches.size() * 2 + 1);
  size_t prev = 0;
  for (auto [a, b] : matches) {
    if (a > prev) spans.push_back({prev, a, invert});
    spans.push_back({a, b, !invert});
    prev = b;
  }
  if (prev < s.size()) spans.push_back({prev, s.size(), invert});

  std::vector<std::pair<size_t, size_t>> parts;
  parts.reserve(spans.size());
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const Span& sp : spans)
        if (!sp.match) parts.emplace_back(sp.a, sp.b);
      break;
    case SplitBehavior::kIsolated:
      for (const Span& sp : spans) parts.emplace_back(sp.a, sp.b);
      break;
    case SplitBehavior::kMergedWithPrevious: {
      bool prev_match = false;
      for (const Span& sp : spans) {
        if (sp.match && !prev_match && !parts.empty())
          parts.back().second = sp.b;
        else
          parts.emplace_back(sp.a, sp.b);
        prev_match = sp.match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool prev_match = false;
      for (size_t k = spans.size(); k-- > 0;) {
        const Span& sp = spans[k];
        if (sp.match && !prev_match && !parts.empty())
          parts.back().first = sp.a;
        else
          parts.emplace_back(sp.a, sp.b);
        prev_match = sp.match;
      }
      std::reverse(parts.begin(), parts.end());
      break;
    }
    case SplitBehavior::kContiguous: {
      bool prev_match = false;
      for (size_t k = 0; k < spans.size(); ++k) {
        const Span& sp = spans[k];
        if (k > 0 && sp.match == prev_match)
          parts.back().second = sp.b;
        else
          parts.emplace_back(sp.a, sp.b);
        prev_match = sp.match;
      }
      break;
    }
  }
  for (auto [a, b] : parts)
    if (b > a) out.emplace_back(s, a, b - a);
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& j, const std::string& where) {
  std::string type = type_of(j, where);
  if (type == "Sequence") {
    const Json& list = require_field(j, "pretokenizers", where);
    DUO_CHECK(list.is_array(), "{}: 'pretokenizers' must be a list", where);
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (size_t i = 0; i < list.size(); ++i)
      parts.push_back(make_pre_tokenizer(list[i], where + ".pretokenizers[" + std::to_string(i) + "]"));
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPreTokenizer>(bool_or(j, "add_prefix_space", true, where),
                                                   bool_or(j, "use_regex", true, where), where);
  }
  if (type == "Split") {
    Pattern p = read_pattern(require_field(j, "pattern", where), where + ".pattern");
    return std::make_unique<SplitPreTokenizer>(std::move(p),
                                               parse_behavior(require_string(j, "behavior", where), where),
                                               bool_or(j, "invert", false, where));
  }
  if (type == "Metaspace") {
    std::string replacement = require_string(j, "replacement", where);
    DUO_CHECK(!replacement.empty(), "{}: empty replacement", where);
    PrependScheme scheme = PrependScheme::kAlways;
    if (auto s = optional_string(j, "prepend_scheme", where)) {
      if (*s == "always")
        scheme = PrependScheme::kAlways;
      else if (*s == "first")
        scheme = PrependScheme::kFirst;
      else if (*s == "never")
        scheme = PrependScheme::kNever;
      else
        fail("{}: prepend_scheme '{}' is not one of always, first, never", where, core::printable(*s));
    } else if (!bool_or(j, "add_prefix_space", true, where)) {
      scheme = PrependScheme::kNever;
    }
    return std::make_unique<MetaspacePreTokenizer>(replacement, scheme, bool_or(j, "split", true, where));
  }
  unsupported(where, "pre-tokenizer", type, "ByteLevel, Split, Metaspace, Sequence");
}

}  // namespace duo::tokenizer
