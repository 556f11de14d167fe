// Fuzz targets for the binary formats, each handed to its reader as a file in the scratch folder:
// a .safetensors file, a sharded checkpoint's index.json, the passkey dataset (HDF5) and a gate
// run's checkpoint/state.h5 (HDF5).
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "data_gen/dataset_file.h"
#include "fuzz/guard.h"
#include "fuzz/scratch.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "train/run_state.h"

namespace duo::fuzz {
namespace fs = std::filesystem;

namespace {

// Reads every byte of every tensor (a read outside the mapping faults) and checks the documented
// invariants of an accepted file.
void check_safetensors(const io::SafetensorsFile& f, const char* name) {
  const uint8_t* begin = f.mapping_begin();
  const uint8_t* end = begin + f.mapping_size();
  const uint64_t data_size = f.mapping_size() - 8 - f.header_size();
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  unsigned sum = 0;
  for (const auto& t : f.tensors()) {
    expect(t.begin <= t.end && t.end <= data_size, name, "tensor '" + t.name + "' lies outside the data section");
    expect(t.end - t.begin == static_cast<uint64_t>(t.numel()) * io::dtype_size(t.dtype), name,
           "tensor '" + t.name + "' byte size != numel * itemsize");
    expect(f.find(t.name) == &t, name, "find('" + t.name + "') does not return the tensor");
    const uint8_t* p = f.data(t);
    expect(p >= begin + 8 + f.header_size() && p + (t.end - t.begin) <= end, name,
           "data('" + t.name + "') points outside the mapping");
    for (uint64_t i = 0; i < t.end - t.begin; ++i) sum += p[i];
    if (t.end > t.begin) spans.emplace_back(t.begin, t.end);
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) expect(spans[i - 1].second <= spans[i].first, name, "tensors overlap");
  (void)sum;
}

// Turns every tensor of an opened checkpoint into an at::Tensor and checks its size.
void check_checkpoint(const io::Checkpoint& ckpt, const char* name) {
  for (const auto& n : ckpt.names()) {
    expect(ckpt.contains(n), name, "names() lists '" + n + "' but contains() denies it");
    const auto& info = ckpt.info(n);
    const at::Tensor t = ckpt.tensor(n);
    expect(t.numel() == info.numel() && t.dim() == static_cast<int64_t>(info.shape.size()), name,
           "tensor('" + n + "') has the wrong size");
    if (t.numel() > 0) (void)t.flatten()[t.numel() - 1].item<double>();  // touch the last element
  }
}

// The fixed shards the index target's index.json points at (written once per process).
const fs::path& index_dir() {
  static const fs::path dir = [] {
    fs::path d = scratch_dir() / "sharded";
    fs::create_directories(d);
    io::write_safetensors(d / "model-00001-of-00002.safetensors",
                          {{"model.embed_tokens.weight", at::arange(6, at::kFloat).reshape({2, 3})},
                           {"model.norm.weight", at::ones({4}, at::kBFloat16)}});
    io::write_safetensors(d / "model-00002-of-00002.safetensors", {{"lm_head.weight", at::arange(3, at::kLong)}});
    return d;
  }();
  return dir;
}

}  // namespace

Outcome fuzz_safetensors(const uint8_t* data, size_t size) {
  const char* name = "safetensors";
  const fs::path path = write_scratch("model.safetensors", data, size);
  return guarded(name, [&] {
    auto f = io::SafetensorsFile::open(path);
    check_safetensors(*f, name);
    check_checkpoint(io::Checkpoint::open(path), name);
  });
}

Outcome fuzz_checkpoint_index(const uint8_t* data, size_t size) {
  const char* name = "checkpoint_index";
  const fs::path dir = index_dir();
  write_scratch("sharded/model.safetensors.index.json", data, size);
  return guarded(name, [&] { check_checkpoint(io::Checkpoint::open(dir), name); });
}

Outcome fuzz_dataset(const uint8_t* data, size_t size) {
  const char* name = "dataset";
  const fs::path path = write_scratch("dataset.h5", data, size);
  return guarded(name, [&] {
    const auto ds = data_gen::Dataset::open(path);
    expect(ds.size() > 0, name, "accepted an empty dataset");
    int64_t total = 0;
    for (int64_t i = 0; i < ds.size(); ++i) {
      const auto s = ds.sample(i);
      const auto n = static_cast<size_t>(ds.length(i));
      expect(n > 0 && s.input_ids.size() == n && s.label_mask.size() == n, name,
             "sample " + std::to_string(i) + " has inconsistent lengths");
      for (size_t k = 0; k < n; ++k) expect(s.input_ids[k] >= 0 && s.label_mask[k] <= 1, name, "bad id or flag");
      total += static_cast<int64_t>(n);
    }
    expect(total == static_cast<int64_t>(ds.input_ids().size()), name, "samples do not cover input_ids");
    ds.check_token_ids(512);  // the seed's tokenizer has 512 ids; larger ids are a clean rejection
  });
}

Outcome fuzz_run_state(const uint8_t* data, size_t size) {
  const char* name = "run_state";
  const fs::path path = write_scratch("state.h5", data, size);
  return guarded(name, [&] {
    const auto s = train::load_run_state(path);
    expect(s.step >= 0, name, "negative step");
    expect(s.gates.defined() && s.gates.dim() == 2 && s.gates.scalar_type() == at::kFloat, name,
           "gates are not a [L, Hkv] float tensor");
    expect(at::isfinite(s.gates).all().item<bool>(), name, "accepted non-finite gates");
    for (const auto* moments : {&s.adam.m, &s.adam.v}) {
      for (const auto& [key, t] : *moments) {
        expect(t.sizes() == s.gates.sizes(), name, "AdamW moment '" + key + "' has a shape other than the gates'");
      }
    }
    expect(s.history.steps() <= s.step, name, "history is longer than the steps taken");
  });
}

const std::vector<Target>& all_targets() {
  static const std::vector<Target> targets = {
      {"safetensors", fuzz_safetensors}, {"checkpoint_index", fuzz_checkpoint_index},
      {"model_config", fuzz_model_config}, {"tokenizer", fuzz_tokenizer},
      {"gate_tsv", fuzz_gate_tsv},         {"yaml_options", fuzz_yaml_options},
      {"dataset", fuzz_dataset},           {"run_state", fuzz_run_state},
      {"dataset_items", fuzz_dataset_items}, {"run_state_items", fuzz_run_state_items},
  };
  return targets;
}

}  // namespace duo::fuzz
