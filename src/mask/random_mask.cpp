// Random head masks (see random_mask.h).
#include "mask/random_mask.h"

#include <cmath>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#include "core/error.h"

namespace duo::mask {

GateTable random_mask(int64_t n_layers, int64_t n_kv_heads, double sparsity, uint64_t seed) {
  DUO_CHECK(sparsity >= 0.0 && sparsity <= 1.0, "random mask: sparsity expected in [0, 1], got {}", sparsity);
  GateTable t;
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

}  // namespace duo::mask
