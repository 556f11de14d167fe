// AdamW for pretraining (Loshchilov & Hutter; PyTorch's torch.optim.AdamW update): decoupled
// weight decay on the matrices only, bias-corrected moments, global-norm gradient clipping and
// the cosine schedule with linear warm-up. The moments are named after their parameters so
// that checkpoints can store and restore them.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace duo::pretrain {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;
};

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

class AdamW {
 public:
  // `params` alias the model's weights (updated in place). Decay applies to 2-d parameters
  // except the token embedding.
  AdamW(NamedTensors params, AdamWOptions opts);

  // One update with learning rate lr from the parameters' .grad(); increments steps().
  void step(double lr);
  int64_t steps() const { return steps_; }

  // "adam_m.<name>", "adam_v.<name>" for every parameter (for checkpoints).
  NamedTensors state() const;
  // Restores moments (shapes checked against the parameters) and the step count.
  void load_state(const NamedTensors& moments, int64_t steps);

  const NamedTensors& params() const { return params_; }

 private:
  NamedTensors params_;
  std::vector<at::Tensor> m_;
  std::vector<at::Tensor> v_;
  std::vector<bool> decay_;
  AdamWOptions opts_;
  int64_t steps_ = 0;
};

// Scales every gradient so that their global L2 norm is at most max_norm (when > 0); returns the
// norm before clipping.
double clip_grad_norm(const NamedTensors& params, double max_norm);

// lr at step s (0-based) of n: linear warm-up to `lr` over `warmup` steps, then cosine decay to
// lr * min_ratio at step n - 1.
double cosine_lr(int64_t s, int64_t n, int64_t warmup, double lr, double min_ratio);

}  // namespace duo::pretrain
