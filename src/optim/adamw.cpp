// AdamW over named parameters (see adamw.h).
#include "optim/adamw.h"

#include <ATen/ATen.h>

#include <cmath>
#include <utility>

#include "core/error.h"

namespace duo::optim {
namespace {

// One update of `param` from `grad`; m and v are its moments and t the 1-based step number used
// for bias correction. Written as torch.optim.AdamW's _single_tensor_adamw, in its order.
void update(at::Tensor& param, const at::Tensor& grad, at::Tensor& m, at::Tensor& v, int64_t t, double lr,
            const AdamWConfig& c, bool decay) {
  at::NoGradGuard no_grad;
  const double step = static_cast<double>(t);
  if (decay && c.weight_decay != 0.0) param.mul_(1.0 - lr * c.weight_decay);
  m.lerp_(grad, 1.0 - c.beta1);
  v.mul_(c.beta2).addcmul_(grad, grad, 1.0 - c.beta2);
  const double bias1 = 1.0 - std::pow(c.beta1, step);
  const double bias2 = 1.0 - std::pow(c.beta2, step);
  auto denom = (v.sqrt() / std::sqrt(bias2)).add_(c.eps);
  param.addcdiv_(m, denom, -lr / bias1);
}

// The moment of parameter `name` in `moments` (`which`: "first" or "second"), checked against it.
at::Tensor moment_of(const std::map<std::string, at::Tensor>& moments, const std::string& name,
                     const at::Tensor& param, const char* which) {
  auto it = moments.find(name);
  DUO_CHECK(it != moments.end(), "AdamW state: the {} moment of parameter '{}' is missing", which, name);
  DUO_CHECK(it->second.sizes() == param.sizes(), "AdamW state: {} moment of '{}' has wrong shape; expected {}, got {}",
            which, name, param.sizes(), it->second.sizes());
  return it->second;
}

}  // namespace

AdamW::AdamW(NamedTensors params, AdamWConfig config, DecayRule decays)
    : params_(std::move(params)), config_(config) {
  for (const auto& [name, p] : params_) {
    m_.push_back(at::zeros_like(p));
    v_.push_back(at::zeros_like(p));
    decay_.push_back(!decays || decays(name, p));
  }
}

void AdamW::step(double lr) {
  std::vector<at::Tensor> grads;
  grads.reserve(params_.size());
  for (const auto& [name, p] : params_) grads.push_back(p.grad());
  step(lr, grads);
}

void AdamW::step(double lr, const std::vector<at::Tensor>& grads) {
  DUO_CHECK(grads.size() == params_.size(), "AdamW: expected {} gradients (one per parameter), got {}",
            params_.size(), grads.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    DUO_CHECK(!grads[i].defined() || grads[i].sizes() == params_[i].second.sizes(),
              "AdamW: gradient of '{}' has wrong shape; expected {}, got {}", params_[i].first,
              params_[i].second.sizes(), grads[i].sizes());
  }
  ++steps_;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!grads[i].defined()) continue;
    update(params_[i].second, grads[i], m_[i], v_[i], steps_, lr, config_, decay_[i]);
  }
}

AdamWState AdamW::state() const {
  AdamWState s;
  for (size_t i = 0; i < params_.size(); ++i) {
    s.m.emplace(params_[i].first, m_[i].clone());
    s.v.emplace(params_[i].first, v_[i].clone());
  }
  s.steps = steps_;
  return s;
}

void AdamW::set_state(const AdamWState& state) {
  std::vector<at::Tensor> m, v;  // all checked before any is copied: a bad state changes nothing
  for (const auto& [name, p] : params_) {
    m.push_back(moment_of(state.m, name, p, "first"));
    v.push_back(moment_of(state.v, name, p, "second"));
  }
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    m_[i].copy_(m[i]);
    v_[i].copy_(v[i]);
  }
  steps_ = state.steps;
}

}  // namespace duo::optim
