// Module constructors and the small per-module forwards (see modules.h for the names).
#include "model/modules.h"

#include <ATen/ATen.h>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/matvec.h"

namespace duo::model {
namespace {

// A layers holder so that the layers register as "layers.{l}".
struct LayerListImpl : torch::nn::Module {};
TORCH_MODULE(LayerList);

}  // namespace

LinearImpl::LinearImpl(int64_t in, int64_t out, bool has_bias, const ParamOptions& opts) {
  weight = register_parameter("weight", at::zeros({out, in}, opts.matrix), /*requires_grad=*/false);
  if (has_bias) bias = register_parameter("bias", at::zeros({out}, opts.compute), /*requires_grad=*/false);
}

at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  // One row (decoding): a matrix-vector product, bound by reading W once, on duo's kernels
  // (kernels::cpu::matvec: the rows of W split over the task pool). BLAS gemm with M = 1 packs
  // (copies) the whole weight matrix on every call; OpenBLAS's gemv reached ~60% of the read
  // bandwidth here. 16-bit W (a bf16 / f16 model, or 16-bit weights under fp32 compute) is read in
  // 16 bits and widened in registers, x and the sums in fp32, the result rounded once to x's
  // dtype: half the bytes of fp32 weights (LibTorch 1.13's bf16 gemv is far slower).
  const bool grad = c10::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad());
  const auto wt = w.scalar_type();
  const bool kernel_w = wt == at::kFloat || wt == at::kBFloat16 || wt == at::kHalf;
  const bool kernel_x = x.scalar_type() == at::kFloat || (wt != at::kFloat && x.is_floating_point() &&
                                                          x.scalar_type() != at::kDouble);
  if (!grad && kernel_w && kernel_x && x.dim() == 2 && x.size(0) == 1 && w.dim() == 2 && x.size(1) == w.size(1) &&
      w.is_contiguous() && x.device().is_cpu() && w.device().is_cpu()) {
    const at::Tensor xv = x.select(0, 0).to(at::kFloat).contiguous();  // [in] fp32
    at::Tensor y = at::empty({w.size(0)}, x.options().dtype(at::kFloat));  // [out] fp32
    const at::Tensor bf = b.defined() ? b.to(at::kFloat).contiguous() : b;
    kernels::cpu::MatVec m;
    m.w = w.data_ptr();
    m.type = wt == at::kFloat      ? kernels::cpu::RowType::kF32
             : wt == at::kBFloat16 ? kernels::cpu::RowType::kBF16
                                   : kernels::cpu::RowType::kF16;
    m.rows = w.size(0);
    m.bias = bf.defined() ? bf.data_ptr<float>() : nullptr;
    m.y = y.data_ptr<float>();
    kernels::cpu::matvec(xv.data_ptr<float>(), w.size(1), &m, 1);
    return y.to(x.scalar_type()).unsqueeze(0);  // [1, out]
  }
  // More rows (prefill, training): W stored in 16 bits under an fp32 model is widened for this
  // call only (exact: every bf16/f16 value is an fp32 value), so the product is the one of fp32
  // weights holding the same values.
  const at::Tensor wx = w.scalar_type() != x.scalar_type() ? w.to(x.scalar_type()) : w;
  // Without gradients (prefill, scoring) fp32 rows go to kernels::cpu::gemm_out (oneDNN's sgemm
  // where LibTorch has it: about 2x OpenBLAS's rate here); W^T is read in place.
  if (!grad && x.scalar_type() == at::kFloat && x.dim() == 2 && wx.dim() == 2 && x.size(1) == wx.size(1) &&
      x.device().is_cpu() && wx.device().is_cpu()) {
    at::Tensor y = b.defined() ? b.to(at::kFloat).expand({x.size(0), wx.size(0)}).contiguous()
                               : at::empty({x.size(0), wx.size(0)}, x.options());  // [T, out]
    kernels::cpu::gemm_out(y, x, wx.t(), b.defined() ? 1.0f : 0.0f);
    return y;
  }
  return at::linear(x, wx, b);
}

at::Tensor LinearImpl::forward(const at::Tensor& x) { return linear(x, weight, bias); }

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_, const at::TensorOptions& opts) : eps(eps_) {
  weight = register_parameter("weight", at::ones({dim}, opts), /*requires_grad=*/false);
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  // At least fp32, as Hugging Face computes it; float64 (tests) stays float64.
  auto xf = x.scalar_type() == at::kDouble ? x : x.to(at::kFloat);
  auto variance = xf.pow(2).mean(-1, /*keepdim=*/true);
  auto normed = (xf * at::rsqrt(variance + eps)).to(x.scalar_type());
  return weight * normed;
}

EmbeddingImpl::EmbeddingImpl(int64_t vocab, int64_t dim, const at::TensorOptions& opts) {
  weight = register_parameter("weight", at::zeros({vocab, dim}, opts), /*requires_grad=*/false);
}

AttentionImpl::AttentionImpl(const ModelConfig& c, const ParamOptions& opts) {
  q_proj = register_module("q_proj", Linear(c.hidden_size, c.q_dim(), c.qkv_bias, opts));
  k_proj = register_module("k_proj", Linear(c.hidden_size, c.kv_dim(), c.qkv_bias, opts));
  v_proj = register_module("v_proj", Linear(c.hidden_size, c.kv_dim(), c.qkv_bias, opts));
  o_proj = register_module("o_proj", Linear(c.q_dim(), c.hidden_size, c.o_bias, opts));
  if (c.qk_norm) {
    q_norm = register_module("q_norm", RMSNorm(c.head_dim, c.rms_norm_eps, opts.compute));
    k_norm = register_module("k_norm", RMSNorm(c.head_dim, c.rms_norm_eps, opts.compute));
  }
}

MLPImpl::MLPImpl(const ModelConfig& c, const ParamOptions& opts) {
  gate_proj = register_module("gate_proj", Linear(c.hidden_size, c.intermediate_size, c.mlp_bias, opts));
  up_proj = register_module("up_proj", Linear(c.hidden_size, c.intermediate_size, c.mlp_bias, opts));
  down_proj = register_module("down_proj", Linear(c.intermediate_size, c.hidden_size, c.mlp_bias, opts));
}

at::Tensor MLPImpl::forward(const at::Tensor& x) {
  return down_proj->forward(at::silu(gate_proj->forward(x)) * up_proj->forward(x));
}

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c, const ParamOptions& opts) {
  self_attn = register_module("self_attn", Attention(c, opts));
  mlp = register_module("mlp", MLP(c, opts));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, opts.compute));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, opts.compute));
}

BackboneImpl::BackboneImpl(const ModelConfig& c, const ParamOptions& opts) {
  embed_tokens = register_module("embed_tokens", Embedding(c.vocab_size, c.hidden_size, opts.matrix));
  auto list = register_module("layers", LayerList());
  for (int64_t l = 0; l < c.n_layers; ++l) {
    layers.push_back(list->register_module(std::to_string(l), DecoderLayer(c, opts)));
  }
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps, opts.compute));
}

CausalLMImpl::CausalLMImpl(const ModelConfig& c, const ParamOptions& opts) {
  model = register_module("model", Backbone(c, opts));
  if (!c.tie_word_embeddings) lm_head = register_module("lm_head", Linear(c.hidden_size, c.vocab_size, false, opts));
}

}  // namespace duo::model
