// Reading and writing full_attention_heads.tsv (see gate_table.h).
#include "mask/gate_table.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/printable.h"

namespace duo::mask {

bool GateTable::is_binary() const {
  for (double v : values)
    if (v != 0.0 && v != 1.0) return false;
  return true;
}

std::string GateTable::shape_string() const { return fmt::format("[{}, {}]", n_layers, n_kv_heads); }

GateTable parse_gate_tsv(const std::string& text, const std::string& source) {
  GateTable t;
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) {
      // Blank lines are allowed only at the end of the file.
      DUO_CHECK(text.find_first_not_of(" \t\r\n", pos > text.size() ? text.size() : pos) == std::string::npos,
                "{}: line {} is empty; expected {} tab-separated values", source, line_no, t.n_kv_heads);
      break;
    }
    int64_t cols = 0;
    size_t field_begin = 0;
    while (true) {
      size_t tab = line.find('\t', field_begin);
      std::string field = line.substr(field_begin, tab == std::string::npos ? std::string::npos : tab - field_begin);
      ++cols;
      const char* begin = field.c_str();
      while (*begin == ' ') ++begin;
      char* end = nullptr;
      errno = 0;
      double v = std::strtod(begin, &end);
      while (end && *end == ' ') ++end;
      DUO_CHECK(end != begin && *end == '\0', "{}: line {}, column {}: expected a number; got '{}'", source, line_no,
                cols, core::printable(field));
      DUO_CHECK(std::isfinite(v), "{}: line {}, column {}: expected a finite number; got '{}'", source, line_no, cols,
                core::printable(field));
      t.values.push_back(v);
      if (tab == std::string::npos) break;
      field_begin = tab + 1;
    }
    if (t.n_layers == 0) {
      t.n_kv_heads = cols;
    } else {
      DUO_CHECK(cols == t.n_kv_heads, "{}: line {} has {} columns; expected {} (as on line 1)", source, line_no, cols,
                t.n_kv_heads);
    }
    ++t.n_layers;
  }
  DUO_CHECK(t.n_layers > 0, "{}: no rows; expected one row per layer, one tab-separated column per KV head", source);
  return t;
}

GateTable read_gate_tsv(const std::filesystem::path& path) {
  return parse_gate_tsv(core::read_file(path), path.string());
}

std::string format_gate_tsv(const GateTable& table) {
  const bool binary = table.is_binary();
  std::string out;
  for (int64_t l = 0; l < table.n_layers; ++l) {
    for (int64_t h = 0; h < table.n_kv_heads; ++h) {
      if (h) out += '\t';
      double v = table.at(l, h);
      out += binary ? (v == 1.0 ? "1" : "0") : fmt::format("{:.18e}", v);
    }
    out += '\n';
  }
  return out;
}

void write_gate_tsv(const std::filesystem::path& path, const GateTable& table) {
  core::write_file_atomic(path, format_gate_tsv(table));
}

GateTable clip01(GateTable table) {
  for (double& v : table.values) v = std::min(1.0, std::max(0.0, v));
  return table;
}

void check_shape(const GateTable& table, int64_t n_layers, int64_t n_kv_heads, const std::string& source) {
  DUO_CHECK(table.n_layers == n_layers && table.n_kv_heads == n_kv_heads,
            "{}: mask has shape {} (layers, kv heads) but the model has [{}, {}]", source, table.shape_string(),
            n_layers, n_kv_heads);
}

}  // namespace duo::mask
