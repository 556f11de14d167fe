// The checksum kernels::cpu::stream_read returns, computed plainly (the reference its tests and
// bench's byte-range test compare with): the sum of n / 8 64-bit words from p, wrapping, then the
// last n % 8 bytes one by one.
#pragma once

#include <cstdint>
#include <cstring>

namespace duo::testing {

inline uint64_t plain_checksum(const void* p, int64_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  uint64_t sum = 0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, b + i, 8);
    sum += w;
  }
  for (; i < n; ++i) sum += b[i];
  return sum;
}

}  // namespace duo::testing
