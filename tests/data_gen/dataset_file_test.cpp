// The dataset file: written by the gen-data pipeline, read back with the plain HDF5 reader and
// with Dataset; identical arrays for the same seed whatever the thread count; failures leave no
// file behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"
#include "data_gen/dataset_file.h"
#include "data_gen/generate.h"
#include "io/hdf5.h"
#include "io/options.h"
#include "test_util.h"
#include "common/error_of.h"

namespace fs = std::filesystem;
using namespace duo::data_gen;

namespace {

GenOptions tiny_options() {
  GenOptions o;
  o.num_samples = 7;
  o.num_passkeys = 2;
  o.passkey_length = 4;
  o.context_min = 200;
  o.context_max = 900;
  o.context_intervals = 3;
  o.depth_intervals = 20;
  o.buffer_size = 40;
  return o;
}

DatasetMeta meta_for(GenOptions& o) {
  DatasetMeta m;
  m.config_yaml = duo::io::options_to_yaml(o);
  m.seed = o.seed;
  m.tokenizer_sha256 = duo::core::sha256_file_hex(duo::testing::llama3_tokenizer_path());
  m.tokenizer_path = duo::testing::llama3_tokenizer_path().string();
  return m;
}

using duo::testing::error_of;

}  // namespace

TEST(DatasetFile, LayoutReadBackWithPlainReader) {
  DUO_NEED_LLAMA3();
  auto dir = duo::testing::fresh_dir("file");
  GenOptions o = tiny_options();
  auto meta = meta_for(o);
  auto st = generate_dataset(tok, o, dir / "d.h5", meta, /*quiet=*/true);
  EXPECT_EQ(st.samples, 7);

  PasskeySampleGenerator gen(tok, o);
  duo::io::H5Reader r(dir / "d.h5");
  auto ids = r.read_vector<int32_t>("input_ids");
  auto offsets = r.read_vector<int64_t>("offsets");
  auto mask = r.read_vector<uint8_t>("label_mask");
  auto answers = r.read_strings("answers");
  auto passkeys = r.read_strings("passkeys");
  EXPECT_EQ(r.read(std::string("input_ids")).scalar_type(), at::kInt);
  EXPECT_EQ(r.read(std::string("offsets")).scalar_type(), at::kLong);
  EXPECT_EQ(r.read(std::string("label_mask")).scalar_type(), at::kByte);
  ASSERT_EQ(offsets.size(), 8u);
  EXPECT_EQ(offsets.front(), 0);
  EXPECT_EQ(offsets.back(), static_cast<int64_t>(ids.size()));
  EXPECT_EQ(mask.size(), ids.size());
  EXPECT_EQ(st.tokens, static_cast<int64_t>(ids.size()));
  EXPECT_EQ(r.shape("depths"), (std::vector<int64_t>{7, 2}));
  EXPECT_EQ(r.shape("needle_starts"), (std::vector<int64_t>{7, 2}));
  EXPECT_EQ(passkeys.size(), 14u);
  auto depths = r.read_vector<double>("depths");
  auto needle_starts = r.read_vector<int64_t>("needle_starts");
  auto ctx = r.read_vector<int64_t>("context_lengths");
  for (int64_t i = 0; i < 7; ++i) {
    PasskeySample s = gen.sample(i);
    std::vector<int32_t> got(ids.begin() + offsets[i], ids.begin() + offsets[i + 1]);
    std::vector<uint8_t> got_mask(mask.begin() + offsets[i], mask.begin() + offsets[i + 1]);
    EXPECT_EQ(got, s.input_ids);
    EXPECT_EQ(got_mask, s.label_mask);
    EXPECT_EQ(answers[i], s.answer());
    EXPECT_EQ(passkeys[2 * i + 1], s.passkeys[1]);
    EXPECT_EQ(depths[2 * i], s.depths[0]);
    EXPECT_EQ(needle_starts[2 * i + 1], s.needle_starts[1]);
    EXPECT_EQ(ctx[i], s.context_length);
  }
  EXPECT_EQ(r.attr_string("", "format"), "duo.passkey.v1");
  EXPECT_EQ(r.attr_int("", "seed"), 42);
  EXPECT_EQ(r.attr_int("", "num_passkeys"), 2);
  EXPECT_EQ(r.attr_string("", "tokenizer_sha256"), meta.tokenizer_sha256);
  EXPECT_EQ(r.attr_string("", "tokenizer_sha256").size(), 64u);
  // The stored config loads back into the same options.
  GenOptions back;
  duo::io::load_yaml_options_string(back, r.attr_string("", "config"), "config attr");
  EXPECT_EQ(duo::io::options_to_yaml(back), meta.config_yaml);

  Dataset d = Dataset::open(dir / "d.h5");
  ASSERT_EQ(d.size(), 7);
  EXPECT_EQ(d.seed(), 42);
  EXPECT_EQ(d.num_passkeys(), 2);
  EXPECT_EQ(d.tokenizer_sha256(), meta.tokenizer_sha256);
  auto s3 = d.sample(3);
  EXPECT_EQ(s3.input_ids, gen.sample(3).input_ids);
  EXPECT_EQ(s3.label_mask, gen.sample(3).label_mask);
  EXPECT_EQ(s3.answer, gen.sample(3).answer());
  EXPECT_THROW(d.sample(7), duo::Error);
  fs::remove_all(dir);
}

TEST(DatasetFile, SameSeedSameArraysAnyThreadCount) {
  DUO_NEED_LLAMA3();
  auto dir = duo::testing::fresh_dir("determinism");
  GenOptions o = tiny_options();
  o.num_samples = 40;  // more than one block of the parallel path
  auto meta = meta_for(o);
  generate_dataset(tok, o, dir / "a.h5", meta, true, 1);
  generate_dataset(tok, o, dir / "b.h5", meta, true, 2);
  Dataset a = Dataset::open(dir / "a.h5"), b = Dataset::open(dir / "b.h5");
  EXPECT_EQ(a.input_ids(), b.input_ids());
  EXPECT_EQ(a.label_mask(), b.label_mask());
  EXPECT_EQ(a.offsets(), b.offsets());
  EXPECT_EQ(a.answers(), b.answers());
  // Whole files are byte-identical too (HDF5 object timestamps are off).
  EXPECT_EQ(duo::core::read_file(dir / "a.h5"), duo::core::read_file(dir / "b.h5"));
  o.seed = 7;
  generate_dataset(tok, o, dir / "c.h5", meta_for(o), true, 2);
  EXPECT_NE(Dataset::open(dir / "c.h5").input_ids(), a.input_ids());
  fs::remove_all(dir);
}

TEST(DatasetFile, FailuresLeaveNoFile) {
  DUO_NEED_LLAMA3();
  auto dir = duo::testing::fresh_dir("failures");
  auto out = dir / "out.h5";
  GenOptions o = tiny_options();
  auto meta = meta_for(o);

  o.haystack = (dir / "missing.txt").string();
  EXPECT_NE(error_of([&] { generate_dataset(tok, o, out, meta, true); }).find("does not exist"), std::string::npos);
  duo::core::write_file_atomic(dir / "empty.txt", "");
  o.haystack = (dir / "empty.txt").string();
  EXPECT_NE(error_of([&] { generate_dataset(tok, o, out, meta, true); }).find("is empty"), std::string::npos);
  o = tiny_options();
  o.num_passkeys = 8;
  o.passkey_length = 32;
  EXPECT_NE(error_of([&] { generate_dataset(tok, o, out, meta, true); }).find("too short"), std::string::npos);
  EXPECT_FALSE(fs::exists(out));
  int entries = 0;
  for (auto& e : fs::directory_iterator(dir)) entries += e.path().filename() != "empty.txt";
  EXPECT_EQ(entries, 0);  // no temporary files either
  fs::remove_all(dir);
}

TEST(DatasetFile, OpenRejectsOtherFiles) {
  auto dir = duo::testing::fresh_dir("open");
  EXPECT_NE(error_of([&] { Dataset::open(dir / "none.h5"); }).find("no such file"), std::string::npos);
  {
    duo::io::H5Writer w(dir / "other.h5");
    w.write("input_ids", std::vector<int32_t>{1, 2, 3});
    w.commit();
  }
  EXPECT_NE(error_of([&] { Dataset::open(dir / "other.h5"); }).find("expected a dataset 'offsets'"), std::string::npos);
  {
    duo::io::H5Writer w(dir / "bad.h5");
    w.write("input_ids", std::vector<int32_t>{1, 2, 3});
    w.write("offsets", std::vector<int64_t>{0, 2});
    w.write("label_mask", std::vector<uint8_t>{0, 0, 1});
    w.write_strings("answers", {"x"});
    w.commit();
  }
  EXPECT_NE(error_of([&] { Dataset::open(dir / "bad.h5"); }).find("'offsets' must run from 0 to the token count 3"),
            std::string::npos);
  fs::remove_all(dir);
}
