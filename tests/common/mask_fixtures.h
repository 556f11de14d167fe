// Shared helpers for the mask tests: a GateTable from values, a fresh temporary folder.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "mask/gate_table.h"

namespace duo::testing {

inline mask::GateTable table(int64_t layers, int64_t heads, std::vector<double> v) {
  mask::GateTable t;
  t.n_layers = layers;
  t.n_kv_heads = heads;
  t.values = std::move(v);
  return t;
}

// A fresh, empty folder under the system temp dir.
inline std::filesystem::path temp_dir(const std::string& name) {
  std::filesystem::path d = std::filesystem::temp_directory_path() / ("duo_mask_test_" + name);
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace duo::testing
