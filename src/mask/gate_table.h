// A table of one value per (layer, KV head): trained gates or a binary head mask.
//
// File format (official DuoAttention `full_attention_heads.tsv`): one row per layer, one
// tab-separated column per KV head, numbers in any strtod form. Gates are written with 18
// digits after the point (numpy savetxt's default, and exact for doubles); masks as 0 and 1.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace duo::mask {

struct GateTable {
  int64_t n_layers = 0;          // rows
  int64_t n_kv_heads = 0;        // columns
  std::vector<double> values;    // [n_layers * n_kv_heads], row-major

  double at(int64_t layer, int64_t head) const { return values[layer * n_kv_heads + head]; }
  double& at(int64_t layer, int64_t head) { return values[layer * n_kv_heads + head]; }
  int64_t size() const { return n_layers * n_kv_heads; }
  // True when every value is exactly 0 or 1.
  bool is_binary() const;
  // "[32, 8]" (layers, kv heads), for messages.
  std::string shape_string() const;
};

// Parses a TSV; every error names the file, the line and the column. NaN/Inf are rejected.
GateTable parse_gate_tsv(const std::string& text, const std::string& source);
GateTable read_gate_tsv(const std::filesystem::path& path);
// Writes atomically; binary tables as "0"/"1", others as %.18e.
void write_gate_tsv(const std::filesystem::path& path, const GateTable& table);
std::string format_gate_tsv(const GateTable& table);

// Clamps every value to [0, 1] (official patterns hold tiny negative values).
GateTable clip01(GateTable table);

// Throws "<source>: mask has shape [a, b] (layers, kv heads) but the model has [c, d]".
void check_shape(const GateTable& table, int64_t n_layers, int64_t n_kv_heads, const std::string& source);

}  // namespace duo::mask
