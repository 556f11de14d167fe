// Random head masks (mask/random_mask.h): the number of streaming heads, determinism by seed.
#include <gtest/gtest.h>

#include "core/error.h"
#include "mask/random_mask.h"

namespace duo::mask {
namespace {

TEST(RandomMask, StreamsRoundedShareOfHeadsBySeed) {
  auto m = random_mask(4, 3, 0.75, 1);
  EXPECT_EQ(m.n_layers, 4);
  EXPECT_EQ(m.n_kv_heads, 3);
  EXPECT_TRUE(m.is_binary());
  int64_t full = 0;
  for (double v : m.values) full += v != 0.0;
  EXPECT_EQ(full, 3);  // round(0.25 * 12)
  EXPECT_EQ(random_mask(4, 3, 0.75, 1).values, m.values);
  EXPECT_NE(random_mask(4, 3, 0.75, 2).values, m.values);
  for (double v : random_mask(2, 2, 0.0, 5).values) EXPECT_EQ(v, 1.0);
  for (double v : random_mask(2, 2, 1.0, 5).values) EXPECT_EQ(v, 0.0);
  EXPECT_THROW(random_mask(2, 2, 1.5, 0), Error);
}

}  // namespace
}  // namespace duo::mask
