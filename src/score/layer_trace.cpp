// The observed full-attention forward (see layer_trace.h).
#include "score/layer_trace.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "attention/attention.h"

namespace duo::score {

QkSource model_qk_source(const model::Model& model) {
  const auto& cfg = model.config();
  QkSource src;
  src.n_layers = cfg.n_layers;
  src.n_heads = cfg.n_heads;
  src.n_kv_heads = cfg.n_kv_heads;
  src.run = [model](const std::vector<int64_t>& ids, const LayerObserver& observe) {
    c10::NoGradGuard no_grad;
    auto t = at::tensor(ids, at::TensorOptions().dtype(at::kLong));
    auto x = model.embed(t);  // [T, hidden]
    auto positions = at::arange(static_cast<int64_t>(ids.size()), at::TensorOptions().dtype(at::kLong).device(x.device()));
    for (int64_t l = 0; l < model.config().n_layers; ++l) {
      auto qkv = model.qkv(l, model.attn_norm(l, x), positions);  // q [Hq, T, D], k/v [Hkv, T, D]
      const auto spec = model.layer_spec(l, attention::LayerSpec{});
      observe(l, qkv.q, qkv.k, spec.sliding_window);
      if (l + 1 == model.config().n_layers) break;  // nothing reads the last layer's output
      auto o = attention::attend(qkv.q, qkv.k, qkv.v, spec);  // [Hq, T, D]
      x = x + model.attn_out(l, o);
      x = x + model.mlp_block(l, x);
    }
  };
  return src;
}

}  // namespace duo::score
