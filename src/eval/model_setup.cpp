// Model and mask specs (see model_setup.h).
#include "eval/model_setup.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"
#include "mask/gate_table.h"
#include "mask/mask_dir.h"
#include "model/model_config.h"
#include "model/preset.h"

namespace duo::eval {

namespace fs = std::filesystem;

LoadedModel load_model_spec(const std::string& spec, at::ScalarType dtype, uint64_t seed) {
  DUO_CHECK(!spec.empty(), "--model: expected a model folder, a preset .yaml or a preset name; got ''");
  model::LoadOptions opts;
  opts.dtype = dtype;
  fs::path p(spec);
  if (fs::is_directory(p)) {
    return LoadedModel{model::Model::load(p, opts), false, p, p.string()};
  }
  fs::path preset = p;
  if (!fs::is_regular_file(preset)) preset = fs::path("configs/models") / (spec + ".yaml");
  DUO_CHECK(fs::is_regular_file(preset),
            "--model: '{}' is neither a model folder nor a preset file, and {} does not exist; expected a folder "
            "with config.json or a preset from configs/models/", spec, preset.string());
  auto cfg = model::ModelConfig::from_json(model::read_preset(preset), preset.string());
  return LoadedModel{model::Model::random(cfg, seed, opts), true, fs::path(),
                     "preset " + preset.string() + " (random weights)"};
}

mask::GateTable random_mask(int64_t n_layers, int64_t n_kv_heads, double sparsity, uint64_t seed) {
  DUO_CHECK(sparsity >= 0.0 && sparsity <= 1.0, "random mask: sparsity expected in [0, 1], got {}", sparsity);
  mask::GateTable t;
  t.n_layers = n_layers;
  t.n_kv_heads = n_kv_heads;
  const int64_t n = n_layers * n_kv_heads;
  t.values.assign(static_cast<size_t>(n), 1.0);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  // Fisher-Yates with our own index draw: the same mask on every standard library.
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[static_cast<size_t>(i)], order[rng() % static_cast<uint64_t>(i + 1)]);
  const auto n_stream = static_cast<int64_t>(std::llround(sparsity * static_cast<double>(n)));
  for (int64_t i = 0; i < n_stream; ++i) t.values[static_cast<size_t>(order[static_cast<size_t>(i)])] = 0.0;
  return t;
}

LoadedMask load_mask_spec(const std::string& spec, int64_t n_layers, int64_t n_kv_heads, int64_t sink,
                          int64_t recent) {
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
    auto m = random_mask(n_layers, n_kv_heads, s, seed);
    return {runtime::HeadLayout::from_mask(m, sink, recent), spec};
  }
  auto dir = mask::load_mask_dir(spec);
  mask::check_shape(dir.mask, n_layers, n_kv_heads, (fs::path(spec) / mask::kHeadsFile).string());
  auto lay = runtime::HeadLayout::from_mask(dir.mask, dir.sink, dir.recent);
  const double sparsity = static_cast<double>(lay.total_stream()) / static_cast<double>(n_layers * n_kv_heads);
  return {lay, fmt::format("{} (sparsity {:.3f}, sink {}, recent {})", spec, sparsity, dir.sink, dir.recent)};
}

}  // namespace duo::eval
