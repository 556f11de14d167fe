// JSON files: read with errors that name the file and the parse position, write atomically.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace duo::io {

// Parses a whole JSON file; throws "<file>: invalid JSON at line L, column C: <reason>" or
// "<file>: cannot open: ...".
nlohmann::json read_json(const std::filesystem::path& path);
// Parses JSON text; `source` names it in errors (same messages as read_json). Every nlohmann
// exception (a syntax error, a number too large for a double) becomes one duo::Error line.
nlohmann::json parse_json(const std::string& text, const std::string& source);

// nlohmann's exception text without its "[json.exception.parse_error.101] parse error at line 1,
// column 2: " prefix (everything up to the first ": ").
std::string without_parse_error_prefix(const std::string& what);
// ... without its "[json.exception.out_of_range.406] " tag only.
std::string without_exception_prefix(const std::string& what);
// Writes `value` with a 2-space indent and a trailing newline, atomically (temp file + rename).
void write_json(const std::filesystem::path& path, const nlohmann::json& value);

}  // namespace duo::io
