// Module constructors and the small per-module forwards (see modules.h for the names).
#include "model/modules.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <string>

#include "kernels/cpu/half_rows.h"
#include "kernels/cpu/task_pool.h"
#include "kernels/cpu/vec_math.h"

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
  // One row (decoding): a matrix-vector product, bound by reading W once. BLAS gemm with M = 1
  // packs (copies) the whole weight matrix on every call; OpenBLAS's gemv reached ~60% of the
  // read bandwidth here. So the rows of W are split over duo's task pool and each chunk is a run
  // of AVX2 dot products (kernels::cpu::dot_rows, the decode-attention score kernel).
  const bool grad = c10::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad());
  if (!grad && x.dim() == 2 && x.size(0) == 1 && w.dim() == 2 && x.size(1) == w.size(1) &&
      w.scalar_type() == at::kFloat && x.scalar_type() == at::kFloat && w.is_contiguous()) {
    const at::Tensor xv = x.select(0, 0).contiguous();  // [in]
    const int64_t out = w.size(0), in = w.size(1);
    at::Tensor y = at::empty({out}, x.options());       // [out]
    const int64_t threads = at::get_num_threads();
    const int64_t chunks = threads > 1 && out >= 512 ? 4 * threads : 1;
    const int64_t per = (out + chunks - 1) / chunks;
    const float* xp = xv.data_ptr<float>();
    const float* wp = w.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    kernels::cpu::run_tasks(chunks, [&](int64_t c) {
      const int64_t r0 = c * per, r1 = std::min(out, r0 + per);
      if (r1 > r0) kernels::cpu::dot_rows(xp, 1, wp + r0 * in, r1 - r0, in, in, yp + r0);
    });
    if (b.defined()) y.add_(b);
    return y.unsqueeze(0);  // [1, out]
  }
  // The same with 16-bit weights (a bf16 / f16 model, --dtype bf16): W is read in 16 bits and
  // widened in registers (kernels::cpu::dot_rows_half), x and the sums in fp32, the result rounded
  // once to x's dtype. Half the bytes of fp32 weights; LibTorch 1.13's bf16 gemv is far slower.
  const bool half_w = w.scalar_type() == at::kBFloat16 || w.scalar_type() == at::kHalf;
  if (!grad && half_w && x.dim() == 2 && x.size(0) == 1 && w.dim() == 2 && x.size(1) == w.size(1) &&
      w.is_contiguous() && x.is_floating_point() && x.scalar_type() != at::kDouble) {
    const at::Tensor xv = x.select(0, 0).to(at::kFloat).contiguous();  // [in] fp32
    const int64_t out = w.size(0), in = w.size(1);
    at::Tensor y = at::empty({out}, x.options().dtype(at::kFloat));    // [out] fp32
    const int64_t threads = at::get_num_threads();
    const int64_t chunks = threads > 1 && out >= 512 ? 4 * threads : 1;
    const int64_t per = (out + chunks - 1) / chunks;
    const auto type = w.scalar_type() == at::kBFloat16 ? kernels::cpu::HalfType::kBF16 : kernels::cpu::HalfType::kF16;
    const float* xp = xv.data_ptr<float>();
    const auto* wp = reinterpret_cast<const uint16_t*>(w.data_ptr());
    float* yp = y.data_ptr<float>();
    kernels::cpu::run_tasks(chunks, [&](int64_t c) {
      const int64_t r0 = c * per, r1 = std::min(out, r0 + per);
      if (r1 > r0) kernels::cpu::dot_rows_half(xp, 1, wp + r0 * in, r1 - r0, in, in, yp + r0, type);
    });
    if (b.defined()) y.add_(b.to(at::kFloat));
    return y.to(x.scalar_type()).unsqueeze(0);  // [1, out]
  }
  // More rows (prefill, training): W stored in 16 bits under an fp32 model is widened for this
  // call only (exact: every bf16/f16 value is an fp32 value), so the product is the one of fp32
  // weights holding the same values.
  if (w.scalar_type() != x.scalar_type()) return at::linear(x, w.to(x.scalar_type()), b);
  return at::linear(x, w, b);
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
