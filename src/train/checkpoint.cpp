// state.h5 (see checkpoint.h).
#include "train/checkpoint.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "io/hdf5.h"

namespace duo::train {

void save_train_state(const std::filesystem::path& path, const TrainState& s) {
  io::H5Writer w(path);
  w.write("gates", s.gates.to(at::kFloat).contiguous());
  w.write("adam_m", s.adam.m.to(at::kFloat).contiguous());
  w.write("adam_v", s.adam.v.to(at::kFloat).contiguous());
  w.set_attr("", "step", s.step);
  w.set_attr("", "adam_step", s.adam.step);
  w.set_attr("", "seed", s.seed);
  w.set_attr("", "data_epoch", static_cast<int64_t>(s.data_epoch));
  w.set_attr("", "data_pos", static_cast<int64_t>(s.data_pos));
  w.set_attr("", "fingerprint", s.fingerprint);
  write_history(w, s.history, "history/");
  w.commit();
}

TrainState load_train_state(const std::filesystem::path& path) {
  io::H5Reader r(path);
  TrainState s;
  s.gates = r.read("gates").to(at::kFloat);
  s.adam.m = r.read("adam_m").to(at::kFloat);
  s.adam.v = r.read("adam_v").to(at::kFloat);
  s.step = r.attr_int("", "step");
  s.adam.step = r.attr_int("", "adam_step");
  s.seed = r.attr_int("", "seed");
  s.data_epoch = static_cast<uint64_t>(r.attr_int("", "data_epoch"));
  s.data_pos = static_cast<uint64_t>(r.attr_int("", "data_pos"));
  s.fingerprint = r.attr_string("", "fingerprint");
  s.history = read_history(r, "history/");
  DUO_CHECK(s.gates.dim() == 2 && s.adam.m.sizes() == s.gates.sizes() && s.adam.v.sizes() == s.gates.sizes(),
            "{}: gates and AdamW moments must share one [layers, kv_heads] shape; got {}, {}, {}", path.string(),
            s.gates.sizes(), s.adam.m.sizes(), s.adam.v.sizes());
  DUO_CHECK(s.history.steps() == s.step, "{}: history holds {} steps; expected {} (the checkpoint's step)",
            path.string(), s.history.steps(), s.step);
  return s;
}

}  // namespace duo::train
