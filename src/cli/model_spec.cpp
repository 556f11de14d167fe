// Model and mask specs (see model_spec.h).
#include "cli/model_spec.h"

#include <fmt/format.h>

#include "core/error.h"
#include "mask/gate_table.h"
#include "mask/mask_dir.h"
#include "mask/random_mask.h"
#include "model/model_config.h"
#include "model/preset.h"

namespace duo::cli {

namespace fs = std::filesystem;

namespace {

// The storage dtype of the weight matrices for `weight_dtype` (see load_model_spec); Undefined =
// the compute dtype. `dir` is the model folder ("" for presets).
at::ScalarType resolve_weight_dtype(const std::string& weight_dtype, at::ScalarType dtype, const fs::path& dir,
                                    const std::string& what) {
  if (weight_dtype == "auto") {
    if (dir.empty() || dtype != at::kFloat) return at::ScalarType::Undefined;
    const auto found = model::checkpoint_matrix_dtype(dir, model::ModelConfig::load(dir));
    return found == at::kBFloat16 || found == at::kHalf ? found : at::ScalarType::Undefined;
  }
  const auto w = model::parse_dtype(weight_dtype, what);
  DUO_CHECK(w == dtype || dtype == at::kFloat,
            "{}: {} weights need fp32 compute; expected auto or {} with --dtype {}, got '{}'", what,
            model::dtype_name(w), model::dtype_name(dtype), model::dtype_name(dtype), weight_dtype);
  return w == dtype ? at::ScalarType::Undefined : w;
}

}  // namespace

LoadedModel load_model_spec(const std::string& spec, at::ScalarType dtype, uint64_t seed,
                            const std::string& weight_dtype, const std::string& what) {
  DUO_CHECK(!spec.empty(), "--model: expected a model folder, a preset .yaml or a preset name; got ''");
  model::LoadOptions opts;
  opts.dtype = dtype;
  fs::path p(spec);
  if (fs::is_directory(p)) {
    opts.weight_dtype = resolve_weight_dtype(weight_dtype, dtype, p, what);
    return LoadedModel{model::Model::load(p, opts), false, p, p.string()};
  }
  opts.weight_dtype = resolve_weight_dtype(weight_dtype, dtype, fs::path(), what);
  fs::path preset = p;
  if (!fs::is_regular_file(preset)) preset = fs::path("configs/models") / (spec + ".yaml");
  DUO_CHECK(fs::is_regular_file(preset),
            "--model: '{}' is neither a model folder nor a preset file, and {} does not exist; expected a folder "
            "with config.json or a preset from configs/models/", spec, preset.string());
  auto cfg = model::ModelConfig::from_json(model::read_preset(preset), preset.string());
  return LoadedModel{model::Model::random(cfg, seed, opts), true, fs::path(),
                     "preset " + preset.string() + " (random weights)"};
}

LoadedMask load_mask_spec(const std::string& spec, int64_t n_layers, int64_t n_kv_heads, StreamWindow window) {
  if (spec.empty() || spec == "full") return {runtime::HeadLayout::all_full(n_layers, n_kv_heads), "full"};
  if (spec.rfind("random:", 0) == 0) {
    const std::string rest = spec.substr(7);
    const auto colon = rest.find(':');
    double s = 0.0;
    uint64_t seed = 0;
    try {
      size_t used = 0;
      s = std::stod(rest.substr(0, colon), &used);
      DUO_CHECK(used == rest.substr(0, colon).size(), "x");
      if (colon != std::string::npos) seed = std::stoull(rest.substr(colon + 1));
    } catch (const std::exception&) {
      fail("--mask: '{}' is not random:SPARSITY[:SEED]; expected e.g. random:0.75", spec);
    }
    auto m = mask::random_mask(n_layers, n_kv_heads, s, seed);
    return {runtime::HeadLayout::from_mask(m, window), spec};
  }
  auto dir = mask::load_mask_dir(spec);
  mask::check_shape(dir.mask, n_layers, n_kv_heads, (fs::path(spec) / mask::kHeadsFile).string());
  auto lay = runtime::HeadLayout::from_mask(dir.mask, dir.window);
  const double sparsity = static_cast<double>(lay.total_stream()) / static_cast<double>(n_layers * n_kv_heads);
  return {lay, fmt::format("{} (sparsity {:.3f}, sink {}, recent {})", spec, sparsity, dir.window.sink,
                           dir.window.recent)};
}

}  // namespace duo::cli
