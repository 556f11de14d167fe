// Materialized masked-softmax attention (see reference.h). Deliberately plain: every score is
// computed, masked with -inf and normalized by at::softmax.
#include "attention/reference.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "kernels/attention_mask.h"

namespace duo::attention {

at::Tensor visibility(const at::Tensor& q_pos, const at::Tensor& k_pos, bool streaming, const LayerSpec& spec) {
  // Element by element through the kernels' own predicate: one definition of the mask.
  const kernels::HeadMask mask{streaming, spec.window, spec.sliding_window};
  const at::Tensor qp = q_pos.to(at::kCPU, at::kLong).contiguous(), kp = k_pos.to(at::kCPU, at::kLong).contiguous();
  const int64_t n = qp.numel(), l = kp.numel();
  at::Tensor vis = at::empty({n, l}, at::TensorOptions().dtype(at::kBool));
  const int64_t* qi = qp.data_ptr<int64_t>();
  const int64_t* kj = kp.data_ptr<int64_t>();
  bool* out = vis.data_ptr<bool>();
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < l; ++b) out[a * l + b] = mask.visible(qi[a], kj[b]);
  return vis.to(q_pos.device());
}

namespace {

// q [G, n, D] against k, v [L, D] in the compute dtype; returns [G, n, D].
at::Tensor attend_one(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& vis,
                      double scale) {
  at::Tensor scores = at::matmul(q, k.t()) * scale;  // [G, n, L]
  scores = scores.masked_fill(vis.logical_not(), -std::numeric_limits<double>::infinity());
  at::Tensor p = at::softmax(scores, -1);
  p = p.masked_fill(vis.logical_not(), 0.0);  // rows with nothing visible give 0, not NaN
  return at::matmul(p, v);
}

}  // namespace

at::Tensor attend_positions_reference(const at::Tensor& q, const at::Tensor& q_pos, const at::Tensor& k,
                                      const at::Tensor& v, const at::Tensor& k_pos, const LayerSpec& spec) {
  DUO_CHECK(q.dim() == 3 && k.dim() == 3 && v.dim() == 3 && k.sizes() == v.sizes(),
            "attention reference: expected q [Hq, n, D], k and v [Hkv, L, D]; got q {}, k {}, v {}", q.sizes(),
            k.sizes(), v.sizes());
  DUO_CHECK(q_pos.numel() == q.size(1) && k_pos.numel() == k.size(1),
            "attention reference: positions must match; expected q_pos [{}], k_pos [{}], got {} and {}", q.size(1),
            k.size(1), q_pos.sizes(), k_pos.sizes());
  const int64_t hkv = k.size(0), g = q.size(0) / hkv;
  const at::ScalarType ct = q.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const double scale = spec.scale > 0 ? spec.scale : 1.0 / std::sqrt(static_cast<double>(q.size(2)));
  const at::Tensor qc = q.to(ct), kc = k.to(ct), vc = v.to(ct);
  const at::Tensor vis_full = visibility(q_pos, k_pos, false, spec);
  const at::Tensor vis_stream = visibility(q_pos, k_pos, true, spec);
  std::vector<at::Tensor> heads;
  for (int64_t h = 0; h < hkv; ++h) {
    const at::Tensor qh = qc.narrow(0, h * g, g);
    if (spec.is_gated()) {
      const at::Tensor a = spec.alpha[h].clamp(0.0, 1.0).to(ct);
      const at::Tensor full = attend_one(qh, kc[h], vc[h], vis_full, scale);
      const at::Tensor stream = attend_one(qh, kc[h], vc[h], vis_stream, scale);
      heads.push_back(a * full + (1 - a) * stream);
    } else {
      const bool streaming = spec.kind(h) == HeadKind::kStreaming;
      heads.push_back(attend_one(qh, kc[h], vc[h], streaming ? vis_stream : vis_full, scale));
    }
  }
  return at::cat(heads, 0).to(q.scalar_type());
}

at::Tensor attend_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const LayerSpec& spec) {
  const at::TensorOptions pos_opts = q.options().dtype(at::kLong);
  return attend_positions_reference(q, at::arange(q.size(1), pos_opts), k, v, at::arange(k.size(1), pos_opts), spec);
}

at::Tensor attend_chunk_reference(const at::Tensor& q, const at::Tensor& k_new, const at::Tensor& v_new, int64_t p0,
                                  const CacheView& cache, HeadKind kind, const LayerSpec& spec) {
  LayerSpec s = spec;
  s.alpha = at::Tensor();
  s.kinds.assign(static_cast<size_t>(k_new.size(0)), kind);
  const at::Tensor q_pos = at::arange(p0, p0 + q.size(1), q.options().dtype(at::kLong));
  if (cache.empty()) return attend_positions_reference(q, q_pos, k_new, v_new, q_pos, s);
  const at::Tensor k = at::cat({cache.k.to(k_new.scalar_type()), k_new}, 1);
  const at::Tensor v = at::cat({cache.v.to(v_new.scalar_type()), v_new}, 1);
  return attend_positions_reference(q, q_pos, k, v, at::cat({cache.pos.to(q_pos.device(), at::kLong), q_pos}), s);
}

}  // namespace duo::attention
