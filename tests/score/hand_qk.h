// Test helper: a hand-built QkSource whose attention pattern is known exactly. Keys are one-hot
// position codes (k[j] = e_j, D = max length); query i of head h is `sharp` * sqrt(D) * e_{t}
// for the target position t = target(h, i, ids), or zero (uniform attention over the visible
// keys) when the target is -1. With sharp = 40 a head puts all but ~e^-40 of its probability on
// its target, so the statistics have closed forms.
#pragma once

#include <ATen/ATen.h>

#include <cmath>
#include <functional>
#include <vector>

#include "score/layer_trace.h"

namespace duo::score::testing {

using Target = std::function<int64_t(int64_t head, int64_t i, const std::vector<int64_t>& ids)>;

inline QkSource hand_qk_source(int64_t n_layers, int64_t n_heads, int64_t n_kv_heads, int64_t dim, Target target,
                               double sharp = 40.0) {
  QkSource src;
  src.n_layers = n_layers;
  src.n_heads = n_heads;
  src.n_kv_heads = n_kv_heads;
  src.run = [=](const std::vector<int64_t>& ids, const LayerObserver& observe) {
    const auto t = static_cast<int64_t>(ids.size());
    auto k = at::zeros({n_kv_heads, t, dim}, at::TensorOptions().dtype(at::kFloat));  // [Hkv, T, D]
    for (int64_t g = 0; g < n_kv_heads; ++g)
      for (int64_t j = 0; j < t; ++j) k[g][j][j] = 1.0;
    auto q = at::zeros({n_heads, t, dim}, at::TensorOptions().dtype(at::kFloat));  // [Hq, T, D]
    const double amp = sharp * std::sqrt(static_cast<double>(dim));
    for (int64_t h = 0; h < n_heads; ++h)
      for (int64_t i = 0; i < t; ++i) {
        const int64_t tgt = target(h, i, ids);
        if (tgt >= 0) q[h][i][tgt] = amp;
      }
    for (int64_t l = 0; l < n_layers; ++l) observe(l, q, k, 0);
  };
  return src;
}

}  // namespace duo::score::testing
