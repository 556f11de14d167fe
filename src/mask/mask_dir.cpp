// Gate sources and mask folders (see mask_dir.h).
#include "mask/mask_dir.h"

#include <cmath>
#include <utility>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_checks.h"
#include "core/printable.h"
#include "io/json.h"
#include "mask/kv_budget.h"

namespace duo::mask {
namespace fs = std::filesystem;
namespace {

int64_t get_int(const nlohmann::json& j, const char* key, const fs::path& path) {
  DUO_CHECK(j.contains(key), "{}: key '{}' is missing; expected an integer", path.string(), key);
  DUO_CHECK(j[key].is_number_integer() && j[key].get<int64_t>() >= 0,
            "{}: key '{}' expects a non-negative integer; got {}", path.string(), key, j[key].dump());
  return j[key].get<int64_t>();
}

// config.json describes the TSV beside it; a folder where the two disagree was edited by hand or
// mixed from two exports, and decoding with it would report the wrong sparsity. Keys absent from
// config.json (older or official folders) are not compared.
void check_config_matches(const nlohmann::json& cfg, const GateTable& mask, const fs::path& cfg_path,
                          const fs::path& tsv) {
  int64_t n_full = 0;
  for (double v : mask.values) n_full += v != 0.0;
  const std::pair<const char*, int64_t> counts[] = {{"num_layers", mask.n_layers},
                                                    {"num_kv_heads", mask.n_kv_heads},
                                                    {"num_full_heads", n_full},
                                                    {"num_streaming_heads", mask.size() - n_full}};
  for (const auto& [key, actual] : counts) {
    if (!cfg.contains(key)) continue;
    const int64_t stated = get_int(cfg, key, cfg_path);
    DUO_CHECK(stated == actual, "{}: key '{}' is {} but {} has {}; expected them to agree (was one file replaced?)",
              cfg_path.string(), key, stated, tsv.string(), actual);
  }
  if (cfg.contains("actual_sparsity") && !cfg["actual_sparsity"].is_null()) {
    const auto& v = cfg["actual_sparsity"];
    DUO_CHECK(v.is_number(), "{}: key 'actual_sparsity' expects a number; got {}", cfg_path.string(),
              core::printable(v.dump()));
    const double actual = mask.size() > 0 ? static_cast<double>(mask.size() - n_full) / mask.size() : 0.0;
    DUO_CHECK(std::abs(v.get<double>() - actual) <= 1e-6,
              "{}: key 'actual_sparsity' is {} but {} has {} of {} heads streaming ({}); expected them to agree",
              cfg_path.string(), v.get<double>(), tsv.string(), mask.size() - n_full, mask.size(), actual);
  }
  if (cfg.contains("sparsity") && !cfg["sparsity"].is_null()) {
    const auto& v = cfg["sparsity"];
    DUO_CHECK(v.is_number() && v.get<double>() >= 0.0 && v.get<double>() <= 1.0,
              "{}: key 'sparsity' expects a fraction in [0, 1] or null; got {}", cfg_path.string(),
              core::printable(v.dump()));
  }
}

}  // namespace

GateSource load_gates(const fs::path& path) {
  GateSource src;
  DUO_CHECK(fs::exists(path), "{}: no such file or folder; expected a run folder or a {}", path.string(), kHeadsFile);
  fs::path dir = path;
  if (fs::is_directory(path)) {
    src.tsv_path = path / kHeadsFile;
    DUO_CHECK(fs::exists(src.tsv_path), "{}: no {} in this folder; expected a gate run or pattern folder",
              path.string(), kHeadsFile);
  } else {
    src.tsv_path = path;
    dir = path.parent_path();
  }
  src.gates = read_gate_tsv(src.tsv_path);
  if (!dir.empty() && fs::exists(dir / kConfigFile)) src.config = io::read_json(dir / kConfigFile);
  return src;
}

MaskDir load_mask_dir(const fs::path& dir) {
  MaskDir m;
  const fs::path tsv = dir / kHeadsFile;
  const fs::path cfg = dir / kConfigFile;
  DUO_CHECK(fs::is_directory(dir), "{}: expected a mask folder (written by duo export); not a folder", dir.string());
  m.mask = read_gate_tsv(tsv);
  DUO_CHECK(m.mask.is_binary(),
            "{}: expected a binary mask (0 = streaming, 1 = full); got raw gate values (run `duo export --gates {} "
            "--sparsity S --out DIR` first)",
            tsv.string(), dir.string());
  m.config = io::read_json(cfg);
  DUO_CHECK(m.config.is_object(), "{}: expected a JSON object; got {}", cfg.string(), m.config.type_name());
  check_config_matches(m.config, m.mask, cfg, tsv);
  m.window = StreamWindow::make(get_int(m.config, "sink_size", cfg), get_int(m.config, "recent_size", cfg),
                                cfg.string() + " (sink_size, recent_size)");
  return m;
}

nlohmann::json export_mask(const fs::path& dir, const Binarized& b, const ExportInfo& info) {
  nlohmann::json cfg;
  cfg["sink_size"] = info.window.sink;
  cfg["recent_size"] = info.window.recent;
  cfg["num_layers"] = b.mask.n_layers;
  cfg["num_kv_heads"] = b.mask.n_kv_heads;
  if (b.requested_sparsity >= 0) {
    cfg["sparsity"] = b.requested_sparsity;
  } else {
    cfg["sparsity"] = nullptr;
  }
  cfg["threshold"] = b.threshold;
  cfg["actual_sparsity"] = b.actual_sparsity;
  int64_t n_full = 0;
  for (double v : b.mask.values) n_full += v != 0.0;
  cfg["num_full_heads"] = n_full;
  cfg["num_streaming_heads"] = b.mask.size() - n_full;
  nlohmann::json ratios;
  for (int64_t t : {4096, 32768, 131072}) ratios[std::to_string(t)] = kv_cache_ratio(b.mask, t, info.window);
  cfg["kv_cache_ratio"] = ratios;
  cfg["source"] = info.source;
  if (!info.source_config.is_null()) cfg["source_config"] = info.source_config;
  core::check_output_folder(dir);
  fs::create_directories(dir);
  write_gate_tsv(dir / kHeadsFile, b.mask);
  core::write_file_atomic(dir / kConfigFile, cfg.dump(2) + "\n");
  return cfg;
}

}  // namespace duo::mask
