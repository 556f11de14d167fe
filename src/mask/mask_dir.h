// Gate and mask folders on disk.
//
// A gate source is a training run folder (ours: outputs/<run>/, or an official
// attn_patterns/<model>/ folder) holding full_attention_heads.tsv with raw gate values and a
// config.json, or the TSV file itself. A mask folder is what `duo export` writes:
// full_attention_heads.tsv with 1 (retrieval / full head) and 0 (streaming head) and a
// config.json with sink_size, recent_size, the sparsity and the KV-cache ratios.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/stream_window.h"
#include "mask/binarize.h"
#include "mask/gate_table.h"

namespace duo::mask {

inline constexpr const char* kHeadsFile = "full_attention_heads.tsv";
inline constexpr const char* kConfigFile = "config.json";

struct GateSource {
  GateTable gates;                 // raw values as stored (not clipped)
  nlohmann::json config;           // the folder's config.json, or null when absent
  std::filesystem::path tsv_path;  // the TSV read
};
// `path`: a folder holding full_attention_heads.tsv (and maybe config.json) or a TSV file.
GateSource load_gates(const std::filesystem::path& path);

struct MaskDir {
  GateTable mask;          // binary: 1 full, 0 streaming
  StreamWindow window;     // the deploy window (config.json: sink_size, recent_size)
  nlohmann::json config;   // the whole config.json
};
// Reads a folder written by export_mask; refuses non-binary tables (raw gates) with a hint.
MaskDir load_mask_dir(const std::filesystem::path& dir);

struct ExportInfo {
  StreamWindow window = kDeployWindow;  // written as sink_size / recent_size
  std::string source;          // where the gates came from
  nlohmann::json source_config;  // the gate source's config.json (kept under "source_config")
};
// Writes dir/full_attention_heads.tsv and dir/config.json (each atomically).
// Returns the config.json written.
nlohmann::json export_mask(const std::filesystem::path& dir, const Binarized& b, const ExportInfo& info);

}  // namespace duo::mask
