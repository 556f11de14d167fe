// state.h5 (see run_state.h).
#include "train/run_state.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "io/hdf5.h"

namespace duo::train {

void save_run_state(const std::filesystem::path& path, const GateRunState& s) {
  io::H5Writer w(path);
  w.write("gates", s.gates.to(at::kFloat).contiguous());
  w.write("adam_m", s.adam.m.at(kGatesName).to(at::kFloat).contiguous());
  w.write("adam_v", s.adam.v.at(kGatesName).to(at::kFloat).contiguous());
  w.set_attr("", "step", s.step);
  w.set_attr("", "adam_step", s.adam.steps);
  w.set_attr("", "seed", s.seed);
  w.set_attr("", "data_epoch", static_cast<int64_t>(s.data_epoch));
  w.set_attr("", "data_pos", static_cast<int64_t>(s.data_pos));
  w.set_attr("", "fingerprint", s.fingerprint);
  write_history(w, s.history, "history/");
  w.commit();
}

GateRunState load_run_state(const std::filesystem::path& path) {
  io::H5Reader r(path);
  GateRunState s;
  s.gates = r.read("gates").to(at::kFloat);
  const at::Tensor m = r.read("adam_m").to(at::kFloat);
  const at::Tensor v = r.read("adam_v").to(at::kFloat);
  s.adam.m[kGatesName] = m;
  s.adam.v[kGatesName] = v;
  s.step = r.attr_int("", "step");
  s.adam.steps = r.attr_int("", "adam_step");
  s.seed = r.attr_int("", "seed");
  s.data_epoch = static_cast<uint64_t>(r.attr_int("", "data_epoch"));
  s.data_pos = static_cast<uint64_t>(r.attr_int("", "data_pos"));
  s.fingerprint = r.attr_string("", "fingerprint");
  s.history = read_history(r, "history/");
  DUO_CHECK(s.gates.dim() == 2 && m.sizes() == s.gates.sizes() && v.sizes() == s.gates.sizes(),
            "{}: gates and AdamW moments must share one [layers, kv_heads] shape; got {}, {}, {}", path.string(),
            s.gates.sizes(), m.sizes(), v.sizes());
  DUO_CHECK(s.history.steps() == s.step, "{}: history holds {} steps; expected {} (the checkpoint's step)",
            path.string(), s.history.steps(), s.step);
  // A checkpoint is resumed only when it is sound: a NaN here would otherwise surface steps
  // later as a "non-finite loss", blaming the data and calling this file the last good one.
  const std::pair<const char*, const at::Tensor*> arrays[] = {{"gates", &s.gates}, {"adam_m", &m}, {"adam_v", &v}};
  for (const auto& [name, t] : arrays) {
    const at::Tensor bad = (~at::isfinite(*t)).nonzero();
    DUO_CHECK(bad.size(0) == 0, "{}: dataset '{}' holds {} non-finite values (first at [{}, {}]); expected finite "
              "values (the checkpoint is damaged; resume from an earlier copy or start again)",
              path.string(), name, bad.size(0), bad.size(0) > 0 ? bad[0][0].item<int64_t>() : 0,
              bad.size(0) > 0 ? bad[0][1].item<int64_t>() : 0);
  }
  DUO_CHECK(v.numel() == 0 || v.min().item<float>() >= 0.0f,
            "{}: dataset 'adam_v' holds negative values; expected second moments >= 0 (the checkpoint is damaged)",
            path.string());
  DUO_CHECK(s.step >= 0 && s.adam.steps >= 0, "{}: attributes 'step' and 'adam_step' must be >= 0; got {} and {}",
            path.string(), s.step, s.adam.steps);
  DUO_CHECK(r.attr_int("", "data_epoch") >= 0 && r.attr_int("", "data_pos") >= 0,
            "{}: attributes 'data_epoch' and 'data_pos' must be >= 0; got {} and {}", path.string(),
            r.attr_int("", "data_epoch"), r.attr_int("", "data_pos"));
  return s;
}

}  // namespace duo::train
