// Dataset::open validates the whole file at load: empty samples, samples without labels, bad ids
// and an empty dataset are refused with a message naming the sample, not when a sample is drawn.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/error_of.h"
#include "data_gen/dataset_file.h"
#include "io/hdf5.h"

namespace fs = std::filesystem;
using duo::data_gen::Dataset;
using duo::testing::error_of;

namespace {

fs::path write_dataset(const std::string& name, const std::vector<int32_t>& ids, const std::vector<uint8_t>& mask,
                       const std::vector<int64_t>& offsets) {
  const fs::path dir = fs::temp_directory_path() / ("duo_dsval_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path path = dir / (name + ".h5");
  duo::io::H5Writer w(path);
  w.write("input_ids", ids);
  w.write("label_mask", mask);
  w.write("offsets", offsets);
  w.write_strings("answers", std::vector<std::string>(offsets.empty() ? 0 : offsets.size() - 1, "12345"));
  w.commit();
  return path;
}

}  // namespace

TEST(DatasetValidation, GoodFileOpens) {
  auto d = Dataset::open(write_dataset("good", {5, 6, 7, 8}, {0, 1, 0, 1}, {0, 2, 4}));
  EXPECT_EQ(d.size(), 2);
  EXPECT_NO_THROW(d.check_token_ids(9));
}

TEST(DatasetValidation, EmptyDatasetSaysSo) {
  auto e = error_of([&] { Dataset::open(write_dataset("empty", {}, {}, {0})); });
  EXPECT_NE(e.find("holds no samples"), std::string::npos) << e;
  e = error_of([&] { Dataset::open(write_dataset("empty2", {}, {}, {})); });
  EXPECT_NE(e.find("holds no samples"), std::string::npos) << e;
}

TEST(DatasetValidation, EmptySampleRefusedAtOpen) {
  auto e = error_of([&] { Dataset::open(write_dataset("hole", {5, 6, 7}, {1, 0, 1}, {0, 2, 2, 3})); });
  EXPECT_NE(e.find("sample 1 is empty"), std::string::npos) << e;
}

TEST(DatasetValidation, SampleWithoutLabelsRefusedAtOpen) {
  auto e = error_of([&] { Dataset::open(write_dataset("nolabel", {5, 6, 7, 8}, {0, 1, 0, 0}, {0, 2, 4})); });
  EXPECT_NE(e.find("sample 1 has no label tokens"), std::string::npos) << e;
}

TEST(DatasetValidation, BadIdsAndFlagsRefused) {
  auto e = error_of([&] { Dataset::open(write_dataset("neg", {5, -1}, {1, 1}, {0, 2})); });
  EXPECT_NE(e.find("sample 0 token 1 has id -1"), std::string::npos) << e;
  e = error_of([&] { Dataset::open(write_dataset("flag", {5, 6}, {1, 7}, {0, 2})); });
  EXPECT_NE(e.find("label flag 7"), std::string::npos) << e;
  auto d = Dataset::open(write_dataset("vocab", {5, 6, 7, 300}, {1, 1, 1, 1}, {0, 2, 4}));
  e = error_of([&] { d.check_token_ids(256); });
  EXPECT_NE(e.find("sample 1 token 1 has id 300; expected an id in [0, 256)"), std::string::npos) << e;
}

// The optional per-needle arrays must be [samples, num_passkeys] (checked by Dataset::from_arrays,
// on the items as read; the HDF5 file adds nothing to this check).
TEST(DatasetValidation, PerNeedleArraysMustBeSamplesByPasskeys) {
  duo::data_gen::DatasetArrays a;
  a.input_ids = {5, 6, 7, 8};
  a.label_mask = {0, 1, 0, 1};
  a.offsets = {0, 2, 4};
  a.answers = {"1", "2"};
  a.num_passkeys = 2;
  a.needle_starts = {0, 1, 0, 1};
  a.depths = {0.1, 0.5, 0.2, 0.6};
  EXPECT_EQ(Dataset::from_arrays("x.h5", a).needle_starts().size(), 4u);
  auto bad = a;
  bad.needle_starts.pop_back();
  auto e = error_of([&] { Dataset::from_arrays("x.h5", bad); });
  EXPECT_NE(e.find("x.h5: 'needle_starts' has 3 entries; expected 2 samples x num_passkeys (2) entries"),
            std::string::npos) << e;
  bad = a;
  bad.num_passkeys = 0;  // arrays present without the attribute
  e = error_of([&] { Dataset::from_arrays("x.h5", bad); });
  EXPECT_NE(e.find("'needle_starts' has 4 entries"), std::string::npos) << e;
  bad = a;
  bad.num_passkeys = -3;
  e = error_of([&] { Dataset::from_arrays("x.h5", bad); });
  EXPECT_NE(e.find("attribute 'num_passkeys' is -3"), std::string::npos) << e;
}
