// Gate sources and mask folders: the official patterns round trip, raw gates refused, the
// deploy window validated where it is read.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "common/error_of.h"
#include "common/mask_fixtures.h"
#include "core/atomic_file.h"
#include "core/stream_window.h"
#include "mask/binarize.h"
#include "mask/gate_table.h"
#include "mask/mask_dir.h"

namespace fs = std::filesystem;
using namespace duo::mask;
using duo::testing::error_of;
using duo::testing::table;
using duo::testing::temp_dir;

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
    EXPECT_EQ(m.window, duo::kDeployWindow);
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

TEST(MaskDir, WindowIsValidatedWhereItIsRead) {
  fs::path dir = temp_dir("window");
  write_gate_tsv(dir / kHeadsFile, table(1, 2, {0, 1}));
  duo::core::write_file_atomic(dir / kConfigFile, R"({"sink_size": 64, "recent_size": 0})");
  const std::string err = error_of([&] { load_mask_dir(dir); });
  EXPECT_NE(err.find("config.json (sink_size, recent_size): the streaming window needs sink >= 0 and recent >= 1; got "
                     "sink 64, recent 0"),
            std::string::npos)
      << err;
  fs::remove_all(dir);
}
