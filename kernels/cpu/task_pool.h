// Dynamic scheduling on LibTorch's intra-op threads: workers pull task indices from an atomic
// counter, so tasks of uneven cost (causal attention: later query blocks see more keys) spread
// evenly. Callers order tasks by decreasing cost. Nested calls run serially.
//
// While tasks run in parallel, BLAS runs single-threaded: the tasks already occupy every
// intra-op thread, and OpenBLAS splits even a 256 x 256 x 64 tile gemm over its own pool of all
// cores, so each worker's gemm would compete with the others' for the same cores.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "core/threads.h"

namespace duo::kernels::cpu {

// Sets BLAS to one thread for its lifetime and restores the previous count after.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas() : saved_(core::blas_threads()) {
    if (saved_ > 1) core::set_blas_threads(1);
  }
  ~SingleThreadedBlas() {
    if (saved_ > 1) core::set_blas_threads(saved_);
  }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int saved_;
};

template <typename F>
void run_tasks(int64_t n, const F& fn) {
  const int64_t workers = std::min<int64_t>(at::get_num_threads(), n);
  if (workers <= 1 || at::in_parallel_region()) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<int64_t> next{0};
  const SingleThreadedBlas single_blas;
  at::parallel_for(0, workers, 1, [&](int64_t, int64_t) {
    for (int64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i);
  });
}

}  // namespace duo::kernels::cpu
