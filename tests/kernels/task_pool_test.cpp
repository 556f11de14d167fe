// The task pool really runs tasks at the same time (a build without OpenMP would run them all on
// the calling thread), covers every index once, runs BLAS single-threaded and passes errors on.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/threads.h"
#include "kernels/cpu/task_pool.h"

namespace {

namespace kc = duo::kernels::cpu;

class TaskPool : public ::testing::Test {
 protected:
  void SetUp() override { duo::core::set_threads(2); }
};

// Each of two tasks waits (up to 10 s) for the other to start: only concurrent tasks both see 2.
TEST_F(TaskPool, TwoThreadsRunTwoTasksAtOnce) {
  std::atomic<int> started{0};
  std::vector<int> seen(2, 0);
  kc::run_tasks(2, [&](int64_t i) {
    started.fetch_add(1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (started.load() < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    seen[i] = started.load();
  });
  EXPECT_EQ(seen[0], 2) << "task 0 never ran alongside task 1: run_tasks is serial";
  EXPECT_EQ(seen[1], 2);
}

TEST_F(TaskPool, EveryIndexRunsOnce) {
  for (int64_t n : {0, 1, 2, 3, 17, 1000}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    kc::run_tasks(n, [&](int64_t i) { hits[static_cast<size_t>(i)].fetch_add(1); });
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "n " << n << " index " << i;
  }
}

// Nested calls run serially on the calling worker, still covering every index.
TEST_F(TaskPool, NestedCallsRunInline) {
  std::atomic<int> total{0};
  kc::run_tasks(4, [&](int64_t) { kc::run_tasks(5, [&](int64_t) { total.fetch_add(1); }); });
  EXPECT_EQ(total.load(), 20);
}

// Parallel tasks run BLAS on one thread (no oversubscription) and the pool size comes back after.
TEST_F(TaskPool, TasksRunBlasSingleThreadedAndRestoreIt) {
  if (duo::core::blas_threads() == 0) GTEST_SKIP() << "BLAS is not OpenBLAS";
  ASSERT_EQ(duo::core::blas_threads(), 2);  // set_threads(2) in SetUp
  std::vector<int> seen(8, -1);
  kc::run_tasks(8, [&](int64_t i) { seen[i] = duo::core::blas_threads(); });
  for (int s : seen) EXPECT_EQ(s, 1);
  EXPECT_EQ(duo::core::blas_threads(), 2);
}

TEST_F(TaskPool, ErrorsReachTheCaller) {
  EXPECT_THROW(kc::run_tasks(6,
                             [&](int64_t i) {
                               if (i == 3) throw std::runtime_error("task 3 failed");
                             }),
               std::runtime_error);
  if (duo::core::blas_threads() != 0) {
    EXPECT_EQ(duo::core::blas_threads(), 2);  // restored on the way out
  }
}

}  // namespace
