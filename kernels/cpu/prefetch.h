// Software prefetch for the row-streaming kernels (decode attention over the KV cache, the
// one-row linear over a weight matrix). Internal to kernels/cpu.
//
// Those kernels read long runs of rows once each, and each asks for the row about kPrefetchBytes
// ahead of the one it is working on. Measured (kv_dtype_bench, 32K tokens x 12 heads, D 64, bf16,
// with and without the prefetch, three alternating rounds on one machine): one thread 6.4 / 6.6 /
// 6.6 ms with it, 6.3 / 7.6 / 7.7 ms without; two threads the same within noise (3.5-3.8 ms). On
// the one-row weight products (linear16_bench, 65536 x 768) no difference was measurable.
#pragma once

#include <algorithm>
#include <cstdint>

namespace duo::kernels::cpu {

constexpr int64_t kPrefetchBytes = 8192;

// How many rows of `row_bytes` ahead to prefetch (at least one).
inline int64_t prefetch_rows_ahead(int64_t row_bytes) { return std::max<int64_t>(1, kPrefetchBytes / row_bytes); }

// Asks for the cache lines of [p, p + bytes) (read, keep in all levels). A hint: never faults.
inline void prefetch_bytes(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(c + b, 0, 3);
}

// Prefetches row j + ahead of rows [0, n) (row stride `ld` elements, `row_bytes` used per row)
// when it exists.
template <typename T>
inline void prefetch_row_ahead(const T* rows, int64_t j, int64_t ahead, int64_t n, int64_t ld, int64_t row_bytes) {
  if (j + ahead < n) prefetch_bytes(rows + (j + ahead) * ld, row_bytes);
}

}  // namespace duo::kernels::cpu
