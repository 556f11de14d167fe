// HDF5: round trips of each dtype, strings and attributes; atomic commit; clear errors; and, where
// h5py is installed, the files read by h5py itself.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/hdf5.h"
#include "common/error_of.h"

namespace fs = std::filesystem;
using duo::io::H5Reader;
using duo::io::H5Writer;

namespace {

fs::path test_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("duo_io_h5_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

using duo::testing::error_of;

#define EXPECT_HAS(msg, fragment) EXPECT_NE((msg).find(fragment), std::string::npos) << (msg)

}  // namespace

TEST(Hdf5, TensorRoundTripEveryDType) {
  fs::path d = test_dir("tensors");
  at::manual_seed(3);
  std::vector<std::pair<std::string, at::Tensor>> kept = {
      {"f32", at::randn({3, 4})},
      {"f64", at::randn({2, 2, 2}, at::kDouble)},
      {"i64", at::randint(-(1LL << 40), 1LL << 40, {5}, at::kLong)},
      {"i32", at::randint(-100000, 100000, {2, 3}, at::kInt)},
      {"i16", at::randint(-3000, 3000, {4}, at::kShort)},
      {"i8", at::randint(-128, 127, {4}, at::kChar)},
      {"u8", at::randint(0, 255, {6}, at::kByte)},
      {"bool", at::rand({7}) > 0.5},
      {"scalar", at::scalar_tensor(2.5, at::kDouble)},
      {"empty", at::empty({0, 3})},
      {"deep/group/strided", at::arange(12, at::kFloat).reshape({3, 4}).t()},
  };
  at::Tensor bf = at::randn({4, 2}).to(at::kBFloat16);
  at::Tensor hf = at::randn({3}).to(at::kHalf);
  {
    H5Writer w(d / "t.h5");
    for (const auto& [name, t] : kept) w.write(name, t);
    w.write("bf16", bf);
    w.write("f16", hf);
    w.write("gz/big", at::arange(300000, at::kFloat).reshape({3000, 100}), /*gzip=*/4);
    w.commit();
  }
  H5Reader r(d / "t.h5");
  for (const auto& [name, t] : kept) {
    at::Tensor got = r.read(name);
    EXPECT_EQ(got.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(got.sizes(), t.sizes()) << name;
    EXPECT_TRUE(at::equal(got, t)) << name;
    EXPECT_EQ(r.shape(name), t.sizes().vec()) << name;
  }
  EXPECT_EQ(r.read("bf16").scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(r.read("bf16"), bf.to(at::kFloat)));
  EXPECT_TRUE(at::equal(r.read("f16"), hf.to(at::kFloat)));
  EXPECT_TRUE(at::equal(r.read("gz/big"), at::arange(300000, at::kFloat).reshape({3000, 100})));
  // Compression worked: the file is far smaller than the 1.2 MB raw dataset.
  EXPECT_LT(fs::file_size(d / "t.h5"), 1000000u);
  EXPECT_TRUE(r.has("deep"));
  EXPECT_TRUE(r.has("deep/group"));
  EXPECT_TRUE(r.has("/deep/group/strided"));
  EXPECT_FALSE(r.has("deep/nope/strided"));
  EXPECT_FALSE(r.has("nope"));
  EXPECT_EQ(r.children("deep/group"), std::vector<std::string>{"strided"});
  EXPECT_EQ(r.children("/"), (std::vector<std::string>{"bf16", "bool", "deep", "empty", "f16", "f32", "f64", "gz",
                                                      "i16", "i32", "i64", "i8", "scalar", "u8"}));
  fs::remove_all(d);
}

TEST(Hdf5, VectorsStringsAndAttributes) {
  fs::path d = test_dir("vectors");
  const std::vector<std::string> strings = {"alpha", "", "héllo wörld", "with\nnewline", std::string(300, 'x')};
  {
    H5Writer w(d / "v.h5");
    w.write("ints", std::vector<int32_t>{1, -2, 3, 4, 5, 6}, {2, 3});
    w.write("longs", std::vector<int64_t>{1LL << 50, -7});
    w.write("bytes", std::vector<uint8_t>{0, 255, 7});
    w.write("floats", std::vector<float>{0.5f, -1.25f});
    w.write("doubles", std::vector<double>{0.1, 1e300});
    w.write("none", std::vector<double>{});
    w.write_strings("meta/names", strings);
    w.set_attr("", "model", "llama");
    w.set_attr("/", "steps", int64_t{2000});
    w.set_attr("/", "lr", 0.02);
    w.set_attr("/", "ten", 10);
    w.set_attr("ints", "unit", std::string("tokens"));
    w.set_attr("meta", "version", int64_t{3});
    w.set_attr("meta", "version", int64_t{4});  // replaces
    w.commit();
  }
  H5Reader r(d / "v.h5");
  EXPECT_EQ(r.shape("ints"), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(r.read_vector<int32_t>("ints"), (std::vector<int32_t>{1, -2, 3, 4, 5, 6}));
  EXPECT_EQ(r.read_vector<int64_t>("ints"), (std::vector<int64_t>{1, -2, 3, 4, 5, 6}));  // widening is fine
  EXPECT_EQ(r.read_vector<int64_t>("longs"), (std::vector<int64_t>{1LL << 50, -7}));
  EXPECT_EQ(r.read_vector<uint8_t>("bytes"), (std::vector<uint8_t>{0, 255, 7}));
  EXPECT_EQ(r.read_vector<int32_t>("bytes"), (std::vector<int32_t>{0, 255, 7}));
  EXPECT_EQ(r.read_vector<float>("floats"), (std::vector<float>{0.5f, -1.25f}));
  EXPECT_EQ(r.read_vector<double>("floats"), (std::vector<double>{0.5, -1.25}));
  EXPECT_EQ(r.read_vector<double>("doubles"), (std::vector<double>{0.1, 1e300}));
  EXPECT_TRUE(r.read_vector<double>("none").empty());
  EXPECT_EQ(r.read("ints").scalar_type(), at::kInt);
  EXPECT_EQ(r.read_strings("meta/names"), strings);
  EXPECT_EQ(r.attr_string("", "model"), "llama");
  EXPECT_EQ(r.attr_int("/", "steps"), 2000);
  EXPECT_EQ(r.attr_int("/", "ten"), 10);
  EXPECT_DOUBLE_EQ(r.attr_double("", "lr"), 0.02);
  EXPECT_DOUBLE_EQ(r.attr_double("", "steps"), 2000.0);
  EXPECT_EQ(r.attr_string("ints", "unit"), "tokens");
  EXPECT_EQ(r.attr_int("meta", "version"), 4);
  EXPECT_EQ(r.attr_names("/"), (std::vector<std::string>{"lr", "model", "steps", "ten"}));

  // Type checks and missing things name the file and the dataset.
  std::string msg = error_of([&] { r.read_vector<float>("doubles"); });
  EXPECT_HAS(msg, (d / "v.h5").string() + ": dataset 'doubles' holds float64; expected float32 or narrower");
  msg = error_of([&] { r.read_vector<int32_t>("longs"); });
  EXPECT_HAS(msg, "dataset 'longs' holds int64; expected int32 or narrower");
  msg = error_of([&] { r.read_vector<uint8_t>("ints"); });
  EXPECT_HAS(msg, "dataset 'ints' holds int32; expected uint8 or narrower");
  msg = error_of([&] { r.read_vector<int64_t>("floats"); });
  EXPECT_HAS(msg, "holds float32; expected int64");
  msg = error_of([&] { r.read("missing/x"); });
  EXPECT_HAS(msg, "v.h5: dataset 'missing/x' not found");
  msg = error_of([&] { r.read("meta"); });
  EXPECT_HAS(msg, "'meta' is a group; expected a dataset");
  msg = error_of([&] { r.read("meta/names"); });
  EXPECT_HAS(msg, "dataset 'meta/names' holds strings; expected numbers or bools (use read_strings)");
  msg = error_of([&] { r.read_strings("ints"); });
  EXPECT_HAS(msg, "dataset 'ints' holds int32; expected strings");
  msg = error_of([&] { r.attr_int("/", "model"); });
  EXPECT_HAS(msg, "attribute 'model' of '/' holds strings; expected one integer");
  msg = error_of([&] { r.attr_string("/", "absent"); });
  EXPECT_HAS(msg, "attribute 'absent' not found on '/'");
  fs::remove_all(d);
}

TEST(Hdf5, WriterErrors) {
  fs::path d = test_dir("werr");
  H5Writer w(d / "e.h5");
  w.write("a", at::zeros({2}));
  std::string msg = error_of([&] { w.write("a", at::zeros({2})); });
  EXPECT_HAS(msg, "e.h5: dataset 'a' already exists");
  msg = error_of([&] { w.write("v", std::vector<float>{1, 2, 3}, {2, 2}); });
  EXPECT_HAS(msg, "dataset 'v': shape [2, 2] holds 4 elements; got 3");
  msg = error_of([&] { w.write("c", at::zeros({2}, at::kComplexFloat)); });
  EXPECT_HAS(msg, "dataset 'c': unsupported dtype");
  msg = error_of([&] { w.set_attr("nope", "k", int64_t{1}); });
  EXPECT_HAS(msg, "object 'nope' not found");
  msg = error_of([&] { w.write("g", at::zeros({2}), 12); });
  EXPECT_HAS(msg, "gzip level must be 0..9; got 12");
  w.commit();
  msg = error_of([&] { w.write("b", at::zeros({2})); });
  EXPECT_HAS(msg, "already committed");
  EXPECT_TRUE(H5Reader(d / "e.h5").has("a"));
  fs::remove_all(d);
}

TEST(Hdf5, AtomicCommit) {
  fs::path d = test_dir("atomic");
  {
    H5Writer w(d / "sub" / "out.h5");
    w.write("x", at::ones({3}));
    // destroyed without commit()
  }
  EXPECT_FALSE(fs::exists(d / "sub" / "out.h5"));
  EXPECT_TRUE(fs::is_empty(d / "sub"));  // the temporary file is gone too

  {
    H5Writer w(d / "sub" / "out.h5");
    w.write("x", at::ones({3}));
    w.commit();
  }
  {
    H5Writer w(d / "sub" / "out.h5");
    w.write("x", at::zeros({3}));
    // an exception mid-way: the committed file stays as it was
  }
  EXPECT_TRUE(at::equal(H5Reader(d / "sub" / "out.h5").read("x"), at::ones({3})));
  int n = 0;
  for (auto& e : fs::directory_iterator(d / "sub")) n += e.is_regular_file();
  EXPECT_EQ(n, 1);
  fs::remove_all(d);
}

TEST(Hdf5, ReaderRejectsNonHdf5) {
  fs::path d = test_dir("notfile");
  duo::core::write_file_atomic(d / "plain.h5", "this is not hdf5 at all, just text padding padding");
  std::string msg = error_of([&] { H5Reader r(d / "plain.h5"); });
  EXPECT_HAS(msg, (d / "plain.h5").string() + ": not an HDF5 file");
  msg = error_of([&] { H5Reader r(d / "absent.h5"); });
  EXPECT_HAS(msg, "absent.h5: cannot open: no such file");
  fs::remove_all(d);
}

// Where h5py is installed (python3-h5py), check that it reads what we write and that we read
// what it writes. Skipped otherwise.
TEST(Hdf5, InteropWithH5py) {
  if (std::system("python3 -c 'import h5py' >/dev/null 2>&1") != 0 &&
      std::system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "h5py not installed";
  }
  const std::string py = std::system("python3 -c 'import h5py' >/dev/null 2>&1") == 0 ? "python3" : "/usr/bin/python3";
  fs::path d = test_dir("h5py");
  {
    H5Writer w(d / "ours.h5");
    w.write("g/f32", at::arange(6, at::kFloat).reshape({2, 3}));
    w.write("g/bool", at::tensor({1, 0, 1}, at::kInt).to(at::kBool));
    w.write("i64", std::vector<int64_t>{5, -6});
    w.write_strings("names", {"a", "héllo"});
    w.set_attr("", "model", "llama");
    w.set_attr("", "steps", int64_t{7});
    w.set_attr("g", "lr", 0.5);
    w.commit();
  }
  const std::string script = R"PY(
import h5py, sys
d = sys.argv[1]
with h5py.File(d + "/ours.h5", "r") as f:
    out = []
    out.append(repr(f["g/f32"][()].tolist()))
    out.append(str(f["g/bool"].dtype) + repr(f["g/bool"][()].tolist()))
    out.append(repr(f["i64"][()].tolist()))
    out.append(repr([s.decode() if isinstance(s, bytes) else s for s in f["names"][()]]))
    m = f.attrs["model"]
    out.append((m.decode() if isinstance(m, bytes) else m) + " " + str(int(f.attrs["steps"])) + " " + str(float(f["g"].attrs["lr"])))
    open(d + "/seen.txt", "w", encoding="utf-8").write("\n".join(out) + "\n")
import numpy as np
with h5py.File(d + "/theirs.h5", "w") as f:
    f["x"] = np.arange(6, dtype=np.float64).reshape(3, 2)
    f["b"] = np.array([True, False])
    f["u16"] = np.array([1, 65535], dtype=np.uint16)
    f.create_dataset("s", data=["one", "twö"], dtype=h5py.string_dtype())
    f.create_dataset("fixed", data=np.array([b"ab", b"c"], dtype="S4"))
    f.attrs["name"] = "them"
    f.attrs["n"] = 42
    f.attrs["r"] = 0.25
)PY";
  {
    std::ofstream(d / "check.py") << script;
  }
  ASSERT_EQ(std::system((py + " " + (d / "check.py").string() + " " + d.string()).c_str()), 0);
  std::ifstream in(d / "seen.txt");
  std::string seen((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(seen,
            "[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]\n"
            "bool[True, False, True]\n"
            "[5, -6]\n"
            "['a', 'héllo']\n"
            "llama 7 0.5\n");
  H5Reader r(d / "theirs.h5");
  EXPECT_TRUE(at::equal(r.read("x"), at::arange(6, at::kDouble).reshape({3, 2})));
  at::Tensor b = r.read("b");
  EXPECT_EQ(b.scalar_type(), at::kBool);
  EXPECT_TRUE(b[0].item<bool>());
  EXPECT_FALSE(b[1].item<bool>());
  EXPECT_EQ(r.read("u16").scalar_type(), at::kInt);
  EXPECT_EQ(r.read("u16")[1].item<int>(), 65535);
  EXPECT_EQ(r.read_strings("s"), (std::vector<std::string>{"one", "twö"}));
  EXPECT_EQ(r.read_strings("fixed"), (std::vector<std::string>{"ab", "c"}));
  EXPECT_EQ(r.attr_string("", "name"), "them");
  EXPECT_EQ(r.attr_int("", "n"), 42);
  EXPECT_DOUBLE_EQ(r.attr_double("", "r"), 0.25);
  fs::remove_all(d);
}
