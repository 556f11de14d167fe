// The AdamW update of one tensor, operation for operation as PyTorch's torch.optim.AdamW
// (single-tensor path, amsgrad and maximize off), shared by the gate trainer and `duo pretrain`:
//   p <- p * (1 - lr * weight_decay)
//   m <- lerp(m, g, 1 - beta1);  v <- beta2 * v + (1 - beta2) * g^2
//   p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace duo::optim {

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

// One update of `param` in place (no autograd) from `grad`; m and v are its moments and `step`
// the 1-based step number used for bias correction.
void adamw_update(at::Tensor& param, const at::Tensor& grad, at::Tensor& m, at::Tensor& v, int64_t step, double lr,
                  const AdamWConfig& config);

}  // namespace duo::optim
