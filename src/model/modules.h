// The Llama-family module tree (internal to src/model; users go through model.h).
//
// Parameter names are exactly the Hugging Face keys, so loading a checkpoint is one loop over
// named_parameters():
//   model.embed_tokens.weight                         [vocab, hidden]
//   model.layers.{l}.input_layernorm.weight           [hidden]
//   model.layers.{l}.self_attn.{q,k,v,o}_proj.weight  [Hq*D, hidden], [Hkv*D, hidden] x2, [hidden, Hq*D]
//   model.layers.{l}.self_attn.{q,k,v,o}_proj.bias    (when the config has biases)
//   model.layers.{l}.self_attn.{q,k}_norm.weight      [D] (qwen3)
//   model.layers.{l}.post_attention_layernorm.weight  [hidden]
//   model.layers.{l}.mlp.{gate,up}_proj.weight        [inter, hidden]; down_proj [hidden, inter]
//   model.norm.weight                                 [hidden]
//   lm_head.weight                                    [vocab, hidden] (absent when tied)
// Every parameter is frozen (requires_grad false).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "model/model_config.h"

namespace duo::model {

// Where, and in which dtypes, a model's parameters are created. The weight matrices (linear
// layers, the embedding) may be stored in 16 bits while the model computes in fp32 (the norms and
// biases, which are small, are always in the compute dtype). Built from one TensorOptions, both
// are the same.
struct ParamOptions {
  at::TensorOptions compute;  // norms and biases
  at::TensorOptions matrix;   // linear and embedding weights
  ParamOptions(const at::TensorOptions& opts) : compute(opts), matrix(opts) {}  // NOLINT: implicit on purpose
  ParamOptions(const at::TensorOptions& compute_, const at::TensorOptions& matrix_)
      : compute(compute_), matrix(matrix_) {}
};

// y = x W^T + b for x [T, in], W [out, in], in x's dtype. One row (decoding) is a matrix-vector
// product on duo's own kernels (fp32 W, or bf16/f16 W read in 16 bits); more rows without
// gradients in fp32 go to kernels::cpu::gemm_out (oneDNN's sgemm where available), the rest to
// at::linear; a W stored in another dtype than x is widened for the call.
at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b = {});

struct LinearImpl : torch::nn::Module {
  LinearImpl(int64_t in, int64_t out, bool bias, const ParamOptions& opts);
  at::Tensor forward(const at::Tensor& x);  // [T, in] -> [T, out]
  at::Tensor weight;                        // [out, in]
  at::Tensor bias;                          // [out] or undefined
};
TORCH_MODULE(Linear);

// Hugging Face RMSNorm: normalize in float32, cast back to the input dtype, then scale.
struct RMSNormImpl : torch::nn::Module {
  RMSNormImpl(int64_t dim, double eps, const at::TensorOptions& opts);
  at::Tensor forward(const at::Tensor& x);  // [..., dim]
  at::Tensor weight;                        // [dim]
  double eps;
};
TORCH_MODULE(RMSNorm);

struct EmbeddingImpl : torch::nn::Module {
  EmbeddingImpl(int64_t vocab, int64_t dim, const at::TensorOptions& opts);
  at::Tensor weight;  // [vocab, dim]
};
TORCH_MODULE(Embedding);

struct AttentionImpl : torch::nn::Module {
  AttentionImpl(const ModelConfig& cfg, const ParamOptions& opts);
  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  RMSNorm q_norm{nullptr}, k_norm{nullptr};  // qwen3 only
};
TORCH_MODULE(Attention);

struct MLPImpl : torch::nn::Module {
  MLPImpl(const ModelConfig& cfg, const ParamOptions& opts);
  at::Tensor forward(const at::Tensor& x);  // SwiGLU: down(silu(gate(x)) * up(x)), [T, hidden]
  Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(MLP);

struct DecoderLayerImpl : torch::nn::Module {
  DecoderLayerImpl(const ModelConfig& cfg, const ParamOptions& opts);
  Attention self_attn{nullptr};
  MLP mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(DecoderLayer);

// "model.*": embeddings, the layers (registered as "layers.0", "layers.1", ...) and the final norm.
struct BackboneImpl : torch::nn::Module {
  BackboneImpl(const ModelConfig& cfg, const ParamOptions& opts);
  Embedding embed_tokens{nullptr};
  std::vector<DecoderLayer> layers;
  RMSNorm norm{nullptr};
};
TORCH_MODULE(Backbone);

struct CausalLMImpl : torch::nn::Module {
  CausalLMImpl(const ModelConfig& cfg, const ParamOptions& opts);
  Backbone model{nullptr};
  Linear lm_head{nullptr};  // null when tie_word_embeddings
};
TORCH_MODULE(CausalLM);

}  // namespace duo::model
