// RowStep: the non-attention work of one decoded token, on duo's kernels instead of LibTorch ops.
//
// Decoding feeds one token at a time, and for one row every LibTorch op (an RMSNorm is six,
// RoPE about ten, each with its own allocation and dispatch) costs far more than its arithmetic.
// RowStep runs a layer's pieces on fp32 row buffers:
//
//   qkv:      h = attn_norm(x); q, k, v = W_q h, W_k h, W_v h (+ biases) in ONE task-pool pass;
//             per-head q/k norms (qwen3); RoPE at the token's position
//   attn_out: x += W_o o (+ bias)
//   mlp:      h = mlp_norm(x); g, u = W_gate h, W_up h in one pass; x += W_down (silu(g) * u)
//
// The attention between qkv and attn_out is the decoder's (runtime/decoder.cpp). The arithmetic
// is Model's (Hugging Face's): RMSNorm in fp32 as x * rsqrt(mean(x^2) + eps) times the weight,
// RoPE as x * cos + rotate_half(x) * sin; results equal the LibTorch path up to fp32 rounding
// (summation order). Weights stay where the model keeps them (fp32, or bf16/f16 read in 16 bits).
#pragma once

#include <cstdint>
#include <vector>

#include "model/model.h"

namespace duo::runtime {

class RowStep {
 public:
  // The models RowStep runs: fp32 compute on the CPU (weights fp32, bf16 or f16).
  static bool supports(const model::Model& model);
  explicit RowStep(const model::Model& model);

  // Layer l's q [Hq*D], k [Hkv*D] (RoPE for the tables' row cos, sin [D]) and v [Hkv*D] for the
  // residual stream x [hidden].
  void qkv(int64_t l, const float* x, const float* cos, const float* sin, float* q, float* k, float* v);
  // x [hidden] += o_proj(o), o [Hq*D] (heads in order, as Model::attn_out flattens them).
  void attn_out(int64_t l, const float* o, float* x);
  // x [hidden] += mlp(mlp_norm(x)).
  void mlp(int64_t l, float* x);

 private:
  std::vector<model::Model::LayerWeights> layers_;
  int64_t hidden_, n_heads_, n_kv_heads_, head_dim_, inter_;
  std::vector<float> h_, y_, g_, u_;  // scratch rows: [hidden] x2, [inter] x2
};

}  // namespace duo::runtime
