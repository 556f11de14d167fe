// Small helpers to read tokenizer.json fields with errors that name the file, the component
// and what was expected: "tokenizer.json: model.merges[3]: expected "a b" or ["a", "b"], got 7".
#pragma once

#include "core/error.h"
#include "tokenizer/regex.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>

namespace duo::tokenizer {

using Json = nlohmann::json;

// j[key], which must exist and not be null.
const Json& require_field(const Json& j, const char* key, const std::string& where);
std::string require_string(const Json& j, const char* key, const std::string& where);
// j[key] as bool / string when present and not null, else `fallback`.
bool bool_or(const Json& j, const char* key, bool fallback, const std::string& where);
std::optional<std::string> optional_string(const Json& j, const char* key, const std::string& where);
// j["type"].
std::string type_of(const Json& j, const std::string& where);
// Throws: "<where>: <kind> type '<type>' is not supported (supported: <supported>)".
[[noreturn]] void unsupported(const std::string& where, const char* kind, const std::string& type,
                              const char* supported);

// A tokenizer.json pattern: {"String": "..."} or {"Regex": "..."}.
struct Pattern {
  std::optional<std::string> literal;  // set for {"String": ...}
  std::shared_ptr<const Regex> regex;  // set for either kind
};
Pattern read_pattern(const Json& j, const std::string& where);
// `s` with every match of `p` replaced by `content`.
std::string replace_all(const Pattern& p, std::string_view s, std::string_view content);

}  // namespace duo::tokenizer
