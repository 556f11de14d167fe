// AdamW, gradient clipping and the learning-rate schedule (see adamw.h).
#include "pretrain/adamw.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <map>

#include "core/error.h"
#include "optim/adamw.h"

namespace duo::pretrain {

AdamW::AdamW(NamedTensors params, AdamWOptions opts) : params_(std::move(params)), opts_(opts) {
  for (const auto& [name, p] : params_) {
    m_.push_back(at::zeros_like(p));
    v_.push_back(at::zeros_like(p));
    decay_.push_back(p.dim() >= 2 && name.find("embed_tokens") == std::string::npos);
  }
}

void AdamW::step(double lr) {
  ++steps_;
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor p = params_[i].second;
    at::Tensor g = p.grad();
    if (!g.defined()) continue;
    optim::AdamWConfig c{opts_.beta1, opts_.beta2, opts_.eps, decay_[i] ? opts_.weight_decay : 0.0};
    optim::adamw_update(p, g, m_[i], v_[i], steps_, lr, c);
  }
}

NamedTensors AdamW::state() const {
  NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i) out.emplace_back("adam_m." + params_[i].first, m_[i]);
  for (size_t i = 0; i < params_.size(); ++i) out.emplace_back("adam_v." + params_[i].first, v_[i]);
  return out;
}

void AdamW::load_state(const NamedTensors& moments, int64_t steps) {
  std::map<std::string, at::Tensor> by_name(moments.begin(), moments.end());
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    for (auto* pair : {&m_, &v_}) {
      const std::string key = (pair == &m_ ? "adam_m." : "adam_v.") + params_[i].first;
      auto it = by_name.find(key);
      DUO_CHECK(it != by_name.end(), "AdamW state: tensor '{}' is missing", key);
      DUO_CHECK(it->second.sizes() == params_[i].second.sizes(),
                "AdamW state: tensor '{}' has wrong shape; expected {}, got {}", key, params_[i].second.sizes(),
                it->second.sizes());
      (*pair)[i].copy_(it->second);
    }
  }
  steps_ = steps;
}

double clip_grad_norm(const NamedTensors& params, double max_norm) {
  c10::NoGradGuard no_grad;
  double sq = 0.0;
  for (const auto& [name, p] : params) {
    if (p.grad().defined()) sq += p.grad().pow(2).sum().item<double>();
  }
  const double norm = std::sqrt(sq);
  if (max_norm > 0 && norm > max_norm) {
    const double scale = max_norm / (norm + 1e-6);
    for (const auto& [name, p] : params) {
      if (p.grad().defined()) p.mutable_grad().mul_(scale);
    }
  }
  return norm;
}

double cosine_lr(int64_t s, int64_t n, int64_t warmup, double lr, double min_ratio) {
  if (warmup > 0 && s < warmup) return lr * static_cast<double>(s + 1) / static_cast<double>(warmup);
  const double span = static_cast<double>(std::max<int64_t>(1, n - 1 - warmup));
  const double progress = std::min(1.0, static_cast<double>(s - warmup) / span);
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return lr * (min_ratio + (1.0 - min_ratio) * cosine);
}

}  // namespace duo::pretrain
