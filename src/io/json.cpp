// JSON files (see json.h).
#include "io/json.h"

#include <algorithm>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/printable.h"

namespace duo::io {

std::string without_parse_error_prefix(const std::string& what) {
  const size_t colon = what.find(": ");
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

std::string without_exception_prefix(const std::string& what) {
  const size_t close = what.find("] ");
  return what.rfind("[json.exception.", 0) == 0 && close != std::string::npos ? what.substr(close + 2) : what;
}

nlohmann::json parse_json(const std::string& text, const std::string& source) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based: the position just past the offending character.
    const size_t at = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    const size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + at, '\n'));
    const size_t line_start = text.rfind('\n', at == 0 ? 0 : at - 1);
    const size_t column = (line_start == std::string::npos || line == 1) ? at + 1 : at - line_start;
    // Without nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 2: " prefix.
    const std::string reason = without_parse_error_prefix(e.what());
    fail("{}: invalid JSON at line {}, column {}: {}", source, line, column, core::printable(reason));
  } catch (const nlohmann::json::exception& e) {  // e.g. out_of_range.406: a number too large for a double
    fail("{}: invalid JSON: {}", source, core::printable(without_exception_prefix(e.what())));
  }
}

nlohmann::json read_json(const std::filesystem::path& path) {
  return parse_json(core::read_file(path), path.string());
}

void write_json(const std::filesystem::path& path, const nlohmann::json& value) {
  core::write_file_atomic(path, value.dump(2) + "\n");
}

}  // namespace duo::io
