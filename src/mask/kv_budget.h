// KV-cache accounting (DESIGN.md section 1): for a context of T tokens,
//   bytes = sum over layers of (n_full(l) * T + n_stream(l) * min(T, window.slots()))
//           * 2 (K and V) * head_dim * bytes_per_element.
#pragma once

#include <cstdint>

#include "core/stream_window.h"
#include "mask/gate_table.h"

namespace duo::mask {

// `mask`: 1 = full head, 0 = streaming head.
int64_t kv_cache_bytes(const GateTable& mask, int64_t tokens, StreamWindow window, int64_t head_dim,
                       int64_t bytes_per_element);
// The same with every head full.
int64_t kv_cache_bytes_full(int64_t n_layers, int64_t n_kv_heads, int64_t tokens, int64_t head_dim,
                            int64_t bytes_per_element);
// kv_cache_bytes(mask) / kv_cache_bytes_full (independent of head_dim and element size).
double kv_cache_ratio(const GateTable& mask, int64_t tokens, StreamWindow window);

}  // namespace duo::mask
