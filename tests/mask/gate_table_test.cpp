// The official full_attention_heads.tsv format: parsing, errors that name file/line/column, exact round trips.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "common/error_of.h"
#include "common/mask_fixtures.h"
#include "mask/gate_table.h"

namespace fs = std::filesystem;
using namespace duo::mask;
using duo::testing::error_of;
using duo::testing::table;
using duo::testing::temp_dir;

TEST(GateTsv, ParsesRowsAndColumns) {
  auto t = parse_gate_tsv("0.5\t1e-1\t-2.5e-05\n1\t0\t0.25\n", "x.tsv");
  EXPECT_EQ(t.n_layers, 2);
  EXPECT_EQ(t.n_kv_heads, 3);
  EXPECT_DOUBLE_EQ(t.at(0, 1), 0.1);
  EXPECT_DOUBLE_EQ(t.at(0, 2), -2.5e-05);
  EXPECT_DOUBLE_EQ(t.at(1, 2), 0.25);
  EXPECT_FALSE(t.is_binary());
  EXPECT_TRUE(parse_gate_tsv("1\t0\n0\t1", "m.tsv").is_binary());
}

TEST(GateTsv, BadInputNamesFileLineAndColumn) {
  EXPECT_EQ(error_of([] { parse_gate_tsv("1\t0\n1\n", "m.tsv"); }),
            "m.tsv: line 2 has 1 columns; expected 2 (as on line 1)");
  EXPECT_EQ(error_of([] { parse_gate_tsv("1\tabc\n", "m.tsv"); }),
            "m.tsv: line 1, column 2: expected a number; got 'abc'");
  EXPECT_EQ(error_of([] { parse_gate_tsv("1\tnan\n", "m.tsv"); }),
            "m.tsv: line 1, column 2: expected a finite number; got 'nan'");
  EXPECT_NE(error_of([] { parse_gate_tsv("", "m.tsv"); }).find("no rows"), std::string::npos);
  EXPECT_NE(error_of([] { parse_gate_tsv("1\t0\n\n1\t1\n", "m.tsv"); }).find("line 2 is empty"), std::string::npos);
}

TEST(GateTsv, GatesRoundTripExactly) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-0.01, 1.0);
  GateTable t = table(3, 5, {});
  for (int i = 0; i < 15; ++i) t.values.push_back(u(rng));
  auto back = parse_gate_tsv(format_gate_tsv(t), "rt");
  EXPECT_EQ(back.values, t.values);  // bitwise: %.18e is exact for doubles
}
