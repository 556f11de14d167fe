// Dynamic scheduling on LibTorch's intra-op threads: workers pull task indices from an atomic
// counter, so tasks of uneven cost (causal attention: later query blocks see more keys) spread
// evenly. Callers order tasks by decreasing cost. Nested calls run serially. The pool is
// LibTorch's OpenMP one: task_pool.cpp must be compiled with OpenMP (at::parallel_for is an
// inline `#pragma omp parallel`, silently serial without it), and refuses to build otherwise.
//
// While tasks run in parallel, BLAS runs single-threaded: the tasks already occupy every
// intra-op thread, and OpenBLAS splits even a 256 x 256 x 64 tile gemm over its own pool of all
// cores, so each worker's gemm would compete with the others' for the same cores.
#pragma once

#include <cstdint>
#include <functional>

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

// Runs fn(0) .. fn(n - 1) on up to at::get_num_threads() threads (each index exactly once, in
// no fixed order; BLAS single-threaded meanwhile). Serial when n <= 1, one thread, or already
// inside a parallel region. Exceptions from fn are rethrown on the calling thread.
void run_tasks(int64_t n, const std::function<void(int64_t)>& fn);

}  // namespace duo::kernels::cpu
