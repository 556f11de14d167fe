// Software prefetch for the row-streaming kernels (decode attention over the KV cache, the
// one-row linear over a weight matrix). Internal to kernels/cpu.
//
// Those kernels read long runs of rows once each. On the machines measured here one core's demand
// misses and hardware prefetch reach only about half of what a plain streaming sum reads per core
// (kv_dtype_bench --threads 1: 12.8 -> 16.2 GB/s of a bf16 cache with a prefetch 8 KiB ahead), so
// each kernel asks for the row about kPrefetchBytes ahead of the one it is working on.
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
