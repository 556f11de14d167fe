// Structured fuzz targets for the HDF5 formats: the input decodes (byte_reader.h) into the items a
// dataset file or a training state holds, which go straight to the checks the readers run after
// reading (Dataset::from_arrays, train::run_state_from). Every HDF5 input is first read by a
// forked child (io/hdf5_probe.h), which costs ~50 ms per input here; without the file these
// targets reach the checks of duo's own code at thousands of inputs per second. The byte-level
// targets (fuzz_dataset, fuzz_run_state) still cover the path through the HDF5 library.
#include <ATen/ATen.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "data_gen/dataset_file.h"
#include "fuzz/byte_reader.h"
#include "fuzz/guard.h"
#include "fuzz/targets.h"
#include "train/run_state.h"

namespace duo::fuzz {
namespace {

// Flags of the first bytes, one bit per way an item can be wrong.
bool flag(uint8_t flags, int bit) { return ((flags >> bit) & 1) != 0; }

// A float: small and exact, or raw bits (NaN, inf, subnormals) when `raw`.
float value(ByteReader& in, bool raw) { return raw ? in.raw<float>() : static_cast<float>(in.small()) / 16.0f; }

at::Tensor tensor(ByteReader& in, std::vector<int64_t> shape, bool raw) {
  at::Tensor t = at::empty(shape, at::kFloat);
  float* p = t.data_ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = value(in, raw);
  return t;
}

}  // namespace

Outcome fuzz_dataset_items(const uint8_t* data, size_t size) {
  const char* name = "dataset_items";
  ByteReader in(data, size);
  const int n = in.byte() % 5;
  const uint8_t flags = in.byte();
  data_gen::DatasetArrays a;
  if (!flag(flags, 0)) {  // offsets from sample lengths (0 = an empty sample)
    a.offsets.push_back(0);
    for (int i = 0; i < n; ++i) a.offsets.push_back(a.offsets.back() + in.byte() % 6);
    if (flag(flags, 1)) a.offsets[in.byte() % a.offsets.size()] = in.raw<int64_t>();
  } else {  // raw offsets
    const int count = in.byte() % 6;
    for (int i = 0; i < count; ++i) a.offsets.push_back(in.bit() ? in.raw<int64_t>() : in.small());
  }
  int64_t tokens = a.offsets.empty() ? 0 : a.offsets.back();
  if (tokens < 0 || tokens > 64 || flag(flags, 2)) tokens = in.byte() % 24;
  for (int64_t t = 0; t < tokens; ++t) a.input_ids.push_back(flag(flags, 3) ? in.raw<int32_t>() : in.byte() % 7);
  const int64_t flags_n = flag(flags, 4) ? tokens + in.small() % 2 : tokens;
  for (int64_t t = 0; t < flags_n; ++t) {
    const uint8_t b = in.byte();
    a.label_mask.push_back(b < 200 ? b % 2 : b);  // mostly 0/1, sometimes a bad flag
  }
  const int64_t samples = a.offsets.empty() ? 0 : static_cast<int64_t>(a.offsets.size()) - 1;
  const int64_t answers = flag(flags, 5) ? in.byte() % 6 : samples;
  for (int64_t i = 0; i < answers; ++i) a.answers.push_back(std::string(in.byte() % 4, static_cast<char>('0' + i)));
  if (flag(flags, 6)) {  // the optional per-needle arrays
    a.num_passkeys = in.small() % 4;
    const int64_t per = in.bit() ? samples * a.num_passkeys : in.byte() % 9;
    for (int64_t i = 0; i < per; ++i) a.needle_starts.push_back(in.small());
    if (in.bit()) {
      const int64_t depths = per + in.small() % 2;
      for (int64_t i = 0; i < depths; ++i) a.depths.push_back(value(in, true));
    }
  }
  const std::vector<int32_t> ids = a.input_ids;
  return guarded(name, [&] {
    const auto ds = data_gen::Dataset::from_arrays("fuzz/dataset.h5", std::move(a));
    expect(ds.size() > 0, name, "accepted an empty dataset");
    int64_t total = 0;
    for (int64_t i = 0; i < ds.size(); ++i) {
      const auto s = ds.sample(i);
      const auto len = static_cast<size_t>(ds.length(i));
      expect(len > 0 && s.input_ids.size() == len && s.label_mask.size() == len, name, "sample lengths disagree");
      bool label = false;
      for (size_t k = 0; k < len; ++k) {
        expect(s.input_ids[k] >= 0 && s.label_mask[k] <= 1, name, "accepted a negative id or a flag > 1");
        label |= s.label_mask[k] == 1;
      }
      expect(label, name, "accepted a sample without label tokens");
      total += static_cast<int64_t>(len);
    }
    expect(total == static_cast<int64_t>(ids.size()) && ds.input_ids() == ids, name, "samples do not cover input_ids");
    expect(static_cast<int64_t>(ds.answers().size()) == ds.size(), name, "one answer per sample");
    if (!ds.needle_starts().empty())
      expect(static_cast<int64_t>(ds.needle_starts().size()) == ds.size() * ds.num_passkeys(), name,
             "needle_starts not [n, k]");
    if (!ds.depths().empty())
      expect(static_cast<int64_t>(ds.depths().size()) == ds.size() * ds.num_passkeys(), name, "depths not [n, k]");
  });
}

Outcome fuzz_run_state_items(const uint8_t* data, size_t size) {
  const char* name = "run_state_items";
  ByteReader in(data, size);
  const uint8_t flags = in.byte();
  std::vector<int64_t> shape(in.byte() % 3 + 1);
  for (auto& d : shape) d = in.byte() % 4;
  const bool raw = flag(flags, 0);
  train::RunStateItems f;
  f.gates = tensor(in, shape, raw);
  auto moment_shape = [&] {
    if (!flag(flags, 1) || in.bit()) return shape;
    std::vector<int64_t> s(in.byte() % 3 + 1);
    for (auto& d : s) d = in.byte() % 4;
    return s;
  };
  f.adam_m = tensor(in, moment_shape(), raw);
  f.adam_v = tensor(in, moment_shape(), raw);
  if (flag(flags, 2)) f.adam_v = f.adam_v.abs();  // mostly sound second moments
  f.step = in.small() % 5;
  f.adam_step = flag(flags, 3) ? in.small() : f.step;
  f.seed = in.raw<int64_t>();
  f.data_epoch = in.small();
  f.data_pos = in.small();
  f.fingerprint = std::string(in.byte() % 8, 'f');
  train::History& h = f.history;
  const int64_t steps = flag(flags, 4) ? in.byte() % 5 : std::max<int64_t>(f.step, 0);
  h.n_layers = flag(flags, 5) ? in.byte() % 4 : (shape.size() > 0 ? shape[0] : 0);
  h.n_kv_heads = flag(flags, 5) ? in.byte() % 4 : (shape.size() > 1 ? shape[1] : 0);
  const int64_t off = flag(flags, 6) ? in.small() % 2 : 0;
  for (int64_t i = 0; i < steps; ++i) {
    h.distill_loss.push_back(value(in, raw));
    h.reg_loss.push_back(value(in, raw));
    h.lr.push_back(value(in, raw));
    h.seq_len.push_back(in.small());
  }
  if (off > 0) h.lr.push_back(0.5);
  if (off < 0 && !h.seq_len.empty()) h.seq_len.pop_back();
  const int64_t n_gates = std::max<int64_t>(0, steps * h.n_layers * h.n_kv_heads + (flag(flags, 7) ? in.small() % 2 : 0));
  for (int64_t i = 0; i < n_gates; ++i) h.gates.push_back(value(in, raw));
  return guarded(name, [&] {
    const auto s = train::run_state_from("fuzz/state.h5", std::move(f));
    expect(s.step >= 0 && s.adam.steps >= 0, name, "accepted a negative step");
    expect(s.gates.dim() == 2 && s.gates.scalar_type() == at::kFloat, name, "gates are not [L, Hkv] float32");
    expect(at::isfinite(s.gates).all().item<bool>(), name, "accepted non-finite gates");
    for (const auto* moments : {&s.adam.m, &s.adam.v}) {
      const at::Tensor& t = moments->at(train::kGatesName);
      expect(t.sizes() == s.gates.sizes() && at::isfinite(t).all().item<bool>(), name, "bad AdamW moment");
    }
    const at::Tensor& v = s.adam.v.at(train::kGatesName);
    expect(v.numel() == 0 || v.min().item<float>() >= 0.0f, name, "accepted negative second moments");
    const auto& hist = s.history;
    const auto n = static_cast<size_t>(s.step);
    expect(hist.steps() == s.step && hist.reg_loss.size() == n && hist.lr.size() == n && hist.seq_len.size() == n,
           name, "history lengths disagree with the step");
    expect(n == 0 || hist.gates.size() == n * static_cast<size_t>(s.gates.numel()), name,
           "history gates are not [steps, L, Hkv]");
  });
}

}  // namespace duo::fuzz
