// AdamW, operation for operation as torch.optim.AdamW's single-tensor path (see adamw.h).
#include "train/adamw.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"

namespace duo::train {

AdamW::AdamW(const at::Tensor& param, AdamWConfig config) : config_(config) {
  state_.m = at::zeros_like(param);
  state_.v = at::zeros_like(param);
}

void AdamW::set_state(AdamWState state) {
  DUO_CHECK(state.m.sizes() == state_.m.sizes() && state.v.sizes() == state_.v.sizes(),
            "AdamW state has wrong shape; expected {}, got m {} and v {}", state_.m.sizes(), state.m.sizes(),
            state.v.sizes());
  state_.m = state.m.to(state_.m.scalar_type()).clone();
  state_.v = state.v.to(state_.v.scalar_type()).clone();
  state_.step = state.step;
}

void AdamW::step(at::Tensor& param, const at::Tensor& grad, double lr) {
  at::NoGradGuard no_grad;
  DUO_CHECK(grad.sizes() == param.sizes(), "AdamW: gradient has wrong shape; expected {}, got {}", param.sizes(),
            grad.sizes());
  state_.step += 1;
  const double t = static_cast<double>(state_.step);
  if (config_.weight_decay != 0.0) param.mul_(1.0 - lr * config_.weight_decay);
  state_.m.lerp_(grad, 1.0 - config_.beta1);
  state_.v.mul_(config_.beta2).addcmul_(grad, grad, 1.0 - config_.beta2);
  const double bias1 = 1.0 - std::pow(config_.beta1, t);
  const double bias2 = 1.0 - std::pow(config_.beta2, t);
  const double step_size = lr / bias1;
  auto denom = (state_.v.sqrt() / std::sqrt(bias2)).add_(config_.eps);
  param.addcdiv_(state_.m, denom, -step_size);
}

}  // namespace duo::train
