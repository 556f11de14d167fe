// Masks: TSV parsing and errors, binarization (sparsity 0, 1, ties, interpolated quantile),
// KV-cache bytes against hand-computed values, official patterns round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "core/atomic_file.h"
#include "core/error.h"
#include "mask/binarize.h"
#include "mask/gate_table.h"
#include "mask/kv_budget.h"
#include "mask/mask_dir.h"
#include "common/error_of.h"

namespace fs = std::filesystem;
using namespace duo::mask;

namespace {

GateTable table(int64_t layers, int64_t heads, std::vector<double> v) {
  GateTable t;
  t.n_layers = layers;
  t.n_kv_heads = heads;
  t.values = std::move(v);
  return t;
}

using duo::testing::error_of;

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("duo_mask_test_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

}  // namespace

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
  EXPECT_EQ(binarize_by_sparsity(g, -0.5).mask.values, (std::vector<double>{1, 1, 1, 1}));
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

TEST(KvBudget, FormulaByHand) {
  // 2 layers x 2 heads; layer 0: one full, one streaming; layer 1: both streaming.
  auto m = table(2, 2, {1, 0, 0, 0});
  // T = 1000, sink 64, recent 256: (1000 + 3 * 320) * 2 * 128 * 2 bytes
  EXPECT_EQ(kv_cache_bytes(m, 1000, 64, 256, 128, 2), (1000 + 3 * 320) * 2 * 128 * 2);
  // T shorter than the window: streaming heads keep T tokens
  EXPECT_EQ(kv_cache_bytes(m, 100, 64, 256, 128, 2), 4 * 100 * 2 * 128 * 2);
  EXPECT_EQ(kv_cache_bytes_full(2, 2, 1000, 128, 2), 4 * 1000 * 2 * 128 * 2);
  EXPECT_DOUBLE_EQ(kv_cache_ratio(m, 1000, 64, 256), (1000.0 + 960.0) / 4000.0);
}

TEST(MaskDir, OfficialPatternsRoundTrip) {
  fs::path root = fs::path(DUO_SHARED_DIR) / "reference" / "duo-attention-patterns";
  ASSERT_TRUE(fs::exists(root)) << root;
  int seen = 0;
  for (auto& entry : fs::directory_iterator(root)) {
    ++seen;
    auto src = load_gates(entry.path());
    ASSERT_TRUE(src.config.is_object()) << entry.path();
    EXPECT_EQ(src.gates.n_layers, 32);
    EXPECT_EQ(src.config["sink_size"].get<int64_t>(), 128);
    fs::path dir = temp_dir("rt_" + entry.path().filename().string());
    // raw gates round trip bit-exactly
    write_gate_tsv(dir / "gates.tsv", src.gates);
    EXPECT_EQ(read_gate_tsv(dir / "gates.tsv").values, src.gates.values);
    // export at 50%, load the mask folder back, re-export it by threshold: same mask
    auto b = binarize_by_sparsity(clip01(src.gates), 0.5);
    ExportInfo info;
    info.source = entry.path().string();
    export_mask(dir / "mask", b, info);
    auto m = load_mask_dir(dir / "mask");
    EXPECT_EQ(m.mask.values, b.mask.values);
    EXPECT_EQ(m.sink, 64);
    EXPECT_EQ(m.recent, 256);
    EXPECT_NEAR(m.config["actual_sparsity"].get<double>(), 0.5, 1.0 / src.gates.size());
    auto again = binarize_by_threshold(load_gates(dir / "mask").gates, 0.5);
    EXPECT_EQ(again.mask.values, b.mask.values);
    fs::remove_all(dir);
  }
  EXPECT_EQ(seen, 6);
}

TEST(MaskDir, RawGatesAreNotAMaskAndShapesAreChecked) {
  fs::path dir = temp_dir("raw");
  write_gate_tsv(dir / kHeadsFile, table(1, 2, {0.25, 0.75}));
  duo::core::write_file_atomic(dir / kConfigFile, R"({"sink_size": 64, "recent_size": 256})");
  EXPECT_NE(error_of([&] { load_mask_dir(dir); }).find("expected a binary mask"), std::string::npos);
  EXPECT_EQ(error_of([&] { check_shape(table(1, 2, {0, 1}), 32, 8, "m.tsv"); }),
            "m.tsv: mask has shape [1, 2] (layers, kv heads) but the model has [32, 8]");
  fs::remove_all(dir);
}
