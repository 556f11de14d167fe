// Dynamic scheduling on LibTorch's intra-op threads: workers pull task indices from an atomic
// counter, so tasks of uneven cost (causal attention: later query blocks see more keys) spread
// evenly. Callers order tasks by decreasing cost. Nested calls run serially.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace duo::kernels::cpu {

template <typename F>
void run_tasks(int64_t n, const F& fn) {
  const int64_t workers = std::min<int64_t>(at::get_num_threads(), n);
  if (workers <= 1 || at::in_parallel_region()) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<int64_t> next{0};
  at::parallel_for(0, workers, 1, [&](int64_t, int64_t) {
    for (int64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i);
  });
}

}  // namespace duo::kernels::cpu
