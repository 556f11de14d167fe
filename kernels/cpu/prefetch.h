// Software prefetch for the row-streaming kernels (decode attention over the KV cache, the
// one-row linear over a weight matrix). Internal to kernels/cpu.
//
// Those kernels read long runs of rows once each and ask for rows about kPrefetchBytes ahead of
// the one they are working on. The fixed-width decode kernels (head dim 64 / 128, 16-bit cache:
// half_rows.cpp) do it in bursts, 16 rows every 16 rows, with no bounds check, so the prefetch
// runs on into the next block of the same cache; the generic kernels one row at a time. Measured
// with decode_stream_bench (12 layers x 12 heads x 32K tokens, D 64, bf16, 2 threads; times over
// a plain read of the same bytes in the same run; three runs of each build, alternating): with
// one 2-line prefetch per row behind a bounds check, attention 1.18 / 1.21 / 1.19 (key pass
// 1.08-1.16, value pass 1.10-1.15); with bursts, 1.10 / 1.07 / 0.98 (0.89-0.95, 1.01-1.09), i.e.
// 22.3-24.0 ms against 26.6-28.0 ms. With no prefetch the key pass takes ~1.4x. Bursts in the
// generic kernels (fp32 cache, head dim 96) did not help the attention as a whole (their value
// pass, a load-FMA-store per row, got slower), so those stay one row at a time. On the one-row
// weight products (linear16_bench, 65536 x 768) distances from 64 bytes to 32 KiB made no
// measurable difference.
//
// prefetch_line is an asm statement, not __builtin_prefetch: GCC 12 deletes a loop whose body is
// only __builtin_prefetch calls (a burst of 32 lines compiled to nothing; seen in objdump).
#pragma once

#include <algorithm>
#include <cstdint>

namespace duo::kernels::cpu {

constexpr int64_t kPrefetchBytes = 8192;

// How many rows of `row_bytes` ahead to prefetch (at least one).
inline int64_t prefetch_rows_ahead(int64_t row_bytes) { return std::max<int64_t>(1, kPrefetchBytes / row_bytes); }

// Asks for the cache lines of [p, p + bytes) (read, keep in all levels). A hint: never faults.
inline void prefetch_line(const char* p) {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetcht0 %0" : : "m"(*p));
#else
  __builtin_prefetch(p, 0, 3);
#endif
}
inline void prefetch_bytes(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t b = 0; b < bytes; b += 64) prefetch_line(c + b);
}

// Prefetches row j + ahead of rows [0, n) (row stride `ld` elements, `row_bytes` used per row)
// when it exists: one row at a time (the generic kernels, and the one-row weight products).
template <typename T>
inline void prefetch_row_ahead(const T* rows, int64_t j, int64_t ahead, int64_t n, int64_t ld, int64_t row_bytes) {
  if (j + ahead < n) prefetch_bytes(rows + (j + ahead) * ld, row_bytes);
}

// Prefetches rows [first, first + count) of `rows` (row stride `ld` elements, `row_bytes` used per
// row) with no bounds check: a prefetch never faults, and the rows just past the end of a block
// are usually the next block's (the decode kernels read a cache block after block). One
// contiguous range when the rows are. The address is computed as an integer: the rows need not
// exist.
template <typename T>
inline void prefetch_rows(const T* rows, int64_t first, int64_t count, int64_t ld, int64_t row_bytes) {
  const int64_t stride = ld * static_cast<int64_t>(sizeof(T));
  const auto at = [&](int64_t row) {
    return reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(rows) + static_cast<uintptr_t>(row * stride));
  };
  if (stride == row_bytes) return prefetch_bytes(at(first), count * row_bytes);
  for (int64_t i = 0; i < count; ++i) prefetch_bytes(at(first + i), row_bytes);
}

}  // namespace duo::kernels::cpu
