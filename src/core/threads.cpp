// --threads: LibTorch intra-op threads (at::set_num_threads also sets OpenMP's count).
#include "core/threads.h"

#include <ATen/Parallel.h>
#include <sched.h>

#include <thread>

namespace duo::core {

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

int set_threads(int n) {
  if (n <= 0) n = available_cores();
  at::set_num_threads(n);
  return n;
}

}  // namespace duo::core
