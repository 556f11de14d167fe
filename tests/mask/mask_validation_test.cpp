// Values outside their domain and mask folders whose config.json contradicts the TSV are refused.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "common/error_of.h"
#include "common/mask_fixtures.h"
#include "core/atomic_file.h"
#include "mask/binarize.h"
#include "mask/mask_dir.h"

namespace fs = std::filesystem;
using namespace duo::mask;
using duo::testing::error_of;
using duo::testing::table;
using duo::testing::temp_dir;

TEST(MaskValidation, SparsityOutsideUnitIntervalRefused) {
  auto g = table(1, 4, {0.1, 0.2, 0.3, 0.4});
  for (double s : {-0.1, 1.5, -1e-9}) {
    const auto e = error_of([&] { binarize_by_sparsity(g, s); });
    EXPECT_NE(e.find("sparsity must be a fraction of heads in [0, 1]"), std::string::npos) << s << ": " << e;
  }
  EXPECT_NO_THROW(binarize_by_sparsity(g, 0.0));
  EXPECT_NO_THROW(binarize_by_sparsity(g, 1.0));
}

TEST(MaskValidation, ConfigDisagreeingWithTsvRefused) {
  const fs::path dir = temp_dir("mask_val_cfg");
  ExportInfo info;
  export_mask(dir, binarize_by_sparsity(table(2, 2, {0.1, 0.9, 0.2, 0.8}), 0.5), info);
  EXPECT_NO_THROW(load_mask_dir(dir));
  const auto good = nlohmann::json::parse(duo::core::read_file(dir / "config.json"));
  struct Case {
    const char* key;
    nlohmann::json value;
    const char* expect;
  };
  for (const Case& c : {Case{"num_layers", 3, "key 'num_layers' is 3 but"},
                        Case{"num_kv_heads", 4, "key 'num_kv_heads' is 4 but"},
                        Case{"num_full_heads", 1, "key 'num_full_heads' is 1 but"},
                        Case{"actual_sparsity", 0.75, "key 'actual_sparsity' is 0.75 but"},
                        Case{"sparsity", 1.5, "key 'sparsity' expects a fraction in [0, 1]"}}) {
    auto cfg = good;
    cfg[c.key] = c.value;
    duo::core::write_file_atomic(dir / "config.json", cfg.dump(2));
    const auto e = error_of([&] { load_mask_dir(dir); });
    EXPECT_NE(e.find(c.expect), std::string::npos) << c.key << ": " << e;
  }
  auto cfg = good;  // keys an official folder lacks are not compared
  cfg.erase("num_full_heads");
  cfg.erase("actual_sparsity");
  duo::core::write_file_atomic(dir / "config.json", cfg.dump(2));
  EXPECT_NO_THROW(load_mask_dir(dir));
}
