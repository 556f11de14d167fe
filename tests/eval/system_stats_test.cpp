// Process statistics the bench reports (eval/system_stats.h): the peak resident memory and its
// reset, and the heap policy that keeps freed memory resident until released (core/memory.h).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/memory.h"
#include "eval/system_stats.h"

namespace duo::eval {
namespace {

// After a reset, the high-water mark forgets a 256 MiB buffer that was touched and freed before.
TEST(SystemStats, PeakResidentMemoryResets) {
  {
    at::Tensor big = at::ones({int64_t{64} << 20});  // 256 MiB, written: resident
    EXPECT_GT(peak_rss_bytes(), int64_t{256} << 20);
  }
  const int64_t before = peak_rss_bytes();
  duo::core::release_free_memory();  // in case duo's heap policy kept the block
  if (!reset_peak_rss()) GTEST_SKIP() << "/proc/self/clear_refs is not writable here";
  EXPECT_LT(peak_rss_bytes(), before - (int64_t{128} << 20));
}

// duo's heap policy keeps a freed 256 MiB block resident for reuse; releasing gives it back.
TEST(SystemStats, FreedMemoryIsKeptUntilReleased) {
#if defined(__SANITIZE_ADDRESS__)
  // Under scripts/sanitize.sh AddressSanitizer's allocator replaces glibc malloc, so the mallopt
  // settings this test is about do not apply (its large blocks go back to the kernel at free).
  GTEST_SKIP() << "AddressSanitizer replaces glibc malloc; keep_freed_memory (mallopt) does not apply";
#endif
  duo::core::keep_freed_memory();
  const int64_t base = current_rss_bytes();
  { at::Tensor big = at::ones({int64_t{64} << 20}); }  // 256 MiB, written, then freed
  EXPECT_GT(current_rss_bytes(), base + (int64_t{200} << 20)) << "freed memory went back to the kernel";
  duo::core::release_free_memory();
  EXPECT_LT(current_rss_bytes(), base + (int64_t{64} << 20)) << "release_free_memory kept it";
}

}  // namespace
}  // namespace duo::eval
