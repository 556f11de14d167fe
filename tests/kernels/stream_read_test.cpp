// kernels/cpu/stream_read.h: every byte of every range is read once. The checksum is computed
// plainly here (64-bit words from each range's start, then its trailing bytes) over ranges of odd
// sizes and offsets, long enough to be cut into several pieces across the task pool.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "common/byte_checksum.h"
#include "kernels/cpu/stream_read.h"

namespace {

namespace kc = duo::kernels::cpu;

TEST(StreamRead, ReadsEveryByteOfEveryRangeOnce) {
  std::vector<unsigned char> buf((int64_t{3} << 20) + 1000);
  std::mt19937_64 rng(7);
  for (auto& b : buf) b = static_cast<unsigned char>(rng());
  // (offset, bytes): unaligned starts, a tail of 1-7 bytes, one range over 2 MiB (three pieces).
  const int64_t spans[][2] = {{3, 1}, {5, 255}, {17, 257}, {1000, 4099}, {64, (int64_t{2} << 20) + 333}, {0, 0}};
  std::vector<kc::ByteRange> ranges;
  uint64_t want = 0;
  for (const auto& sp : spans) {
    ranges.push_back({buf.data() + sp[0], sp[1]});
    want += duo::testing::plain_checksum(buf.data() + sp[0], sp[1]);
  }
  EXPECT_EQ(kc::stream_read(ranges), want);
  // One byte changed anywhere in a range changes the checksum: nothing is skipped.
  const int64_t mib = int64_t{1} << 20;
  for (int64_t at : {int64_t{5}, int64_t{1000 + 4098}, 64 + mib + 8, 64 + 2 * mib + 332}) {
    buf[static_cast<size_t>(at)] ^= 0x10;
    EXPECT_NE(kc::stream_read(ranges), want) << "byte " << at;
    buf[static_cast<size_t>(at)] ^= 0x10;
  }
  EXPECT_EQ(kc::stream_read({}), 0u);
}

}  // namespace
