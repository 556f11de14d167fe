// JSON files: read with errors that name the file and the parse position, write atomically.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace duo::io {

// Parses a whole JSON file; throws "<file>: invalid JSON at line L, column C: <reason>" or
// "<file>: cannot open: ...".
nlohmann::json read_json(const std::filesystem::path& path);
// Parses JSON text; `source` names it in errors (same messages as read_json).
nlohmann::json parse_json(const std::string& text, const std::string& source);
// Writes `value` with a 2-space indent and a trailing newline, atomically (temp file + rename).
void write_json(const std::filesystem::path& path, const nlohmann::json& value);

}  // namespace duo::io
