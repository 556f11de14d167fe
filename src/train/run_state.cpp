// state.h5 (see run_state.h).
#include "train/run_state.h"

#include <ATen/ATen.h>

#include <utility>

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
  RunStateItems f;
  f.gates = r.read("gates").to(at::kFloat);
  f.adam_m = r.read("adam_m").to(at::kFloat);
  f.adam_v = r.read("adam_v").to(at::kFloat);
  f.step = r.attr_int("", "step");
  f.adam_step = r.attr_int("", "adam_step");
  f.seed = r.attr_int("", "seed");
  f.data_epoch = r.attr_int("", "data_epoch");
  f.data_pos = r.attr_int("", "data_pos");
  f.fingerprint = r.attr_string("", "fingerprint");
  f.history = read_history(r, "history/");
  return run_state_from(path, std::move(f));
}

GateRunState run_state_from(const std::filesystem::path& path, RunStateItems f) {
  const at::Tensor &g = f.gates, &m = f.adam_m, &v = f.adam_v;
  DUO_CHECK(g.defined() && m.defined() && v.defined() && g.dim() == 2 && m.sizes() == g.sizes() &&
                v.sizes() == g.sizes(),
            "{}: gates and AdamW moments must share one [layers, kv_heads] shape; got {}, {}, {}", path.string(),
            g.defined() ? g.sizes() : at::IntArrayRef{}, m.defined() ? m.sizes() : at::IntArrayRef{},
            v.defined() ? v.sizes() : at::IntArrayRef{});
  const std::pair<const char*, const at::Tensor*> arrays[] = {{"gates", &g}, {"adam_m", &m}, {"adam_v", &v}};
  for (const auto& [name, t] : arrays) {
    DUO_CHECK(t->scalar_type() == at::kFloat, "{}: dataset '{}' is {}; expected float32 values", path.string(), name,
              c10::toString(t->scalar_type()));
    const at::Tensor bad = (~at::isfinite(*t)).nonzero();
    DUO_CHECK(bad.size(0) == 0, "{}: dataset '{}' holds {} non-finite values (first at [{}, {}]); expected finite "
              "values (the checkpoint is damaged; resume from an earlier copy or start again)",
              path.string(), name, bad.size(0), bad.size(0) > 0 ? bad[0][0].item<int64_t>() : 0,
              bad.size(0) > 0 ? bad[0][1].item<int64_t>() : 0);
  }
  DUO_CHECK(v.numel() == 0 || v.min().item<float>() >= 0.0f,
            "{}: dataset 'adam_v' holds negative values; expected second moments >= 0 (the checkpoint is damaged)",
            path.string());
  DUO_CHECK(f.step >= 0 && f.adam_step >= 0, "{}: attributes 'step' and 'adam_step' must be >= 0; got {} and {}",
            path.string(), f.step, f.adam_step);
  DUO_CHECK(f.data_epoch >= 0 && f.data_pos >= 0,
            "{}: attributes 'data_epoch' and 'data_pos' must be >= 0; got {} and {}", path.string(), f.data_epoch,
            f.data_pos);
  const History& h = f.history;
  DUO_CHECK(h.steps() == f.step, "{}: history holds {} steps; expected {} (the checkpoint's step)", path.string(),
            h.steps(), f.step);
  const auto steps = static_cast<size_t>(h.steps());
  DUO_CHECK(h.reg_loss.size() == steps && h.lr.size() == steps && h.seq_len.size() == steps,
            "{}: the history's datasets disagree on the number of steps; expected {} everywhere", path.string(), steps);
  DUO_CHECK(steps == 0 || (h.n_layers == g.size(0) && h.n_kv_heads == g.size(1) &&
                           h.gates.size() == steps * static_cast<size_t>(g.numel())),
            "{}: the history's gates are [{}, {}, {}] ({} values); expected [{}, {}, {}] (steps x the gates' shape)",
            path.string(), steps, h.n_layers, h.n_kv_heads, h.gates.size(), steps, g.size(0), g.size(1));
  GateRunState s;
  s.step = f.step;
  s.gates = f.gates;
  s.adam.m[kGatesName] = f.adam_m;
  s.adam.v[kGatesName] = f.adam_v;
  s.adam.steps = f.adam_step;
  s.seed = f.seed;
  s.data_epoch = static_cast<uint64_t>(f.data_epoch);
  s.data_pos = static_cast<uint64_t>(f.data_pos);
  s.fingerprint = std::move(f.fingerprint);
  s.history = std::move(f.history);
  return s;
}

}  // namespace duo::train
