// run_tasks on LibTorch's OpenMP threads (see task_pool.h).
#include "kernels/cpu/task_pool.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>

// DUO_SINGLE_THREADED: the fuzz build (scripts/fuzz.sh), which only parses files, opts out.
#if !defined(_OPENMP) && !defined(DUO_SINGLE_THREADED)
#error "kernels/cpu/task_pool.cpp needs OpenMP (-fopenmp): at::parallel_for would run every task on one thread"
#endif

namespace duo::kernels::cpu {

void run_tasks(int64_t n, const std::function<void(int64_t)>& fn) {
  const int64_t workers = std::min<int64_t>(at::get_num_threads(), n);
  if (workers <= 1 || at::in_parallel_region()) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<int64_t> next{0};
  const SingleThreadedBlas single_blas;
  // One chunk per worker; each worker pulls task indices until none are left.
  at::parallel_for(0, workers, 1, [&](int64_t, int64_t) {
    for (int64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i);
  });
}

}  // namespace duo::kernels::cpu
