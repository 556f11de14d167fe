// Safetensors + checkpoints: round trips of every dtype, each malformed input rejected with a
// message that names what is wrong, sharded checkpoints, zero-copy tensors.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "common/error_of.h"

namespace fs = std::filesystem;
using duo::io::Checkpoint;
using duo::io::DType;
using duo::io::SafetensorsFile;

namespace {

fs::path test_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("duo_io_st_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Writes an arbitrary (possibly malformed) safetensors file: 8-byte length, header, data.
void write_raw(const fs::path& p, const std::string& header, const std::string& data,
               uint64_t declared_len = UINT64_MAX) {
  uint64_t n = declared_len == UINT64_MAX ? header.size() : declared_len;
  std::ofstream out(p, std::ios::binary);
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
  out << header << data;
}

// Expects opening `p` to throw a duo::Error whose message contains every fragment.
void expect_open_error(const fs::path& p, std::initializer_list<std::string> fragments) {
  try {
    SafetensorsFile::open(p);
    ADD_FAILURE() << "no error for " << p;
  } catch (const duo::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "missing '" << f << "' in: " << msg;
  }
}

using duo::testing::error_of;

std::vector<std::pair<std::string, at::Tensor>> all_dtypes() {
  at::manual_seed(7);
  std::vector<std::pair<std::string, at::Tensor>> t;
  t.emplace_back("f64", at::randn({3, 5}, at::kDouble));
  t.emplace_back("f32", at::randn({2, 3, 4}));
  t.emplace_back("f16", at::randn({7}).to(at::kHalf));
  t.emplace_back("bf16", at::randn({3, 3}).to(at::kBFloat16));
  t.emplace_back("i64", at::randint(-1000000, 1000000, {4}, at::kLong));
  t.emplace_back("i32", at::randint(-100000, 100000, {2, 2}, at::kInt));
  t.emplace_back("i16", at::randint(-30000, 30000, {5}, at::kShort));
  t.emplace_back("i8", at::randint(-128, 127, {3}, at::kChar));
  t.emplace_back("u8", at::randint(0, 255, {9}, at::kByte));
  t.emplace_back("bool", at::rand({6}) > 0.5);
  t.emplace_back("scalar", at::scalar_tensor(3.25, at::kFloat));  // 0-d
  t.emplace_back("empty", at::empty({0, 4}, at::kFloat));         // zero-size
  t.emplace_back("strided", at::arange(12, at::kFloat).reshape({3, 4}).t());  // non-contiguous input
  return t;
}

}  // namespace

TEST(Safetensors, DTypeNamesAndSizes) {
  EXPECT_EQ(duo::io::dtype_name(DType::kBF16), "BF16");
  EXPECT_EQ(duo::io::dtype_name(DType::kBool), "BOOL");
  EXPECT_EQ(duo::io::dtype_size(DType::kF64), 8u);
  EXPECT_EQ(duo::io::dtype_size(DType::kI16), 2u);
  EXPECT_EQ(duo::io::dtype_size(DType::kBool), 1u);
  EXPECT_EQ(duo::io::parse_dtype("I8", "ctx"), DType::kI8);
  std::string msg = error_of([] { duo::io::parse_dtype("F8_E4M3", "my.file: tensor 'w'"); });
  EXPECT_NE(msg.find("my.file: tensor 'w': unknown dtype 'F8_E4M3'"), std::string::npos) << msg;
  for (auto [name, t] : all_dtypes()) {
    EXPECT_EQ(duo::io::to_scalar_type(duo::io::from_scalar_type(t.scalar_type())), t.scalar_type()) << name;
  }
  EXPECT_THROW(duo::io::from_scalar_type(at::kComplexFloat), duo::Error);
}

TEST(Safetensors, RoundTripEveryDType) {
  fs::path d = test_dir("roundtrip");
  auto tensors = all_dtypes();
  std::map<std::string, std::string> meta{{"format", "pt"}, {"note", "héllo \"quoted\""}};
  duo::io::write_safetensors(d / "a.safetensors", tensors, meta);

  auto f = SafetensorsFile::open(d / "a.safetensors");
  EXPECT_EQ(f->metadata(), meta);
  EXPECT_EQ(f->header_size() % 8, 0u);
  ASSERT_EQ(f->tensors().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) EXPECT_EQ(f->tensors()[i].name, tensors[i].first);  // header order
  EXPECT_EQ(f->find("scalar")->shape.size(), 0u);
  EXPECT_EQ(f->find("scalar")->numel(), 1);
  EXPECT_EQ(f->find("empty")->numel(), 0);
  EXPECT_EQ(f->find("nope"), nullptr);
  // Written contiguous, in order, with no gaps.
  uint64_t off = 0;
  for (const auto& t : f->tensors()) {
    EXPECT_EQ(t.begin, off) << t.name;
    off = t.end;
  }
  EXPECT_EQ(8 + f->header_size() + off, fs::file_size(d / "a.safetensors"));

  Checkpoint c = Checkpoint::open(d / "a.safetensors");
  for (const auto& [name, t] : tensors) {
    at::Tensor r = c.tensor(name);
    EXPECT_EQ(r.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(r.sizes(), t.sizes()) << name;
    EXPECT_TRUE(at::equal(r, t)) << name;
    EXPECT_EQ(c.info(name).dtype, duo::io::from_scalar_type(t.scalar_type()));
  }
  std::vector<std::string> names = c.names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(names.size(), tensors.size());
  EXPECT_TRUE(c.contains("bf16"));
  EXPECT_FALSE(c.contains("x"));
  EXPECT_EQ(c.file_of("i8"), "a.safetensors");
  fs::remove_all(d);
}

TEST(Safetensors, HandWrittenFileMatchesReferenceLayout) {
  // A file laid out by hand as the reference writer would: header padded with spaces.
  fs::path d = test_dir("hand");
  std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  float vals[2] = {1.5f, -2.0f};
  write_raw(d / "h.safetensors", header, std::string(reinterpret_cast<const char*>(vals), 8));
  Checkpoint c = Checkpoint::open(d / "h.safetensors");
  at::Tensor w = c.tensor("w", {2});
  EXPECT_FLOAT_EQ(w[0].item<float>(), 1.5f);
  EXPECT_FLOAT_EQ(w[1].item<float>(), -2.0f);
  EXPECT_EQ(c.files()[0]->metadata().at("k"), "v");
  fs::remove_all(d);
}

TEST(Safetensors, RejectsMalformedFiles) {
  fs::path d = test_dir("bad");
  const std::string ok_entry = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string data8(8, '\0');

  { std::ofstream(d / "tiny") << "abc"; }
  expect_open_error(d / "tiny", {"at least 8 bytes", "got 3"});

  write_raw(d / "pastend", "{" + ok_entry + "}", data8, 1000);
  expect_open_error(d / "pastend", {"header length 1000", "past the end"});

  write_raw(d / "notjson", "{\"w\": [1, 2", data8);
  expect_open_error(d / "notjson", {"header is not valid JSON"});

  write_raw(d / "overflow", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,1E999]}})", data8);
  expect_open_error(d / "overflow", {"header is not valid JSON", "number overflow parsing '1E999'"});

  write_raw(d / "notobject", "[1, 2]", data8);
  expect_open_error(d / "notobject", {"header must be a JSON object", "got array"});

  write_raw(d / "dtype", R"({"w":{"dtype":"F8","shape":[2],"data_offsets":[0,8]}})", data8);
  expect_open_error(d / "dtype", {"tensor 'w'", "unknown dtype 'F8'"});

  write_raw(d / "negshape", R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data8);
  expect_open_error(d / "negshape", {"tensor 'w'", "non-negative integers", "[-2]"});

  write_raw(d / "floatshape", R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", data8);
  expect_open_error(d / "floatshape", {"tensor 'w'", "non-negative integers"});

  write_raw(d / "range", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", data8);
  expect_open_error(d / "range", {"tensor 'w'", "[0, 16] out of range", "<= 8"});

  write_raw(d / "reversed", R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", data8);
  expect_open_error(d / "reversed", {"tensor 'w'", "out of range"});

  write_raw(d / "size", R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data8 + data8);
  expect_open_error(d / "size", {"tensor 'w'", "expected 12 bytes", "got 8"});

  write_raw(d / "overflow",
            R"({"w":{"dtype":"F32","shape":[4611686018427387904, 8],"data_offsets":[0,8]}})", data8);
  expect_open_error(d / "overflow", {"tensor 'w'", "overflowing"});

  write_raw(d / "overlap",
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[2],"data_offsets":[4,12]}})",
            data8 + data8);
  expect_open_error(d / "overlap", {"'a' [0, 8]", "'b' [4, 12]", "overlap"});

  write_raw(d / "missingkey", R"({"w":{"dtype":"F32","shape":[2]}})", data8);
  expect_open_error(d / "missingkey", {"tensor 'w'", "missing 'data_offsets'"});

  write_raw(d / "badmeta", "{\"__metadata__\":{\"k\":3}," + ok_entry + "}", data8);
  expect_open_error(d / "badmeta", {"__metadata__ entry 'k'", "string", "got 3"});

  // Truncated: a valid file cut short loses tensor bytes.
  duo::io::write_safetensors(d / "full.safetensors", {{"x", at::ones({64})}});
  std::string bytes;
  {
    std::ifstream in(d / "full.safetensors", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  {
    std::ofstream out(d / "truncated", std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() - 10));
  }
  expect_open_error(d / "truncated", {"tensor 'x'", "out of range"});
  {
    std::ofstream out(d / "truncated_header", std::ios::binary);
    out.write(bytes.data(), 20);
  }
  expect_open_error(d / "truncated_header", {"past the end"});

  EXPECT_NE(error_of([&] { SafetensorsFile::open(d / "absent"); }).find("cannot open"), std::string::npos);
  fs::remove_all(d);
}

TEST(Safetensors, BoolBytesMustBeZeroOrOne) {
  fs::path d = test_dir("bool");
  write_raw(d / "b", R"({"b":{"dtype":"BOOL","shape":[4],"data_offsets":[0,4]}})", std::string("\x01\x00\x02\x01", 4));
  Checkpoint c = Checkpoint::open(d / "b");
  std::string msg = error_of([&] { c.tensor("b"); });
  EXPECT_NE(msg.find("tensor 'b' (BOOL) holds byte 2 at element 2; expected 0 or 1"), std::string::npos) << msg;
  fs::remove_all(d);
}

TEST(Safetensors, ZeroSizeTensorsMayShareOffsets) {
  fs::path d = test_dir("zero");
  write_raw(d / "z",
            R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
            std::string(8, '\0'));
  auto f = SafetensorsFile::open(d / "z");
  EXPECT_EQ(f->tensors().size(), 2u);
  fs::remove_all(d);
}

TEST(Checkpoint, MissingTensorAndWrongShape) {
  fs::path d = test_dir("shape");
  duo::io::write_safetensors(d / "model.safetensors", {{"layers.0.w", at::zeros({2, 3})}});
  Checkpoint c = Checkpoint::open(d);  // folder with model.safetensors
  EXPECT_EQ(c.path(), d);
  std::string msg = error_of([&] { c.tensor("layers.1.w"); });
  EXPECT_NE(msg.find(d.string() + ": tensor 'layers.1.w' not found"), std::string::npos) << msg;
  msg = error_of([&] { c.tensor("layers.0.w", {3, 2}); });
  EXPECT_NE(msg.find("model.safetensors: tensor 'layers.0.w' has wrong shape; expected [3, 2], got [2, 3]"),
            std::string::npos)
      << msg;
  EXPECT_EQ(c.tensor("layers.0.w", {2, 3}).sizes(), at::IntArrayRef({2, 3}));
  msg = error_of([&] { Checkpoint::open(d / "nothing"); });
  EXPECT_NE(msg.find("no such file"), std::string::npos) << msg;
  fs::create_directories(d / "empty");
  msg = error_of([&] { Checkpoint::open(d / "empty"); });
  EXPECT_NE(msg.find("expected model.safetensors or model.safetensors.index.json"), std::string::npos) << msg;
  msg = error_of([&] { duo::io::write_safetensors(d / "dup.safetensors", {{"a", at::ones({1})}, {"a", at::ones({1})}}); });
  EXPECT_NE(msg.find("tensor 'a' given twice"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(d / "dup.safetensors"));
  fs::remove_all(d);
}

TEST(Checkpoint, ZeroCopyWhenAligned) {
  fs::path d = test_dir("zerocopy");
  // u8 of 3 bytes first: the f32 after it starts misaligned and must be copied; the f64 first
  // in the second file is aligned (the data section starts 8-byte aligned) and must not be.
  at::Tensor b = at::arange(3, at::kByte);
  at::Tensor f = at::arange(5, at::kFloat);
  duo::io::write_safetensors(d / "mis.safetensors", {{"b", b}, {"f", f}});
  duo::io::write_safetensors(d / "al.safetensors", {{"g", at::arange(4, at::kDouble)}, {"f", f}});

  auto inside = [](const Checkpoint& c, const at::Tensor& t) {
    const auto& file = *c.files()[0];
    auto p = static_cast<const uint8_t*>(t.data_ptr());
    return p >= file.mapping_begin() && p < file.mapping_begin() + file.mapping_size();
  };
  at::Tensor g;
  {
    Checkpoint al = Checkpoint::open(d / "al.safetensors");
    g = al.tensor("g");
    EXPECT_TRUE(inside(al, g));
    EXPECT_TRUE(inside(al, al.tensor("f")));
    Checkpoint mis = Checkpoint::open(d / "mis.safetensors");
    at::Tensor mf = mis.tensor("f");
    EXPECT_FALSE(inside(mis, mf));  // misaligned: copied
    EXPECT_TRUE(at::equal(mf, f));
    EXPECT_TRUE(inside(mis, mis.tensor("b")));
  }
  // The checkpoint is gone; the tensor still holds the mapping.
  EXPECT_TRUE(at::equal(g, at::arange(4, at::kDouble)));
  fs::remove_all(d);
}

TEST(Checkpoint, ShardedWriteAndRead) {
  fs::path d = test_dir("sharded");
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (int i = 0; i < 5; ++i) {
    tensors.emplace_back("layer." + std::to_string(i), at::full({4, 4}, static_cast<float>(i)));  // 64 B each
  }
  tensors.emplace_back("big", at::zeros({100}));  // 400 B: a shard of its own
  duo::io::write_sharded_checkpoint(d, tensors, 128);

  nlohmann::json index = duo::io::read_json(d / "model.safetensors.index.json");
  EXPECT_EQ(index["metadata"]["total_size"].get<uint64_t>(), 5 * 64 + 400u);
  EXPECT_EQ(index["weight_map"]["layer.0"], "model-00001-of-00004.safetensors");
  EXPECT_EQ(index["weight_map"]["layer.1"], "model-00001-of-00004.safetensors");
  EXPECT_EQ(index["weight_map"]["layer.2"], "model-00002-of-00004.safetensors");
  EXPECT_EQ(index["weight_map"]["layer.4"], "model-00003-of-00004.safetensors");
  EXPECT_EQ(index["weight_map"]["big"], "model-00004-of-00004.safetensors");

  Checkpoint c = Checkpoint::open(d);
  EXPECT_EQ(c.names().size(), 6u);
  EXPECT_EQ(c.file_of("layer.3"), "model-00002-of-00004.safetensors");
  EXPECT_EQ(c.index_metadata().at("total_size"), "720");
  for (const auto& [name, t] : tensors) EXPECT_TRUE(at::equal(c.tensor(name), t)) << name;
  Checkpoint via_index = Checkpoint::open(d / "model.safetensors.index.json");
  EXPECT_EQ(via_index.names(), c.names());

  // A weight_map entry naming an absent tensor.
  nlohmann::json bad = index;
  bad["weight_map"]["ghost"] = "model-00001-of-00004.safetensors";
  duo::io::write_json(d / "model.safetensors.index.json", bad);
  std::string msg = error_of([&] { Checkpoint::open(d); });
  EXPECT_NE(msg.find("tensor 'ghost'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("has no such tensor"), std::string::npos) << msg;

  // A tensor in a shard but missing from the map.
  bad = index;
  bad["weight_map"].erase("layer.1");
  duo::io::write_json(d / "model.safetensors.index.json", bad);
  msg = error_of([&] { Checkpoint::open(d); });
  EXPECT_NE(msg.find("tensor 'layer.1' in shard 'model-00001-of-00004.safetensors' is missing from weight_map"),
            std::string::npos)
      << msg;

  // The same tensor in two shards.
  duo::io::write_safetensors(d / "extra.safetensors", {{"layer.0", at::ones({4, 4})}});
  bad = index;
  bad["weight_map"]["only_extra"] = "extra.safetensors";
  duo::io::write_safetensors(d / "extra.safetensors", {{"layer.0", at::ones({4, 4})}, {"only_extra", at::ones({1})}});
  duo::io::write_json(d / "model.safetensors.index.json", bad);
  msg = error_of([&] { Checkpoint::open(d); });
  EXPECT_NE(msg.find("tensor 'layer.0' appears in two shards"), std::string::npos) << msg;

  // A missing shard file.
  duo::io::write_json(d / "model.safetensors.index.json", index);
  EXPECT_NO_THROW(Checkpoint::open(d));
  fs::remove(d / "model-00003-of-00004.safetensors");
  msg = error_of([&] { Checkpoint::open(d); });
  EXPECT_NE(msg.find("model-00003-of-00004.safetensors' (holding tensor 'layer.4') does not exist"),
            std::string::npos)
      << msg;

  // An index that is not JSON names the file and the position.
  { std::ofstream(d / "model.safetensors.index.json") << "{\n  \"weight_map\": {,}\n}"; }
  msg = error_of([&] { Checkpoint::open(d); });
  EXPECT_NE(msg.find("model.safetensors.index.json: invalid JSON at line 2, column 18"), std::string::npos) << msg;
  fs::remove_all(d);
}
