// AdamW (Loshchilov & Hutter), operation for operation as PyTorch's torch.optim.AdamW
// (single-tensor path, amsgrad and maximize off), shared by the gate trainer and `duo pretrain`.
// For each parameter p with gradient g at step t (1-based):
//   p <- p * (1 - lr * weight_decay)            (only where the decay rule says so)
//   m <- lerp(m, g, 1 - beta1);  v <- beta2 * v + (1 - beta2) * g^2
//   p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// The optimizer aliases the parameters it was given and updates them in place, without autograd.
// Its state (moments named after their parameters, step count) is exported and imported whole so
// that a resumed run continues bit for bit.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "optim/named_tensors.h"

namespace duo::optim {

// The defaults are DuoAttention's gate optimizer: betas (0.9, 0.999), eps 1e-8, no decay.
struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // decoupled, applied to the parameters the decay rule selects
};

// Whether weight decay applies to the parameter `name` with value `param`.
using DecayRule = std::function<bool(const std::string& name, const at::Tensor& param)>;

// Everything an AdamW run carries between steps. Moments have their parameter's shape and dtype.
struct AdamWState {
  std::map<std::string, at::Tensor> m;  // first moments by parameter name
  std::map<std::string, at::Tensor> v;  // second moments by parameter name
  int64_t steps = 0;                    // updates taken (t of the last update)
};

class AdamW {
 public:
  // `params` alias the tensors to update. Without a rule, decay applies to every parameter.
  AdamW(NamedTensors params, AdamWConfig config, DecayRule decays = nullptr);

  // One update at learning rate lr from each parameter's .grad(); parameters without a gradient
  // keep their value and moments. Increments steps().
  void step(double lr);
  // One update from explicit gradients, grads[i] for params()[i] (same shape; undefined skips it).
  void step(double lr, const std::vector<at::Tensor>& grads);

  int64_t steps() const { return steps_; }
  const NamedTensors& params() const { return params_; }
  const AdamWConfig& config() const { return config_; }

  // A deep copy of the moments and the step count.
  AdamWState state() const;
  // Restores a state: every parameter's two moments are required, with its shape.
  void set_state(const AdamWState& state);

 private:
  NamedTensors params_;
  AdamWConfig config_;
  std::vector<bool> decay_;  // per parameter
  std::vector<at::Tensor> m_;
  std::vector<at::Tensor> v_;
  int64_t steps_ = 0;
};

}  // namespace duo::optim
