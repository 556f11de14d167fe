// stream_read (see stream_read.h): a reference loop of 64-bit words, and an AVX-512 loop chosen at
// run time; both give the same checksum.
#include "kernels/cpu/stream_read.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/task_pool.h"

// GCC 12's false positive on the undefined operand inside its own AVX-512 intrinsics
// (_mm512_reduce_add_epi64), as in half_rows.cpp.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace duo::kernels::cpu {
namespace {

constexpr int64_t kPiece = int64_t{1} << 20;

// The sum of n / 8 64-bit words, then the last n % 8 bytes one by one.
uint64_t read_words(const unsigned char* p, int64_t n) {
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    uint64_t w[4];
    std::memcpy(w, p + i, 32);
    a0 += w[0];
    a1 += w[1];
    a2 += w[2];
    a3 += w[3];
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    a0 += w;
  }
  for (; i < n; ++i) a1 += p[i];
  return a0 + a1 + a2 + a3;
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) uint64_t read_avx512(const unsigned char* p, int64_t n) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 256 <= n; i += 256) {
    a0 = _mm512_add_epi64(a0, _mm512_loadu_si512(p + i));
    a1 = _mm512_add_epi64(a1, _mm512_loadu_si512(p + i + 64));
    a2 = _mm512_add_epi64(a2, _mm512_loadu_si512(p + i + 128));
    a3 = _mm512_add_epi64(a3, _mm512_loadu_si512(p + i + 192));
  }
  const __m512i sum = _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3));
  return static_cast<uint64_t>(_mm512_reduce_add_epi64(sum)) + read_words(p + i, n - i);
}
#endif

uint64_t read_piece(const unsigned char* p, int64_t n) {
#if defined(__x86_64__)
  if (cpu_has_avx512f()) return read_avx512(p, n);
#endif
  return read_words(p, n);
}

}  // namespace

uint64_t stream_read(const std::vector<ByteRange>& ranges) {
  std::vector<ByteRange> pieces;  // the ranges cut at multiples of 8 bytes, so words stay whole
  for (const ByteRange& r : ranges)
    for (int64_t off = 0; off < r.bytes; off += kPiece)
      pieces.push_back({static_cast<const unsigned char*>(r.data) + off, std::min(kPiece, r.bytes - off)});
  std::atomic<uint64_t> total{0};
  run_tasks(static_cast<int64_t>(pieces.size()), [&](int64_t i) {
    const ByteRange& piece = pieces[static_cast<size_t>(i)];
    total.fetch_add(read_piece(static_cast<const unsigned char*>(piece.data), piece.bytes), std::memory_order_relaxed);
  });
  return total.load();
}

}  // namespace duo::kernels::cpu
