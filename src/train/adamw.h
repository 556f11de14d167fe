// AdamW for the gates, written out so that each step is exactly PyTorch's torch.optim.AdamW
// (single-tensor path, amsgrad off, maximize off) and its state can be checkpointed:
//   p   <- p * (1 - lr * weight_decay)
//   m   <- beta1 * m + (1 - beta1) * g
//   v   <- beta2 * v + (1 - beta2) * g^2
//   p   <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// DuoAttention uses weight_decay 0, betas (0.9, 0.999), eps 1e-8.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "optim/adamw.h"

namespace duo::train {

using AdamWConfig = optim::AdamWConfig;

struct AdamWState {
  at::Tensor m;       // first moment, same shape and dtype as the parameter
  at::Tensor v;       // second moment
  int64_t step = 0;   // optimizer steps taken
};

class AdamW {
 public:
  AdamW(const at::Tensor& param, AdamWConfig config = {});
  // One update of `param` (in place, no autograd) from `grad` at learning rate lr.
  void step(at::Tensor& param, const at::Tensor& grad, double lr);
  const AdamWState& state() const { return state_; }
  void set_state(AdamWState state);
  const AdamWConfig& config() const { return config_; }

 private:
  AdamWConfig config_;
  AdamWState state_;
};

}  // namespace duo::train
