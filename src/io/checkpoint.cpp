// Hugging Face checkpoints (see checkpoint.h): open + validate, tensors, writers.
#include "io/checkpoint.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/json.h"

namespace duo::io {
namespace fs = std::filesystem;
namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

std::string metadata_value(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// Bytes of a contiguous CPU tensor ready to write.
struct Prepared {
  std::string name;
  at::Tensor t;  // contiguous, CPU
  DType dtype;
  uint64_t nbytes;
};

std::vector<Prepared> prepare(const fs::path& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  std::vector<Prepared> out;
  std::set<std::string> seen;
  for (const auto& [name, tensor] : tensors) {
    DUO_CHECK(tensor.defined(), "{}: tensor '{}' is undefined", path.string(), name);
    DUO_CHECK(name != "__metadata__", "{}: '__metadata__' cannot be a tensor name", path.string());
    DUO_CHECK(seen.insert(name).second, "{}: tensor '{}' given twice", path.string(), name);
    DType dtype;
    try {
      dtype = from_scalar_type(tensor.scalar_type());
    } catch (const Error& e) {
      fail("{}: tensor '{}': {}", path.string(), name, e.what());
    }
    at::Tensor t = tensor.detach().cpu().contiguous();
    out.push_back({name, t, dtype, static_cast<uint64_t>(t.numel()) * dtype_size(dtype)});
  }
  return out;
}

void write_prepared(const fs::path& path, const std::vector<Prepared>& tensors,
                    const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& p : tensors) {
    header[p.name] = {{"dtype", dtype_name(p.dtype)},
                      {"shape", std::vector<int64_t>(p.t.sizes().begin(), p.t.sizes().end())},
                      {"data_offsets", {offset, offset + p.nbytes}}};
    offset += p.nbytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data section starts 8-byte aligned
  char len[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xff);

  core::AtomicFile out(path);
  std::ofstream& s = out.stream();
  s.write(len, 8);
  s.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& p : tensors) {
    if (p.nbytes > 0) s.write(static_cast<const char*>(p.t.data_ptr()), static_cast<std::streamsize>(p.nbytes));
  }
  out.commit();
}

}  // namespace

at::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::kF64: return at::kDouble;
    case DType::kF32: return at::kFloat;
    case DType::kF16: return at::kHalf;
    case DType::kBF16: return at::kBFloat16;
    case DType::kI64: return at::kLong;
    case DType::kI32: return at::kInt;
    case DType::kI16: return at::kShort;
    case DType::kI8: return at::kChar;
    case DType::kU8: return at::kByte;
    case DType::kBool: return at::kBool;
  }
  fail("unknown DType {}", static_cast<int>(dtype));
}

DType from_scalar_type(at::ScalarType type) {
  switch (type) {
    case at::kDouble: return DType::kF64;
    case at::kFloat: return DType::kF32;
    case at::kHalf: return DType::kF16;
    case at::kBFloat16: return DType::kBF16;
    case at::kLong: return DType::kI64;
    case at::kInt: return DType::kI32;
    case at::kShort: return DType::kI16;
    case at::kChar: return DType::kI8;
    case at::kByte: return DType::kU8;
    case at::kBool: return DType::kBool;
    default: break;
  }
  fail("unsupported tensor dtype {}; expected one of float64, float32, float16, bfloat16, int64, int32, int16, "
       "int8, uint8, bool",
       c10::toString(type));
}

Checkpoint Checkpoint::open(const fs::path& dir_or_file) {
  Checkpoint c;
  c.path_ = dir_or_file;
  const std::string where = dir_or_file.string();
  std::error_code ec;
  fs::path index_path;
  fs::path single_path;
  if (fs::is_directory(dir_or_file, ec)) {
    if (fs::is_regular_file(dir_or_file / kSingleFile, ec)) {
      single_path = dir_or_file / kSingleFile;
    } else if (fs::is_regular_file(dir_or_file / kIndexFile, ec)) {
      index_path = dir_or_file / kIndexFile;
    } else {
      fail("{}: no checkpoint here; expected {} or {}", where, kSingleFile, kIndexFile);
    }
  } else {
    DUO_CHECK(fs::exists(dir_or_file, ec), "{}: no such file or folder", where);
    if (dir_or_file.extension() == ".json") {
      index_path = dir_or_file;
    } else {
      single_path = dir_or_file;
    }
  }

  if (!single_path.empty()) {
    c.files_.push_back(SafetensorsFile::open(single_path));
    for (const auto& t : c.files_[0]->tensors()) c.entries_[t.name] = Entry{0, &t};
    return c;
  }

  // Sharded: validate the index against the shards.
  const std::string index = index_path.string();
  nlohmann::json j = read_json(index_path);
  DUO_CHECK(j.is_object(), "{}: expected a JSON object; got {}", index, j.type_name());
  DUO_CHECK(j.contains("weight_map") && j["weight_map"].is_object(),
            "{}: expected a 'weight_map' object (tensor name -> shard file)", index);
  if (j.contains("metadata")) {
    DUO_CHECK(j["metadata"].is_object(), "{}: 'metadata' must be an object; got {}", index,
              j["metadata"].type_name());
    for (auto it = j["metadata"].begin(); it != j["metadata"].end(); ++it) {
      c.index_metadata_[it.key()] = metadata_value(it.value());
    }
  }
  const auto& map = j["weight_map"];
  DUO_CHECK(!map.empty(), "{}: weight_map is empty", index);
  std::map<std::string, std::string> weight_map;  // tensor -> shard
  std::map<std::string, size_t> shard_index;      // shard -> position in files_
  for (auto it = map.begin(); it != map.end(); ++it) {
    DUO_CHECK(it.value().is_string(), "{}: weight_map entry '{}' must name a shard file; got {}", index, it.key(),
              it.value().dump());
    const std::string shard = it.value().get<std::string>();
    DUO_CHECK(!shard.empty() && fs::path(shard).filename().string() == shard && shard != "..",
              "{}: weight_map entry '{}' names shard '{}'; expected a plain file name in the same folder", index,
              it.key(), shard);
    weight_map[it.key()] = shard;
    shard_index.emplace(shard, 0);
  }
  const fs::path folder = index_path.parent_path();
  for (auto& [shard, pos] : shard_index) {
    const fs::path p = folder / shard;
    if (!fs::exists(p, ec)) {
      const std::string& missing = shard;  // C++17 lambdas cannot capture structured bindings
      const auto first = std::find_if(weight_map.begin(), weight_map.end(),
                                      [&](const auto& kv) { return kv.second == missing; });
      fail("{}: shard file '{}' (holding tensor '{}') does not exist", index, p.string(), first->first);
    }
    pos = c.files_.size();
    c.files_.push_back(SafetensorsFile::open(p));
  }
  for (const auto& [name, shard] : weight_map) {
    const size_t pos = shard_index.at(shard);
    const TensorInfo* t = c.files_[pos]->find(name);
    DUO_CHECK(t != nullptr, "{}: weight_map puts tensor '{}' in '{}', but that shard has no such tensor", index, name,
              shard);
    c.entries_[name] = Entry{pos, t};
  }
  for (const auto& [shard, pos] : shard_index) {
    for (const auto& t : c.files_[pos]->tensors()) {
      auto it = weight_map.find(t.name);
      DUO_CHECK(it != weight_map.end(), "{}: tensor '{}' in shard '{}' is missing from weight_map", index, t.name,
                shard);
      DUO_CHECK(it->second == shard, "{}: tensor '{}' appears in two shards: '{}' and '{}' (weight_map says '{}')",
                index, t.name, it->second, shard, it->second);
    }
  }
  return c;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& kv : entries_) out.push_back(kv.first);
  std::sort(out.begin(), out.end());
  return out;
}

bool Checkpoint::contains(const std::string& name) const { return entries_.count(name) > 0; }

const Checkpoint::Entry& Checkpoint::entry(const std::string& name) const {
  auto it = entries_.find(name);
  DUO_CHECK(it != entries_.end(), "{}: tensor '{}' not found", path_.string(), name);
  return it->second;
}

const TensorInfo& Checkpoint::info(const std::string& name) const { return *entry(name).info; }

std::string Checkpoint::file_of(const std::string& name) const {
  return files_[entry(name).file]->path().filename().string();
}

at::Tensor Checkpoint::tensor(const std::string& name) const {
  const Entry& e = entry(name);
  const std::shared_ptr<const SafetensorsFile>& file = files_[e.file];
  const TensorInfo& t = *e.info;
  const auto options = at::TensorOptions().dtype(to_scalar_type(t.dtype)).device(at::kCPU);
  if (t.numel() == 0) return at::empty(t.shape, options);
  const uint8_t* p = file->data(t);
  if (t.dtype == DType::kBool) {
    // A torch bool byte other than 0 or 1 is undefined behaviour downstream: reject it here.
    const uint8_t* bad = std::find_if(p, p + (t.end - t.begin), [](uint8_t b) { return b > 1; });
    DUO_CHECK(bad == p + (t.end - t.begin), "{}: tensor '{}' (BOOL) holds byte {} at element {}; expected 0 or 1",
              file->path().string(), name, static_cast<int>(*bad), bad - p);
  }
  if (reinterpret_cast<uintptr_t>(p) % dtype_size(t.dtype) == 0) {
    std::shared_ptr<const SafetensorsFile> keep = file;  // the tensor keeps the mapping alive
    return at::from_blob(const_cast<uint8_t*>(p), t.shape, [keep](void*) mutable { keep.reset(); }, options);
  }
  at::Tensor out = at::empty(t.shape, options);
  std::memcpy(out.data_ptr(), p, t.end - t.begin);
  return out;
}

at::Tensor Checkpoint::tensor(const std::string& name, at::IntArrayRef expected_shape) const {
  const Entry& e = entry(name);
  const TensorInfo& t = *e.info;
  DUO_CHECK(at::IntArrayRef(t.shape) == expected_shape, "{}: tensor '{}' has wrong shape; expected {}, got {}",
            files_[e.file]->path().string(), name, shape_string(expected_shape.vec()), shape_string(t.shape));
  return tensor(name);
}

void write_safetensors(const fs::path& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_prepared(path, prepare(path, tensors), metadata);
}

void write_sharded_checkpoint(const fs::path& dir, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                              uint64_t max_shard_bytes) {
  DUO_CHECK(!tensors.empty(), "{}: no tensors to write", dir.string());
  std::vector<Prepared> all = prepare(dir, tensors);
  std::vector<std::vector<Prepared>> shards(1);
  uint64_t current = 0, total = 0;
  for (auto& p : all) {
    if (!shards.back().empty() && current + p.nbytes > max_shard_bytes) {
      shards.emplace_back();
      current = 0;
    }
    current += p.nbytes;
    total += p.nbytes;
    shards.back().push_back(std::move(p));
  }
  nlohmann::json weight_map = nlohmann::json::object();
  const size_t n = shards.size();
  for (size_t i = 0; i < n; ++i) {
    const std::string file = fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, n);
    write_prepared(dir / file, shards[i], {{"format", "pt"}});
    for (const auto& p : shards[i]) weight_map[p.name] = file;
  }
  nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  write_json(dir / kIndexFile, index);
}

}  // namespace duo::io
