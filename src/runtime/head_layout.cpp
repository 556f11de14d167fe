// HeadLayout conversions (see head_layout.h).
#include "runtime/head_layout.h"

#include "core/error.h"

namespace duo::runtime {

namespace {

void check_window(const HeadLayout& h) {
  DUO_CHECK(h.sink >= 0, "runtime: sink must be >= 0; got {}", h.sink);
  if (h.total_stream() > 0) {
    DUO_CHECK(h.recent >= 1, "runtime: streaming heads need recent >= 1; got recent {}", h.recent);
  }
}

}  // namespace

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

HeadLayout HeadLayout::from_mask(const mask::GateTable& mask, int64_t sink, int64_t recent) {
  HeadLayout h;
  h.n_layers = mask.n_layers;
  h.n_kv_heads = mask.n_kv_heads;
  h.sink = sink;
  h.recent = recent;
  h.full.assign(static_cast<size_t>(mask.n_layers), {});
  h.stream.assign(static_cast<size_t>(mask.n_layers), {});
  for (int64_t l = 0; l < mask.n_layers; ++l) {
    for (int64_t g = 0; g < mask.n_kv_heads; ++g) {
      (mask.at(l, g) != 0.0 ? h.full : h.stream)[static_cast<size_t>(l)].push_back(g);
    }
  }
  check_window(h);
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
        DUO_CHECK(spec.sink == h.sink && spec.recent == h.recent,
                  "runtime: layer {} streams with sink {} / recent {}, but an earlier layer uses {} / {}; expected "
                  "one sink and recent for the whole model", l, spec.sink, spec.recent, h.sink, h.recent);
      }
      h.sink = spec.sink;
      h.recent = spec.recent;
      first = false;
    }
  }
  check_window(h);
  return h;
}

model::AttentionPlan HeadLayout::to_plan() const {
  model::AttentionPlan plan(static_cast<size_t>(n_layers));
  for (int64_t l = 0; l < n_layers; ++l) {
    auto& spec = plan[static_cast<size_t>(l)];
    spec.kinds.assign(static_cast<size_t>(n_kv_heads), attention::HeadKind::kFull);
    for (int64_t g : stream[static_cast<size_t>(l)]) spec.kinds[static_cast<size_t>(g)] = attention::HeadKind::kStreaming;
    spec.sink = sink;
    spec.recent = recent;
  }
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
