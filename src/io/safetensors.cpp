// Safetensors reader (see safetensors.h): mmap the file, bound and validate every header entry.
#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/printable.h"
#include "io/json.h"

namespace duo::io {
namespace {

constexpr DType kAllDTypes[] = {DType::kF64, DType::kF32, DType::kF16, DType::kBF16, DType::kI64,
                                DType::kI32, DType::kI16, DType::kI8,  DType::kU8,   DType::kBool};

// Closes a file descriptor on scope exit.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
};

// A short, one-line rendering of a JSON value for error messages.
std::string brief(const nlohmann::ordered_json& j) {
  std::string s = j.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return core::printable(s);  // the cut may split a UTF-8 sequence
}

}  // namespace

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kF64: return "F64";
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
    case DType::kI64: return "I64";
    case DType::kI32: return "I32";
    case DType::kI16: return "I16";
    case DType::kI8: return "I8";
    case DType::kU8: return "U8";
    case DType::kBool: return "BOOL";
  }
  return "?";
}

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kF64: case DType::kI64: return 8;
    case DType::kF32: case DType::kI32: return 4;
    case DType::kF16: case DType::kBF16: case DType::kI16: return 2;
    case DType::kI8: case DType::kU8: case DType::kBool: return 1;
  }
  return 0;
}

DType parse_dtype(std::string_view name, const std::string& context) {
  for (DType d : kAllDTypes) {
    if (dtype_name(d) == name) return d;
  }
  std::vector<std::string_view> names;
  for (DType d : kAllDTypes) names.push_back(dtype_name(d));
  fail("{}: unknown dtype '{}'; expected one of: {}", context, name, fmt::join(names, ", "));
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  const std::string file = path.string();

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  DUO_CHECK(fd >= 0, "{}: cannot open: {}", file, std::strerror(errno));
  FdGuard guard{fd};
  struct stat st {};
  DUO_CHECK(::fstat(fd, &st) == 0, "{}: cannot stat: {}", file, std::strerror(errno));
  DUO_CHECK(S_ISREG(st.st_mode), "{}: not a regular file", file);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  DUO_CHECK(size >= 8, "{}: not a safetensors file; expected at least 8 bytes (the header length), got {}",
            file, size);

  void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  DUO_CHECK(m != MAP_FAILED, "{}: cannot mmap {} bytes: {}", file, size, std::strerror(errno));
  f->map_ = static_cast<const uint8_t*>(m);  // from here on the destructor unmaps
  f->size_ = static_cast<size_t>(size);

  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | f->map_[i];  // little-endian u64
  DUO_CHECK(n <= size - 8, "{}: header length {} runs past the end of the file; expected at most {} (file size {})",
            file, n, size - 8, size);
  f->header_size_ = n;
  f->parse_header(std::string_view(reinterpret_cast<const char*>(f->map_ + 8), static_cast<size_t>(n)));
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(const_cast<uint8_t*>(map_), size_);
}

void SafetensorsFile::parse_header(std::string_view header) {
  const std::string file = path_.string();
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(header.begin(), header.end());
  } catch (const nlohmann::json::parse_error& e) {
    fail("{}: header is not valid JSON (at byte {} of {}): {}", file, e.byte, header.size(),
         core::printable(without_parse_error_prefix(e.what())));
  } catch (const nlohmann::json::exception& e) {  // e.g. a number too large for a double
    fail("{}: header is not valid JSON: {}", file, core::printable(without_exception_prefix(e.what())));
  }
  DUO_CHECK(j.is_object(), "{}: header must be a JSON object; got {}", file, j.type_name());

  const uint64_t data_size = size_ - 8 - header_size_;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const std::string name = core::printable(key);  // as quoted in messages: the file's bytes, escaped
    const auto& v = it.value();
    if (key == "__metadata__") {
      DUO_CHECK(v.is_object(), "{}: __metadata__ must be an object of strings; got {}", file, v.type_name());
      for (auto m = v.begin(); m != v.end(); ++m) {
        DUO_CHECK(m.value().is_string(), "{}: __metadata__ entry '{}' must be a string; got {}", file,
                  core::printable(m.key()), brief(m.value()));
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    DUO_CHECK(v.is_object(), "{}: tensor '{}': expected an object with dtype, shape, data_offsets; got {}", file,
              name, brief(v));
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
      DUO_CHECK(v.contains(key), "{}: tensor '{}': missing '{}'", file, name, key);
    }
    TensorInfo t;
    t.name = key;
    DUO_CHECK(v["dtype"].is_string(), "{}: tensor '{}': dtype must be a string; got {}", file, name,
              brief(v["dtype"]));
    t.dtype = parse_dtype(core::printable(v["dtype"].get<std::string>()), fmt::format("{}: tensor '{}'", file, name));

    const auto& shape = v["shape"];
    DUO_CHECK(shape.is_array(), "{}: tensor '{}': shape must be a list of non-negative integers; got {}", file,
              name, brief(shape));
    uint64_t numel = 1;
    bool overflow = false;
    for (const auto& d : shape) {
      DUO_CHECK(d.is_number_unsigned() || (d.is_number_integer() && d.get<int64_t>() >= 0),
                "{}: tensor '{}': shape must be a list of non-negative integers; got {}", file, name, brief(shape));
      const uint64_t du = d.get<uint64_t>();
      DUO_CHECK(du <= static_cast<uint64_t>(INT64_MAX), "{}: tensor '{}': shape dimension {} is too large", file,
                name, du);
      t.shape.push_back(static_cast<int64_t>(du));
      overflow = overflow || __builtin_mul_overflow(numel, du, &numel);
    }
    uint64_t nbytes = 0;
    overflow = overflow || __builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(t.dtype)), &nbytes);

    const auto& off = v["data_offsets"];
    DUO_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
              "{}: tensor '{}': data_offsets must be [begin, end] with non-negative integers; got {}", file, name,
              brief(off));
    t.begin = off[0].get<uint64_t>();
    t.end = off[1].get<uint64_t>();
    DUO_CHECK(t.begin <= t.end && t.end <= data_size,
              "{}: tensor '{}': data_offsets [{}, {}] out of range; expected begin <= end <= {} (data section size)",
              file, name, t.begin, t.end, data_size);
    DUO_CHECK(!overflow && t.end - t.begin == nbytes,
              "{}: tensor '{}': data size does not match shape; expected {} bytes ({} {} x {} bytes), got {}", file,
              name, overflow ? std::string("overflowing") : std::to_string(nbytes), shape_string(t.shape),
              dtype_name(t.dtype), dtype_size(t.dtype), t.end - t.begin);
    index_[key] = tensors_.size();
    tensors_.push_back(std::move(t));
  }

  // No two tensors may share bytes (zero-size tensors occupy none).
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : tensors_) {
    if (t.end > t.begin) by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo* a = by_offset[i - 1];
    const TensorInfo* b = by_offset[i];
    DUO_CHECK(b->begin >= a->end,
              "{}: tensors '{}' [{}, {}] and '{}' [{}, {}] overlap; expected disjoint data_offsets", file,
              core::printable(a->name), a->begin, a->end, core::printable(b->name), b->begin, b->end);
  }
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const uint8_t* SafetensorsFile::data(const TensorInfo& t) const {
  // Offsets were bounded at open; this guards against a TensorInfo from another file.
  DUO_CHECK(8 + header_size_ + t.end <= size_, "{}: tensor '{}' lies outside the file", path_.string(), t.name);
  return map_ + 8 + header_size_ + t.begin;
}

}  // namespace duo::io
