// Test helper: the lines of a text (CSV files, tables), without their newlines.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace duo::testing {

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace duo::testing
