// The decode kernels prefetch rows past the end of the block they read, with no bounds check
// (kernels/cpu/prefetch.h): that is only safe while a prefetch stays a hint. These tests ask for
// rows in an inaccessible page and far past any mapping; a prefetch that became a load (or a
// compiler-visible dereference) would fault here.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

#include "kernels/cpu/prefetch.h"

namespace {

namespace kc = duo::kernels::cpu;

class GuardPage : public ::testing::Test {
 protected:
  void SetUp() override {
    page_ = sysconf(_SC_PAGESIZE);
    void* p = mmap(nullptr, static_cast<size_t>(2 * page_), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    base_ = static_cast<uint16_t*>(p);
    ASSERT_EQ(mprotect(reinterpret_cast<char*>(p) + page_, static_cast<size_t>(page_), PROT_NONE), 0);
  }
  void TearDown() override {
    if (base_ != nullptr) munmap(base_, static_cast<size_t>(2 * page_));
  }
  int64_t page_ = 0;
  uint16_t* base_ = nullptr;
};

TEST_F(GuardPage, PrefetchingRowsPastTheEndNeverFaults) {
  // Rows of 64 bf16 (128 bytes): the first page holds page / 128 of them; ask for the 16 rows
  // that straddle and follow the guard page, contiguous and strided, and rows a terabyte away.
  const int64_t d = 64, rows_in_page = page_ / (2 * d);
  kc::prefetch_rows(base_, rows_in_page - 8, 16, d, 2 * d);                       // one contiguous range
  kc::prefetch_rows(base_, rows_in_page - 1, 16, 3 * d, 2 * d);                   // strided rows
  kc::prefetch_rows(base_, (int64_t{1} << 40) / (2 * d), 16, d, 2 * d);           // unmapped
  kc::prefetch_rows(base_, kc::prefetch_rows_ahead(2 * d) + rows_in_page, 16, d, 2 * d);
  // The accessible page is still readable and unchanged by the hints.
  base_[0] = 7;
  EXPECT_EQ(base_[0], 7);
}

TEST(Prefetch, RowsAheadCoversAboutThePrefetchDistance) {
  EXPECT_EQ(kc::prefetch_rows_ahead(128), kc::kPrefetchBytes / 128);  // bf16 rows of 64
  EXPECT_EQ(kc::prefetch_rows_ahead(kc::kPrefetchBytes * 4), 1);     // rows longer than the distance: the next one
}

}  // namespace
