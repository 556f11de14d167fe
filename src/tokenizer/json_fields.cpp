// tokenizer.json field helpers (see json_fields.h).
#include "tokenizer/json_fields.h"

#include <vector>
#include "core/printable.h"

namespace duo::tokenizer {

const Json& require_field(const Json& j, const char* key, const std::string& where) {
  DUO_CHECK(j.is_object(), "{}: expected an object, got {}", where, core::printable(j.dump().substr(0, 80)));
  auto it = j.find(key);
  DUO_CHECK(it != j.end() && !it->is_null(), "{}: missing field '{}'", where, key);
  return *it;
}

std::string require_string(const Json& j, const char* key, const std::string& where) {
  const Json& v = require_field(j, key, where);
  DUO_CHECK(v.is_string(), "{}: field '{}' must be a string, got {}", where, key,
            core::printable(v.dump().substr(0, 80)));
  return v.get<std::string>();
}

bool bool_or(const Json& j, const char* key, bool fallback, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  DUO_CHECK(it->is_boolean(), "{}: field '{}' must be true or false, got {}", where, key, it->dump());
  return it->get<bool>();
}

std::optional<std::string> optional_string(const Json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  DUO_CHECK(it->is_string(), "{}: field '{}' must be a string, got {}", where, key,
            core::printable(it->dump().substr(0, 80)));
  return it->get<std::string>();
}

std::string type_of(const Json& j, const std::string& where) { return require_string(j, "type", where); }

void unsupported(const std::string& where, const char* kind, const std::string& type, const char* supported) {
  fail("{}: {} type '{}' is not supported (supported: {})", where, kind, type, supported);
}

Pattern read_pattern(const Json& j, const std::string& where) {
  DUO_CHECK(j.is_object() && j.size() == 1, "{}: expected {{\"String\": ...}} or {{\"Regex\": ...}}, got {}",
            where, core::printable(j.dump().substr(0, 80)));
  Pattern p;
  if (j.contains("String")) {
    p.literal = require_string(j, "String", where);
    DUO_CHECK(!p.literal->empty(), "{}: empty String pattern", where);
    p.regex = Regex::literal(*p.literal, where);
  } else if (j.contains("Regex")) {
    p.regex = std::make_shared<Regex>(require_string(j, "Regex", where), where);
  } else {
    fail("{}: expected {{\"String\": ...}} or {{\"Regex\": ...}}, got {}", where,
         core::printable(j.dump().substr(0, 80)));
  }
  return p;
}

std::string replace_all(const Pattern& p, std::string_view s, std::string_view content) {
  std::string out;
  out.reserve(s.size());
  if (p.literal) {
    const std::string& lit = *p.literal;
    size_t pos = 0;
    for (size_t at = s.find(lit); at != std::string_view::npos; at = s.find(lit, pos)) {
      out.append(s.data() + pos, at - pos);
      out.append(content);
      pos = at + lit.size();
    }
    out.append(s.data() + pos, s.size() - pos);
    return out;
  }
  std::vector<std::pair<size_t, size_t>> m;
  p.regex->find_all(s, m);
  size_t pos = 0;
  for (auto [a, b] : m) {
    out.append(s.data() + pos, a - pos);
    out.append(content);
    pos = b;
  }
  out.append(s.data() + pos, s.size() - pos);
  return out;
}

}  // namespace duo::tokenizer
