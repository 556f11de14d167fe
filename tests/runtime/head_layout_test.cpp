// HeadLayout: a binary mask and a plan of per-layer LayerSpecs describe the same heads and window.
#include <gtest/gtest.h>

#include "common/error_of.h"
#include "common/runtime_fixtures.h"
#include "runtime/head_layout.h"

namespace duo::runtime {
namespace {

TEST(HeadLayout, MaskPlanRoundTripKeepsHeadsAndWindow) {
  const auto mask = testing::mixed_mask(3, 4);
  const HeadLayout lay = HeadLayout::from_mask(mask, StreamWindow(5, 7));
  EXPECT_EQ(lay.total_full(), 3);
  EXPECT_EQ(lay.total_stream(), 9);
  EXPECT_EQ(lay.full[1], std::vector<int64_t>({2}));
  const auto plan = lay.to_plan();
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].window, StreamWindow(5, 7));
  EXPECT_EQ(plan[0].kind(1), attention::HeadKind::kFull);
  EXPECT_EQ(plan[0].kind(0), attention::HeadKind::kStreaming);
  const HeadLayout back = HeadLayout::from_plan(plan, 3, 4);
  EXPECT_EQ(back.window, lay.window);
  EXPECT_EQ(back.full, lay.full);
  EXPECT_EQ(back.stream, lay.stream);
  EXPECT_EQ(back.to_mask().values, mask.values);
}

TEST(HeadLayout, RefusesTwoWindowsInOnePlan) {
  auto plan = HeadLayout::from_mask(testing::mixed_mask(2, 2), StreamWindow(5, 7)).to_plan();
  plan[1].window = StreamWindow(5, 8);
  const std::string err = testing::error_of([&] { HeadLayout::from_plan(plan, 2, 2); });
  EXPECT_NE(err.find("one streaming window for the whole model"), std::string::npos) << err;
}

}  // namespace
}  // namespace duo::runtime
