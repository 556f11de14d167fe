// HeadLayout conversions (see head_layout.h).
#include "runtime/head_layout.h"

#include "core/error.h"

namespace duo::runtime {

HeadLayout HeadLayout::all_full(int64_t n_layers, int64_t n_kv_heads) {
  HeadLayout h;
  h.n_layers = n_layers;
  h.n_kv_heads = n_kv_heads;
  h.full.assign(static_cast<size_t>(n_layers), {});
  h.stream.assign(static_cast<size_t>(n_layers), {});
  for (auto& f : h.full)
    for (int64_t g = 0; g < n_kv_heads; ++g) f.push_back(g);
  return h;
}

HeadLayout HeadLayout::from_mask(const mask::GateTable& mask, StreamWindow window) {
  HeadLayout h;
  h.n_layers = mask.n_layers;
  h.n_kv_heads = mask.n_kv_heads;
  h.window = window;
  h.full.assign(static_cast<size_t>(mask.n_layers), {});
  h.stream.assign(static_cast<size_t>(mask.n_layers), {});
  for (int64_t l = 0; l < mask.n_layers; ++l) {
    for (int64_t g = 0; g < mask.n_kv_heads; ++g) {
      (mask.at(l, g) != 0.0 ? h.full : h.stream)[static_cast<size_t>(l)].push_back(g);
    }
  }
  return h;
}

HeadLayout HeadLayout::from_plan(const model::AttentionPlan& plan, int64_t n_layers, int64_t n_kv_heads) {
  if (plan.empty()) return all_full(n_layers, n_kv_heads);
  DUO_CHECK(static_cast<int64_t>(plan.size()) == n_layers,
            "runtime: attention plan must have one spec per layer; expected {}, got {}", n_layers, plan.size());
  HeadLayout h = all_full(n_layers, n_kv_heads);
  bool first = true;
  for (int64_t l = 0; l < n_layers; ++l) {
    const auto& spec = plan[static_cast<size_t>(l)];
    DUO_CHECK(!spec.is_gated(), "runtime: layer {} of the plan is gated; the decoder needs binary head kinds", l);
    DUO_CHECK(spec.kinds.empty() || static_cast<int64_t>(spec.kinds.size()) == n_kv_heads,
              "runtime: layer {} lists {} head kinds; expected {}", l, spec.kinds.size(), n_kv_heads);
    if (spec.kinds.empty()) continue;
    h.full[static_cast<size_t>(l)].clear();
    for (int64_t g = 0; g < n_kv_heads; ++g) {
      const bool s = spec.kinds[static_cast<size_t>(g)] == attention::HeadKind::kStreaming;
      (s ? h.stream : h.full)[static_cast<size_t>(l)].push_back(g);
    }
    if (!h.stream[static_cast<size_t>(l)].empty()) {
      if (!first) {
        DUO_CHECK(spec.window == h.window,
                  "runtime: layer {} streams with sink {} / recent {}, but an earlier layer uses {} / {}; expected "
                  "one streaming window for the whole model", l, spec.window.sink, spec.window.recent, h.window.sink,
                  h.window.recent);
      }
      h.window = spec.window;
      first = false;
    }
  }
  return h;
}

attention::LayerSpec HeadLayout::layer_spec(int64_t layer) const {
  attention::LayerSpec spec;
  spec.kinds.assign(static_cast<size_t>(n_kv_heads), attention::HeadKind::kFull);
  for (int64_t g : stream[static_cast<size_t>(layer)]) spec.kinds[static_cast<size_t>(g)] = attention::HeadKind::kStreaming;
  spec.window = window;
  return spec;
}

model::AttentionPlan HeadLayout::to_plan() const {
  model::AttentionPlan plan;
  for (int64_t l = 0; l < n_layers; ++l) plan.push_back(layer_spec(l));
  return plan;
}

mask::GateTable HeadLayout::to_mask() const {
  mask::GateTable t;
  t.n_layers = n_layers;
  t.n_kv_heads = n_kv_heads;
  t.values.assign(static_cast<size_t>(n_layers * n_kv_heads), 0.0);
  for (int64_t l = 0; l < n_layers; ++l)
    for (int64_t g : full[static_cast<size_t>(l)]) t.at(l, g) = 1.0;
  return t;
}

int64_t HeadLayout::total_full() const {
  int64_t n = 0;
  for (const auto& f : full) n += static_cast<int64_t>(f.size());
  return n;
}

int64_t HeadLayout::total_stream() const {
  int64_t n = 0;
  for (const auto& s : stream) n += static_cast<int64_t>(s.size());
  return n;
}

}  // namespace duo::runtime
