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
  return s;
}

}  // namespace duo::train
