// A fresh, empty folder under the system temp dir for one test: <tmp>/duo_<prefix>_<name>_<pid>.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace duo::testing {

inline std::filesystem::path fresh_temp_dir(const std::string& prefix, const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("duo_" + prefix + "_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace duo::testing
