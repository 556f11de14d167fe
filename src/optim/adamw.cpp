// The single-tensor AdamW update (see adamw.h).
#include "optim/adamw.h"

#include <ATen/ATen.h>

#include <cmath>

namespace duo::optim {

void adamw_update(at::Tensor& param, const at::Tensor& grad, at::Tensor& m, at::Tensor& v, int64_t step, double lr,
                  const AdamWConfig& c) {
  at::NoGradGuard no_grad;
  const double t = static_cast<double>(step);
  if (c.weight_decay != 0.0) param.mul_(1.0 - lr * c.weight_decay);
  m.lerp_(grad, 1.0 - c.beta1);
  v.mul_(c.beta2).addcmul_(grad, grad, 1.0 - c.beta2);
  const double bias1 = 1.0 - std::pow(c.beta1, t);
  const double bias2 = 1.0 - std::pow(c.beta2, t);
  auto denom = (v.sqrt() / std::sqrt(bias2)).add_(c.eps);
  param.addcdiv_(m, denom, -lr / bias1);
}

}  // namespace duo::optim
