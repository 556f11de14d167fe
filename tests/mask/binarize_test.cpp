// Gates -> binary masks: the quantile rule (numpy linear), sparsity edges, ties.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "common/error_of.h"
#include "common/mask_fixtures.h"
#include "mask/binarize.h"
#include "mask/gate_table.h"

namespace fs = std::filesystem;
using namespace duo::mask;
using duo::testing::error_of;
using duo::testing::table;
using duo::testing::temp_dir;

TEST(Binarize, QuantileMatchesNumpyLinear) {
  // numpy.quantile([0.1, 0.4, 0.2, 0.9, 0.5], 0.3) = 0.2 + 0.2 * (0.4 - 0.2) = 0.24
  EXPECT_NEAR(linear_quantile({0.1, 0.4, 0.2, 0.9, 0.5}, 0.3), 0.24, 1e-15);
  EXPECT_DOUBLE_EQ(linear_quantile({0.1, 0.4, 0.2, 0.9, 0.5}, 0.5), 0.4);
  EXPECT_DOUBLE_EQ(linear_quantile({3.0}, 0.7), 3.0);
}

TEST(Binarize, SparsityBetweenTwoGates) {
  auto g = table(1, 5, {0.1, 0.4, 0.2, 0.9, 0.5});
  auto b = binarize_by_sparsity(g, 0.3);  // tau = 0.24: 0.1 and 0.2 stream
  EXPECT_NEAR(b.threshold, 0.24, 1e-15);
  EXPECT_EQ(b.mask.values, (std::vector<double>{0, 1, 0, 1, 1}));
  EXPECT_DOUBLE_EQ(b.actual_sparsity, 0.4);
  auto half = binarize_by_sparsity(g, 0.5);  // tau = 0.4 exactly: 0.4 stays full (alpha >= tau)
  EXPECT_EQ(half.mask.values, (std::vector<double>{0, 1, 0, 1, 1}));
}

TEST(Binarize, SparsityZeroAndOne) {
  auto g = table(2, 2, {0.3, 0.3, 0.8, 0.0});
  EXPECT_EQ(binarize_by_sparsity(g, 0.0).mask.values, (std::vector<double>{1, 1, 1, 1}));
  EXPECT_EQ(binarize_by_sparsity(g, 1.0).mask.values, (std::vector<double>{0, 0, 0, 0}));
  EXPECT_DOUBLE_EQ(binarize_by_sparsity(g, 1.0).actual_sparsity, 1.0);
}

TEST(Binarize, TiesBrokenByFlatIndex) {
  auto g = table(2, 4, std::vector<double>(8, 0.5));
  auto b = binarize_by_sparsity(g, 0.5);  // ceil(0.5 * 7) = 4 streaming: the first four
  EXPECT_EQ(b.mask.values, (std::vector<double>{0, 0, 0, 0, 1, 1, 1, 1}));
  // ceil(0.5 * 3) = 2 streaming: the 0.2, then the first of the tied 0.5s (the cut falls in the tie)
  auto g2 = table(1, 4, {0.5, 0.2, 0.5, 0.5});
  EXPECT_EQ(binarize_by_sparsity(g2, 0.5).mask.values, (std::vector<double>{0, 0, 1, 1}));
}

TEST(Binarize, CountMatchesQuantileRuleOnDistinctValues) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (int n : {2, 7, 32, 256}) {
    GateTable g = table(1, n, {});
    for (int i = 0; i < n; ++i) g.values.push_back(u(rng));
    for (double s : {0.05, 0.25, 0.5, 0.75, 0.9, 0.99}) {
      auto b = binarize_by_sparsity(g, s);
      auto by_tau = binarize_by_threshold(g, b.threshold);  // the plain quantile rule
      EXPECT_EQ(b.mask.values, by_tau.mask.values) << "n " << n << " s " << s;
    }
  }
}
