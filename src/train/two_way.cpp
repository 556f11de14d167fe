// Two-way forward + backward to the gates (see two_way.h).
#include "train/two_way.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <memory>
#include <vector>

#include "core/error.h"
#include "train/loss.h"

namespace duo::train {
namespace {

attention::LayerSpec full_spec() { return {}; }

attention::LayerSpec gated_spec(const at::Tensor& alpha_row, const TwoWayConfig& cfg,
                                std::shared_ptr<attention::GatedSaved> saved = nullptr) {
  attention::LayerSpec s;
  s.window = cfg.window;
  s.alpha = alpha_row;
  s.saved = std::move(saved);
  return s;
}

}  // namespace

at::Tensor teacher_hidden_rows(const model::Model& model, const at::Tensor& ids, const at::Tensor& label_rows) {
  at::NoGradGuard no_grad;
  auto x = model.embed(ids);  // [T, hidden]
  const int64_t n_layers = model.config().n_layers;
  for (int64_t l = 0; l < n_layers; ++l) x = model.layer_forward(l, x, full_spec());
  return model.final_norm(x.index_select(0, label_rows));  // RMSNorm is row-wise: only label rows needed
}

StepResult two_way_step(const model::Model& model, const at::Tensor& ids, const at::Tensor& label_mask,
                        const at::Tensor& alpha, const TwoWayConfig& cfg) {
  const int64_t n_layers = model.config().n_layers;
  const int64_t n_kv = model.config().n_kv_heads;
  DUO_CHECK(alpha.dim() == 2 && alpha.size(0) == n_layers && alpha.size(1) == n_kv,
            "gates have wrong shape; expected [{}, {}] (layers, kv heads), got {}", n_layers, n_kv, alpha.sizes());
  DUO_CHECK(ids.dim() == 1 && label_mask.dim() == 1 && ids.size(0) == label_mask.size(0),
            "training sample: ids and label mask must both be [T]; got {} and {}", ids.sizes(), label_mask.sizes());
  auto rows = label_mask.to(at::kBool).nonzero().squeeze(1);  // [N] label positions
  DUO_CHECK(rows.numel() > 0, "training sample of {} tokens has no label tokens; expected at least one", ids.size(0));

  StepResult r;
  r.seq_len = ids.size(0);
  r.n_labels = rows.numel();
  auto h_full = teacher_hidden_rows(model, ids, rows);  // [N, hidden]

  auto a = alpha.detach().clone().set_requires_grad(true);  // leaf: gradients accumulate here
  at::Tensor x0;
  {
    at::NoGradGuard no_grad;
    x0 = model.embed(ids);
  }
  // The loss on the last layer's output x [T, hidden]; backward to x (when it needs grad) and a.
  auto loss_backward = [&](const at::Tensor& x) {
    auto h = model.final_norm(x.index_select(0, rows));
    auto distill = distill_loss_rows(h_full, h);
    auto reg = reg_loss(a);
    (distill + cfg.reg_weight * reg).backward();
    r.distill = distill.item<double>();
    r.reg = reg.item<double>();
  };
  if (!cfg.recompute) {
    auto x = x0;
    for (int64_t l = 0; l < n_layers; ++l) x = model.layer_forward(l, x, gated_spec(a[l], cfg));
    loss_backward(x);
  } else {
    // Forward without autograd, keeping each layer's input (and, with keep_attention, its
    // attention kernels' outputs and log-sum-exp rows, so the recompute below skips them).
    std::vector<at::Tensor> inputs(n_layers);
    std::vector<std::shared_ptr<attention::GatedSaved>> saved(n_layers);
    at::Tensor x = x0;
    {
      at::NoGradGuard no_grad;
      for (int64_t l = 0; l < n_layers; ++l) {
        inputs[l] = x;
        if (cfg.keep_attention) saved[l] = std::make_shared<attention::GatedSaved>();
        x = model.layer_forward(l, x, gated_spec(a[l].detach(), cfg, saved[l]));
      }
    }
    // Loss on the top, then one layer at a time downwards.
    auto top = x.detach().set_requires_grad(true);
    loss_backward(top);
    at::Tensor grad = top.grad();
    for (int64_t l = n_layers - 1; l >= 0; --l) {
      auto xin = inputs[l].detach().set_requires_grad(l > 0);
      auto out = model.layer_forward(l, xin, gated_spec(a[l], cfg, saved[l]));
      out.backward(grad);
      if (l > 0) grad = xin.grad();
      inputs[l] = at::Tensor();  // free as we go
      saved[l].reset();
    }
  }
  r.loss = r.distill + cfg.reg_weight * r.reg;
  r.grad = a.grad().defined() ? a.grad().detach().clone() : at::zeros_like(alpha);
  return r;
}

}  // namespace duo::train
