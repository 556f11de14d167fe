// Safetensors reader: a memory-mapped .safetensors file, fully validated when opened.
//
// Layout (https://github.com/huggingface/safetensors): an 8-byte little-endian u64 N, then N
// bytes of JSON header, then the data section. The header maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (byte offsets inside the data section) and may
// hold "__metadata__", a string -> string map. Every offset is bounded by the file size at open,
// so later reads through data() never leave the mapping. No torch here: see checkpoint.h for
// tensors and the writers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace duo::io {

// The element types this project reads and writes (names as in the safetensors header).
enum class DType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

std::string_view dtype_name(DType dtype);  // "F64", "F32", "F16", "BF16", ..., "U8", "BOOL"
size_t dtype_size(DType dtype);            // bytes per element
// Parses a header dtype name; throws "<context>: unknown dtype 'X'; expected one of: F64, ...".
DType parse_dtype(std::string_view name, const std::string& context);

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;  // empty for a 0-d scalar
  uint64_t begin = 0, end = 0;  // byte offsets inside the data section, end - begin = numel * size
  int64_t numel() const;        // product of shape (1 for a 0-d scalar)
};

// Formats a shape as "[a, b, c]" (as in error messages).
std::string shape_string(const std::vector<int64_t>& shape);

// A memory-mapped .safetensors file (read-only, MAP_PRIVATE), validated at open:
// file >= 8 bytes; 8 + N <= file size; the header is a JSON object; every entry has a known dtype,
// a shape of non-negative ints, data_offsets [begin, end] with begin <= end <= data section size
// and end - begin == numel * itemsize (overflow-safe); no two tensors overlap; "__metadata__" is a
// string -> string map. Each error is one line naming the file, the tensor, what was expected and
// what was found. Shared (shared_ptr) so that zero-copy tensors can keep the mapping alive.
class SafetensorsFile {
 public:
  static std::shared_ptr<const SafetensorsFile> open(const std::filesystem::path& path);
  ~SafetensorsFile();  // unmaps
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // header order
  const TensorInfo* find(const std::string& name) const;               // nullptr if absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Start of the tensor's bytes, inside the read-only mapping (valid while this object lives).
  const uint8_t* data(const TensorInfo& t) const;
  // The whole mapping, for callers that check where a pointer lies.
  const uint8_t* mapping_begin() const { return map_; }
  size_t mapping_size() const { return size_; }
  uint64_t header_size() const { return header_size_; }  // N

 private:
  SafetensorsFile() = default;
  void parse_header(std::string_view header);

  std::filesystem::path path_;
  const uint8_t* map_ = nullptr;  // whole file, PROT_READ
  size_t size_ = 0;               // file size in bytes
  uint64_t header_size_ = 0;      // N
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

}  // namespace duo::io
