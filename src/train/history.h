// Per-step training history, written as history.h5 (datasets distill_loss, reg_loss, lr,
// seq_len [steps] and gates [steps, layers, kv_heads]) and kept in the checkpoint so a resumed
// run writes the same file as an uninterrupted one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace duo::io {
class H5Writer;
class H5Reader;
}  // namespace duo::io

namespace duo::train {

struct History {
  int64_t n_layers = 0;
  int64_t n_kv_heads = 0;
  std::vector<double> distill_loss;  // [steps]
  std::vector<double> reg_loss;      // [steps]
  std::vector<double> lr;            // [steps]
  std::vector<int64_t> seq_len;      // [steps]
  std::vector<float> gates;          // [steps * layers * kv_heads], gates after each step

  int64_t steps() const { return static_cast<int64_t>(distill_loss.size()); }
  // Keeps the first n steps (used when resuming from a checkpoint).
  void truncate(int64_t n);
};

// Writes the datasets into an open writer under `prefix` ("" or "history/").
void write_history(io::H5Writer& w, const History& h, const std::string& prefix = "");
History read_history(const io::H5Reader& r, const std::string& prefix = "");
// history.h5, atomically.
void save_history(const std::filesystem::path& path, const History& h);

}  // namespace duo::train
