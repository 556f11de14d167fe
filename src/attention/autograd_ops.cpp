// Autograd Functions around the blockwise kernels (see autograd_ops.h). Forward saves q, k, v,
// the outputs and the log-sum-exp rows; backward calls kernels::cpu::flash_backward. Kernel
// parameters travel in ctx->saved_data as plain values. The gated forward can take its kernel
// results from a GatedSaved filled by an earlier forward over the same q, k, v (recompute).
#include "attention/autograd_ops.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <vector>

#include "attention/attention.h"
#include "core/error.h"

namespace duo::attention {
namespace {

namespace kc = duo::kernels::cpu;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

void save_params(AutogradContext* ctx, const kc::AttentionParams& p) {
  ctx->saved_data["streaming"] = std::vector<int64_t>(p.streaming.begin(), p.streaming.end());
  ctx->saved_data["sink"] = p.window.sink;
  ctx->saved_data["recent"] = p.window.recent;
  ctx->saved_data["sliding_window"] = p.sliding_window;
  ctx->saved_data["scale"] = p.scale;
  ctx->saved_data["q_rows"] = p.q_rows;
  ctx->saved_data["stream_q_rows"] = p.stream_q_rows;
  ctx->saved_data["k_block"] = p.k_block;
}

kc::AttentionParams load_params(AutogradContext* ctx) {
  kc::AttentionParams p;
  for (int64_t s : ctx->saved_data["streaming"].toIntVector()) p.streaming.push_back(static_cast<uint8_t>(s));
  p.window = StreamWindow(ctx->saved_data["sink"].toInt(), ctx->saved_data["recent"].toInt());
  p.sliding_window = ctx->saved_data["sliding_window"].toInt();
  p.scale = ctx->saved_data["scale"].toDouble();
  p.q_rows = ctx->saved_data["q_rows"].toInt();
  p.stream_q_rows = ctx->saved_data["stream_q_rows"].toInt();
  p.k_block = ctx->saved_data["k_block"].toInt();
  return p;
}

kc::AttentionParams with_kind(kc::AttentionParams p, int64_t hkv, bool streaming) {
  p.streaming.assign(hkv, streaming ? 1 : 0);
  return p;
}

// Gates per query head as [Hq, 1, 1] in `dtype`: a = clamp(alpha, 0, 1) repeated over the group.
at::Tensor query_head_gates(const at::Tensor& alpha, int64_t g, at::ScalarType dtype) {
  return alpha.detach().clamp(0.0, 1.0).to(dtype).repeat_interleave(g).view({-1, 1, 1});
}

struct FlashAttentionFunction : public torch::autograd::Function<FlashAttentionFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const kc::AttentionParams& p) {
    kc::ForwardResult r = kc::flash_forward(q, k, v, p);
    save_params(ctx, p);
    ctx->save_for_backward({q, k, v, r.out, r.lse});
    return {r.out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list s = ctx->get_saved_variables();
    const kc::AttentionParams p = load_params(ctx);
    kc::BackwardResult g = kc::flash_backward(grads[0], s[0], s[1], s[2], s[3], s[4], p);
    return {g.dq, g.dk, g.dv, at::Tensor()};
  }
};

struct GatedAttentionFunction : public torch::autograd::Function<GatedAttentionFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& alpha, const kc::AttentionParams& p, GatedSaved* saved) {
    const int64_t hkv = k.size(0), g = q.size(0) / hkv;
    kc::ForwardResult full, stream;
    if (saved != nullptr && saved->filled()) {
      DUO_CHECK(saved->full_out.sizes() == q.sizes() && saved->stream_out.sizes() == q.sizes() &&
                    saved->full_out.scalar_type() == q.scalar_type(),
                "gated attention: saved kernel results do not match q; expected [Hq, T, D] = {} ({}), got {} ({})",
                q.sizes(), c10::toString(q.scalar_type()), saved->full_out.sizes(),
                c10::toString(saved->full_out.scalar_type()));
      full = {saved->full_out, saved->full_lse};
      stream = {saved->stream_out, saved->stream_lse};
    } else {
      full = kc::flash_forward(q, k, v, with_kind(p, hkv, false));
      stream = kc::flash_forward(q, k, v, with_kind(p, hkv, true));
      if (saved != nullptr) *saved = GatedSaved{full.out, full.lse, stream.out, stream.lse};
    }
    const at::ScalarType ct = q.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    const at::Tensor a = query_head_gates(alpha, g, ct);  // [Hq, 1, 1]
    const at::Tensor sf = stream.out.to(ct);
    const at::Tensor out = (sf + a * (full.out.to(ct) - sf)).to(q.scalar_type());
    save_params(ctx, p);
    ctx->save_for_backward({q, k, v, alpha, full.out, full.lse, stream.out, stream.lse});
    return {out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list s = ctx->get_saved_variables();
    const at::Tensor &q = s[0], &k = s[1], &v = s[2], &alpha = s[3];
    const int64_t hkv = k.size(0), g = q.size(0) / hkv;
    const kc::AttentionParams p = load_params(ctx);
    const at::ScalarType ct = q.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    const at::Tensor a = query_head_gates(alpha, g, ct);  // [Hq, 1, 1]
    const at::Tensor dout = grads[0].to(ct);              // [Hq, T, D]
    // d out / d a = full - stream; summed over the group's query heads, T and D.
    const at::Tensor da = (dout * (s[4].to(ct) - s[6].to(ct))).sum({1, 2}).view({hkv, g}).sum(1);
    const at::Tensor inside = (alpha >= 0.0).logical_and(alpha <= 1.0);
    const at::Tensor dalpha = (da * inside.to(ct)).to(alpha.scalar_type());
    const at::ScalarType dt = q.scalar_type();
    kc::BackwardResult gf = kc::flash_backward((a * dout).to(dt), q, k, v, s[4], s[5], with_kind(p, hkv, false));
    kc::BackwardResult gs = kc::flash_backward(((1 - a) * dout).to(dt), q, k, v, s[6], s[7], with_kind(p, hkv, true));
    return {gf.dq.add_(gs.dq), gf.dk.add_(gs.dk), gf.dv.add_(gs.dv), dalpha, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor flash_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const kc::AttentionParams& params) {
  return FlashAttentionFunction::apply(q, k, v, params)[0];
}

at::Tensor gated_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& alpha,
                           const kc::AttentionParams& params, GatedSaved* saved) {
  return GatedAttentionFunction::apply(q, k, v, alpha, params, saved)[0];
}

}  // namespace duo::attention
