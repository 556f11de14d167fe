// KV-cache bytes of a mask against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "common/error_of.h"
#include "common/mask_fixtures.h"
#include "core/stream_window.h"
#include "mask/kv_budget.h"

namespace fs = std::filesystem;
using namespace duo::mask;
using duo::testing::error_of;
using duo::testing::table;
using duo::testing::temp_dir;

TEST(KvBudget, FormulaByHand) {
  // 2 layers x 2 heads; layer 0: one full, one streaming; layer 1: both streaming.
  auto m = table(2, 2, {1, 0, 0, 0});
  // T = 1000, sink 64, recent 256: (1000 + 3 * 320) * 2 * 128 * 2 bytes
  EXPECT_EQ(kv_cache_bytes(m, 1000, duo::StreamWindow(64, 256), 128, 2), (1000 + 3 * 320) * 2 * 128 * 2);
  // T shorter than the window: streaming heads keep T tokens
  EXPECT_EQ(kv_cache_bytes(m, 100, duo::StreamWindow(64, 256), 128, 2), 4 * 100 * 2 * 128 * 2);
  EXPECT_EQ(kv_cache_bytes_full(2, 2, 1000, 128, 2), 4 * 1000 * 2 * 128 * 2);
  EXPECT_DOUBLE_EQ(kv_cache_ratio(m, 1000, duo::StreamWindow(64, 256)), (1000.0 + 960.0) / 4000.0);
}
