// Batch split over ranks and the fixed-order reduction (see batch.h).
#include "train/batch.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace duo::train {

int64_t slots_per_rank(int64_t batch, int world) {
  DUO_ASSERT(batch >= 1 && world >= 1);
  return (batch + world - 1) / world;
}

std::vector<int64_t> rank_positions(int64_t batch, int rank, int world) {
  std::vector<int64_t> ks;
  for (int64_t k = rank; k < batch; k += world) ks.push_back(k);
  return ks;
}

at::Tensor sample_row(const StepResult& r) {
  const int64_t g = r.grad.numel();
  auto row = at::empty({1, g + kRowExtras}, at::kDouble);
  row.narrow(1, 0, g).copy_(r.grad.reshape({1, g}));  // float32 -> float64 is exact
  auto a = row.accessor<double, 2>();
  a[0][g] = r.distill;
  a[0][g + 1] = r.reg;
  a[0][g + 2] = static_cast<double>(r.seq_len);
  a[0][g + 3] = static_cast<double>(r.n_labels);
  return row;
}

StepResult combine_rows(const at::Tensor& gathered, int64_t batch, int world, int64_t n_layers, int64_t n_kv_heads,
                        double reg_weight) {
  const int64_t g = n_layers * n_kv_heads, slots = slots_per_rank(batch, world);
  DUO_ASSERT(gathered.scalar_type() == at::kDouble && gathered.dim() == 2 && gathered.size(0) == world * slots &&
             gathered.size(1) == g + kRowExtras);
  auto rows = gathered.contiguous();
  auto a = rows.accessor<double, 2>();
  std::vector<double> grad(g), extra(kRowExtras);
  // Batch position k sits in rank k % world's slot k / world. A plain left fold in k: the order
  // of the additions is fixed, whatever the world size.
  for (int64_t k = 0; k < batch; ++k) {
    const int64_t row = (k % world) * slots + k / world;
    for (int64_t i = 0; i < g; ++i) grad[i] = k == 0 ? a[row][i] : grad[i] + a[row][i];
    for (int64_t i = 0; i < kRowExtras; ++i) {
      if (i == 1) continue;  // reg: position 0's
      extra[i] = k == 0 ? a[row][g + i] : extra[i] + a[row][g + i];
    }
    if (k == 0) extra[1] = a[row][g + 1];
  }
  const double b = static_cast<double>(batch);
  StepResult r;
  auto t = at::empty({g}, at::kDouble);
  auto ta = t.accessor<double, 1>();
  for (int64_t i = 0; i < g; ++i) ta[i] = grad[i] / b;
  r.grad = t.to(at::kFloat).reshape({n_layers, n_kv_heads});
  r.distill = extra[0] / b;
  r.reg = extra[1];
  r.loss = r.distill + reg_weight * r.reg;
  r.seq_len = static_cast<int64_t>(extra[2]);
  r.n_labels = static_cast<int64_t>(extra[3]);
  return r;
}

}  // namespace duo::train
