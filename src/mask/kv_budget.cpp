// KV-cache bytes for a head mask (see kv_budget.h).
#include "mask/kv_budget.h"

#include <algorithm>

namespace duo::mask {

int64_t kv_cache_bytes(const GateTable& mask, int64_t tokens, StreamWindow window, int64_t head_dim,
                       int64_t bytes_per_element) {
  int64_t slots = 0;  // cached token slots over all heads of all layers
  const int64_t ring = std::min(tokens, window.slots());
  for (double v : mask.values) slots += v != 0.0 ? tokens : ring;
  return slots * 2 * head_dim * bytes_per_element;
}

int64_t kv_cache_bytes_full(int64_t n_layers, int64_t n_kv_heads, int64_t tokens, int64_t head_dim,
                            int64_t bytes_per_element) {
  return n_layers * n_kv_heads * tokens * 2 * head_dim * bytes_per_element;
}

double kv_cache_ratio(const GateTable& mask, int64_t tokens, StreamWindow window) {
  const int64_t full = kv_cache_bytes_full(mask.n_layers, mask.n_kv_heads, tokens, 1, 1);
  return full ? static_cast<double>(kv_cache_bytes(mask, tokens, window, 1, 1)) / static_cast<double>(full)
              : 0.0;
}

}  // namespace duo::mask
