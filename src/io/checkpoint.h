// Hugging Face checkpoints: tensors out of one or more .safetensors files, and the writers.
//
// A checkpoint is a folder with model.safetensors, or a folder with model.safetensors.index.json
// ({"metadata": {...}, "weight_map": {name: shard file}}) and its shards, or a single .safetensors
// file (or the index file itself). Opening validates everything up front: each shard is a valid
// safetensors file (see safetensors.h), every weight_map entry is in the shard it names, no tensor
// is in two shards and none is missing from the map. Tensors come back zero-copy over the mapping
// when aligned: treat them as read-only (the mapping is PROT_READ; writing faults).
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "io/safetensors.h"

namespace duo::io {

at::ScalarType to_scalar_type(DType dtype);
DType from_scalar_type(at::ScalarType type);  // throws for types safetensors here cannot hold

class Checkpoint {
 public:
  static Checkpoint open(const std::filesystem::path& dir_or_file);

  const std::filesystem::path& path() const { return path_; }  // as given to open()
  std::vector<std::string> names() const;                       // sorted
  bool contains(const std::string& name) const;
  // Throws "<path>: tensor 'X' not found".
  const TensorInfo& info(const std::string& name) const;
  std::string file_of(const std::string& name) const;  // shard file name (no folder)
  // The index's "metadata" object as strings (empty for a single file); a single file's
  // __metadata__ is available through files().
  const std::map<std::string, std::string>& index_metadata() const { return index_metadata_; }
  const std::vector<std::shared_ptr<const SafetensorsFile>>& files() const { return files_; }

  // CPU tensor in the file's dtype and shape. Zero-copy (from_blob over the mapping; the tensor
  // keeps the mapping alive) when the data is aligned to the element size, else a copy.
  at::Tensor tensor(const std::string& name) const;
  // Same, after checking the shape: throws
  // "<file>: tensor 'X' has wrong shape; expected [a, b], got [c, d]".
  at::Tensor tensor(const std::string& name, at::IntArrayRef expected_shape) const;

 private:
  struct Entry {
    size_t file = 0;                 // index into files_
    const TensorInfo* info = nullptr;  // owned by files_[file]
  };
  const Entry& entry(const std::string& name) const;

  std::filesystem::path path_;
  std::vector<std::shared_ptr<const SafetensorsFile>> files_;
  std::unordered_map<std::string, Entry> entries_;
  std::map<std::string, std::string> index_metadata_;
};

// Writes a .safetensors file atomically (temp file + rename). Tensors are written contiguous, in
// the given order, with no gaps (as the reference loader requires); the header is padded with
// spaces to a multiple of 8 bytes. Any device and layout is accepted (copied to contiguous CPU).
// Names must be unique and not "__metadata__".
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Writes model-00001-of-0000n.safetensors shards into dir (created if needed) and then
// model.safetensors.index.json ({"metadata": {"total_size": bytes}, "weight_map": {...}}). Shards
// are filled in order; a new shard starts when the next tensor would push the current one past
// max_shard_bytes of tensor data (a larger tensor gets a shard of its own).
void write_sharded_checkpoint(const std::filesystem::path& dir,
                              const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                              uint64_t max_shard_bytes);

}  // namespace duo::io
