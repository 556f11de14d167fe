// The pretraining loss's gradient with respect to every weight tensor of a whole tiny model,
// against central finite differences in double precision. Pretraining trains every weight
// (the gate trainer trains only gates), so every tensor kind is checked: embedding, norms,
// q/k/v/o, MLP, LM head.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <string>

#include "core/threads.h"
#include "model/model.h"
#include "pretrain/hf_export.h"
#include "pretrain/lm_loss.h"

namespace duo::pretrain {
namespace {

TEST(PretrainGradient, EveryWeightMatchesFiniteDifferences) {
  core::set_threads(1);
  ShapeOptions s;
  s.n_layers = 2;
  s.hidden_size = 16;
  s.n_heads = 4;
  s.n_kv_heads = 2;
  s.intermediate_size = 24;
  s.initializer_range = 0.3;  // large enough that every path carries gradient
  model::LoadOptions lo;
  lo.dtype = at::kDouble;
  auto m = model::Model::random(make_model_config(s, /*vocab=*/40), 5, lo);
  auto params = m.named_weights();

  // Norm weights start at 1 and q/k start tiny; perturb everything so no gradient is trivially 0.
  {
    at::NoGradGuard ng;
    auto gen = at::detail::createCPUGenerator(9);
    for (auto& [name, p] : params) p.add_(at::randn(p.sizes(), gen, p.options()) * 0.1);
  }

  WeightedSequence sample;
  sample.ids = {1, 7, 12, 30, 7, 12, 5, 19, 33, 7, 12, 30, 8, 2};
  for (size_t i = 0; i + 1 < sample.ids.size(); ++i) sample.weights.push_back(i % 3 == 0 ? 4.0f : 0.5f);
  sample.answer = {10, 3};

  auto loss_of = [&]() { return sequence_loss(m, sample).weighted_sum; };

  for (auto& [name, p] : params) p.requires_grad_(true);
  loss_of().backward();
  at::NoGradGuard ng;
  int checked = 0;
  for (auto& [name, p] : params) {
    ASSERT_TRUE(p.grad().defined()) << name << ": no gradient reached this weight";
    auto flat = p.view(-1);
    auto g = p.grad().reshape(-1);
    const int64_t n = flat.numel();
    for (int64_t k = 0; k < 3; ++k) {
      const int64_t i = (k * 7919 + 13) % n;
      const double h = 1e-6;
      const double orig = flat[i].item<double>();
      flat[i].fill_(orig + h);
      const double up = loss_of().item<double>();
      flat[i].fill_(orig - h);
      const double down = loss_of().item<double>();
      flat[i].fill_(orig);
      const double fd = (up - down) / (2 * h);
      const double an = g[i].item<double>();
      EXPECT_NEAR(an, fd, 1e-6 + 1e-5 * std::abs(fd)) << name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GE(checked, 3 * 9 * 2);
}

}  // namespace
}  // namespace duo::pretrain
