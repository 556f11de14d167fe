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
  DUO_CHECK(grad.sizes() == param.sizes(), "AdamW: gradient has wrong shape; expected {}, got {}", param.sizes(),
            grad.sizes());
  state_.step += 1;
  optim::adamw_update(param, grad, state_.m, state_.v, state_.step, lr, config_);
}

}  // namespace duo::train
