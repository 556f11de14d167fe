// The --model and --mask specs (cli/model_spec.h): random:S[:seed] masks with the caller's
// deploy window, full, mask folders with their own window, and the errors.
#include <gtest/gtest.h>

#include "cli/model_spec.h"
#include "common/tiny_checkpoint.h"
#include "core/error.h"
#include "mask/binarize.h"
#include "mask/mask_dir.h"
#include "mask/random_mask.h"

namespace duo::cli {
namespace {

TEST(MaskSpec, RandomFullAndFolders) {
  auto spec = load_mask_spec("random:0.5:3", 4, 3, StreamWindow{8, 16});
  EXPECT_EQ(spec.layout.total_stream(), 6);
  EXPECT_EQ(spec.layout.window, (StreamWindow{8, 16}));
  EXPECT_EQ(spec.layout.to_mask().values, mask::random_mask(4, 3, 0.5, 3).values);
  EXPECT_EQ(load_mask_spec("random:0.5", 4, 3).layout.window, kDeployWindow);
  EXPECT_EQ(load_mask_spec("", 4, 3).layout.total_full(), 12);
  EXPECT_EQ(load_mask_spec("full", 4, 3).description, "full");
  EXPECT_THROW(load_mask_spec("random:abc", 4, 3), duo::Error);
  EXPECT_THROW(load_mask_spec("random:0.5x", 4, 3), duo::Error);
  // A mask folder keeps its own window, whatever the caller's.
  auto dir = testing::temp_dir("cli_mask_spec");
  mask::ExportInfo info;
  info.window = StreamWindow{2, 7};
  mask::export_mask(dir, mask::binarize_by_sparsity(mask::random_mask(2, 2, 0.0, 0), 0.5), info);
  auto folder = load_mask_spec(dir.string(), 2, 2, StreamWindow{8, 16});
  EXPECT_EQ(folder.layout.total_stream(), 2);
  EXPECT_EQ(folder.layout.window, (StreamWindow{2, 7}));
  EXPECT_NE(folder.description.find("sink 2, recent 7"), std::string::npos) << folder.description;
  // A mask folder of another shape is refused with both shapes.
  try {
    load_mask_spec(dir.string(), 4, 3);
    FAIL() << "expected a shape error";
  } catch (const duo::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("[2, 2]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[4, 3]"), std::string::npos) << msg;
  }
}

TEST(ModelSpec, FolderPresetAndErrors) {
  auto dir = testing::temp_dir("cli_model_spec");
  testing::write_tiny_checkpoint(dir, testing::tiny_config("llama"), /*seed=*/1);
  auto folder = load_model_spec(dir.string(), at::kFloat);
  EXPECT_FALSE(folder.random);
  EXPECT_EQ(folder.dir, dir);
  auto preset = load_model_spec(std::string(DUO_SOURCE_DIR) + "/configs/models/tiny-llama.yaml", at::kFloat);
  EXPECT_TRUE(preset.random);
  EXPECT_TRUE(preset.dir.empty());
  EXPECT_NE(preset.description.find("random weights"), std::string::npos) << preset.description;
  EXPECT_THROW(load_model_spec("", at::kFloat), duo::Error);
  EXPECT_THROW(load_model_spec((dir / "missing").string(), at::kFloat), duo::Error);
}

}  // namespace
}  // namespace duo::cli
