// HDF5 files (datasets, training history, sweep results), readable by h5py.
//
// Names are paths: "a/b/c" is dataset c in group b in group a; the writer creates the groups.
// Layouts match what h5py writes and reads natively: numbers as native little-endian types,
// strings as variable-length UTF-8, bools as h5py's enum (int8 FALSE=0 / TRUE=1), attributes as
// scalars. Every HDF5 failure becomes a duo::Error naming the file and the dataset; HDF5's own
// error printing is silenced. The HDF5 C++ API stays out of this header.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace duo::io {

// Builds the file in memory; commit() writes it to a temporary file beside `path` and renames it
// over `path`, so a crash, an exception or a full disk never leaves a half-written file under the
// final name (a failed write is one duo::Error; the temporary file is removed). Destroyed without
// commit(), it leaves `path` as it was. Memory: the whole file, once more at commit().
class H5Writer {
 public:
  explicit H5Writer(const std::filesystem::path& path);
  ~H5Writer();
  H5Writer(const H5Writer&) = delete;
  H5Writer& operator=(const H5Writer&) = delete;

  const std::filesystem::path& path() const;
  // A dataset from a tensor of any device and layout, shape preserved (0-d -> scalar dataset).
  // float32, float64, int64, int32, int16, int8, uint8 and bool are kept as they are;
  // bfloat16 and float16 become float32. gzip: 0 = none, 1..9 = deflate level (chunked).
  void write(const std::string& name, const at::Tensor& t, int gzip = 0);
  // A dataset from a vector of int32_t, int64_t, uint8_t, float or double; shape defaults to
  // [data.size()] and must hold exactly data.size() elements.
  template <class T>
  void write(const std::string& name, const std::vector<T>& data, std::vector<int64_t> shape = {});
  // A 1-d dataset of variable-length UTF-8 strings.
  void write_strings(const std::string& name, const std::vector<std::string>& s);
  // Scalar attributes on a group or dataset already written; object "" or "/" is the root.
  // Setting a key again replaces it.
  void set_attr(const std::string& object, const std::string& key, const std::string& value);
  void set_attr(const std::string& object, const std::string& key, const char* value);
  void set_attr(const std::string& object, const std::string& key, int64_t value);
  void set_attr(const std::string& object, const std::string& key, int value) {
    set_attr(object, key, static_cast<int64_t>(value));
  }
  void set_attr(const std::string& object, const std::string& key, double value);
  // Closes the file and renames it over `path`. Nothing may be written afterwards.
  void commit();

  struct Impl;

 private:
  void write_raw(const std::string& name, const void* data, int kind, const std::vector<int64_t>& shape, int gzip);
  std::unique_ptr<Impl> impl_;
};

class H5Reader {
 public:
  // Throws "<file>: not an HDF5 file" or "<file>: cannot open: no such file".
  explicit H5Reader(const std::filesystem::path& path);
  ~H5Reader();
  H5Reader(const H5Reader&) = delete;
  H5Reader& operator=(const H5Reader&) = delete;

  const std::filesystem::path& path() const;
  bool has(const std::string& name) const;  // a group or dataset at that path
  std::vector<int64_t> shape(const std::string& name) const;  // [] for a scalar dataset
  // A CPU tensor in the stored type: float32/64, int8/16/32/64, uint8, bool (h5py's enum);
  // uint16 and uint32 widen to int32 and int64.
  at::Tensor read(const std::string& name) const;
  // The dataset flattened, for T in int32_t, int64_t, uint8_t, float, double. The stored type
  // must convert without loss (same kind, no narrowing), else
  // "<file>: dataset 'x' holds float64; expected float32 or narrower".
  template <class T>
  std::vector<T> read_vector(const std::string& name) const;
  std::vector<std::string> read_strings(const std::string& name) const;  // variable or fixed length
  std::string attr_string(const std::string& object, const std::string& key) const;
  int64_t attr_int(const std::string& object, const std::string& key) const;
  double attr_double(const std::string& object, const std::string& key) const;  // ints convert
  std::vector<std::string> attr_names(const std::string& object) const;
  std::vector<std::string> children(const std::string& group) const;  // names, sorted

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

extern template void H5Writer::write<int32_t>(const std::string&, const std::vector<int32_t>&, std::vector<int64_t>);
extern template void H5Writer::write<int64_t>(const std::string&, const std::vector<int64_t>&, std::vector<int64_t>);
extern template void H5Writer::write<uint8_t>(const std::string&, const std::vector<uint8_t>&, std::vector<int64_t>);
extern template void H5Writer::write<float>(const std::string&, const std::vector<float>&, std::vector<int64_t>);
extern template void H5Writer::write<double>(const std::string&, const std::vector<double>&, std::vector<int64_t>);
extern template std::vector<int32_t> H5Reader::read_vector<int32_t>(const std::string&) const;
extern template std::vector<int64_t> H5Reader::read_vector<int64_t>(const std::string&) const;
extern template std::vector<uint8_t> H5Reader::read_vector<uint8_t>(const std::string&) const;
extern template std::vector<float> H5Reader::read_vector<float>(const std::string&) const;
extern template std::vector<double> H5Reader::read_vector<double>(const std::string&) const;

}  // namespace duo::io
