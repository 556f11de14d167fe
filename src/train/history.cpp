// history.h5 reading and writing (see history.h).
#include "train/history.h"

#include "core/error.h"
#include "io/hdf5.h"

namespace duo::train {

void History::truncate(int64_t n) {
  distill_loss.resize(n);
  reg_loss.resize(n);
  lr.resize(n);
  seq_len.resize(n);
  gates.resize(n * n_layers * n_kv_heads);
}

void write_history(io::H5Writer& w, const History& h, const std::string& prefix) {
  const int64_t n = h.steps();
  w.write(prefix + "distill_loss", h.distill_loss, {n});
  w.write(prefix + "reg_loss", h.reg_loss, {n});
  w.write(prefix + "lr", h.lr, {n});
  w.write(prefix + "seq_len", h.seq_len, {n});
  w.write(prefix + "gates", h.gates, {n, h.n_layers, h.n_kv_heads});
}

History read_history(const io::H5Reader& r, const std::string& prefix) {
  History h;
  auto shape = r.shape(prefix + "gates");
  DUO_CHECK(shape.size() == 3, "history: dataset '{}gates' must be [steps, layers, kv_heads]; got {} dims", prefix,
            shape.size());
  h.n_layers = shape[1];
  h.n_kv_heads = shape[2];
  h.distill_loss = r.read_vector<double>(prefix + "distill_loss");
  h.reg_loss = r.read_vector<double>(prefix + "reg_loss");
  h.lr = r.read_vector<double>(prefix + "lr");
  h.seq_len = r.read_vector<int64_t>(prefix + "seq_len");
  h.gates = r.read_vector<float>(prefix + "gates");
  const auto n = static_cast<size_t>(shape[0]);
  DUO_CHECK(h.distill_loss.size() == n && h.reg_loss.size() == n && h.lr.size() == n && h.seq_len.size() == n,
            "history: datasets disagree on the number of steps; expected {} everywhere", n);
  return h;
}

void save_history(const std::filesystem::path& path, const History& h) {
  io::H5Writer w(path);
  write_history(w, h);
  w.set_attr("", "steps", h.steps());
  w.commit();
}

}  // namespace duo::train
