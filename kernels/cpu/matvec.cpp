// One-row products over several weight matrices in one task-pool pass (see matvec.h).
#include "kernels/cpu/matvec.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/task_pool.h"

namespace duo::kernels::cpu {
namespace {

struct Task {
  const MatVec* mat;
  int64_t r0, r1;  // rows [r0, r1) of mat
};

void run_rows(const float* x, int64_t in, const Task& t) {
  const MatVec& m = *t.mat;
  const int64_t n = t.r1 - t.r0;
  float* y = m.y + t.r0;
  const int64_t elem = m.type == RowType::kF32 ? 4 : 2;
  dot_rows_typed(x, 1, static_cast<const char*>(m.w) + t.r0 * in * elem, n, in, in, y, m.type);
  if (m.bias != nullptr)
    for (int64_t r = 0; r < n; ++r) y[r] += m.bias[t.r0 + r];
}

}  // namespace

void matvec(const float* x, int64_t in, const MatVec* mats, int64_t n) {
  int64_t total = 0;
  for (int64_t i = 0; i < n; ++i) total += mats[i].rows;
  if (total == 0) return;
  // About 4 tasks per thread over all rows (uneven core speed on a shared machine evens out);
  // small products stay on the calling thread.
  const int64_t threads = at::get_num_threads();
  const int64_t target = threads > 1 && total >= 512 ? 4 * threads : 1;
  std::vector<Task> tasks;
  tasks.reserve(static_cast<size_t>(target + n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t rows = mats[i].rows;
    if (rows == 0) continue;
    const int64_t chunks = std::max<int64_t>(1, (rows * target + total / 2) / total);
    const int64_t per = (rows + chunks - 1) / chunks;
    for (int64_t r0 = 0; r0 < rows; r0 += per) tasks.push_back({&mats[i], r0, std::min(rows, r0 + per)});
  }
  run_tasks(static_cast<int64_t>(tasks.size()), [&](int64_t t) { run_rows(x, in, tasks[static_cast<size_t>(t)]); });
}

}  // namespace duo::kernels::cpu
