// Model: a Llama-family causal LM (Llama 2/3/3.1, Mistral, Qwen2, Qwen3) for batch 1.
//
//   auto m = duo::model::Model::load("models/tiny");          // config.json + safetensors
//   at::Tensor h = m.hidden(ids);                              // ids [T] int64 -> [T, hidden]
//   at::Tensor logits = m.lm_head(h);                          // [T, vocab] float32
//
// A layer is x = x + attn_out(attend(qkv(attn_norm(x)))); x = x + mlp_block(x), with attention
// going through duo::attention::attend (the seam where full / streaming / gated heads plug in).
// The pieces are public for the gate trainer (per-layer calls, activation checkpointing) and the
// cached decoder (q/k/v with RoPE at absolute positions; keys are cached after RoPE).
//
// Weights are frozen (requires_grad false). hidden() runs under NoGradGuard unless the plan has
// gates; the per-layer calls never disable autograd, so gradients can reach the gates.
// Compute dtype is float32 or bfloat16 (F32/F16/BF16 checkpoints load). The weight matrices are
// stored in the compute dtype, or (LoadOptions::weight_dtype) in bf16/f16 under fp32 compute:
// a 16-bit checkpoint then loads without widening, and the linears widen W exactly, in registers
// for one row (decoding) and per call for more rows (prefill).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attention/attention.h"
#include "model/model_config.h"

namespace duo::model {

// One LayerSpec per layer; empty = every head full in every layer.
using AttentionPlan = std::vector<attention::LayerSpec>;

struct LoadOptions {
  at::ScalarType dtype = at::kFloat;  // compute dtype: kFloat or kBFloat16 (kDouble: tests only)
  c10::Device device = c10::kCPU;     // where weights live and compute runs
  // Storage of the weight matrices (linear layers, embedding): Undefined = the compute dtype;
  // kBFloat16 or kHalf under an fp32 compute dtype = kept in 16 bits (half the memory, and half
  // the bytes a decoded token reads). Norms and biases are always in the compute dtype.
  at::ScalarType weight_dtype = at::ScalarType::Undefined;
};

// What the loader found in a checkpoint (for `duo info`).
struct LoadInfo {
  std::filesystem::path dir;                   // the model folder
  std::vector<std::string> files;              // safetensors files (shards), names only
  int64_t n_tensors = 0;                       // tensors in the checkpoint
  std::map<std::string, int64_t> dtype_counts; // checkpoint dtype name -> tensor count
  std::vector<std::string> ignored;            // tensors skipped on purpose (e.g. rotary inv_freq)
};

class Model {
 public:
  // Reads dir/config.json and the safetensors weights; every model parameter must be present with
  // its exact shape and every checkpoint tensor must be used (errors name the tensor).
  static Model load(const std::filesystem::path& dir, const LoadOptions& opts = {});
  // Random weights initialized like Hugging Face (normal(0, initializer_range) for linear and
  // embedding weights, zero biases, unit norms; the pad row of the embedding zeroed). The same
  // seed gives the same weights for every dtype and device.
  static Model random(const ModelConfig& cfg, uint64_t seed, const LoadOptions& opts = {});

  const ModelConfig& config() const;
  const LoadOptions& options() const;
  at::ScalarType weight_dtype() const;  // how the weight matrices are stored (resolved)
  const LoadInfo& load_info() const;  // empty for random models

  // Token embeddings; throws for ids outside [0, vocab_size).
  at::Tensor embed(const at::Tensor& ids) const;  // [T] int64 -> [T, hidden]
  // One decoder layer for a sequence whose first token sits at absolute position pos0 (RoPE only;
  // the mask in `spec` is applied relative to the sequence start). The layer's own sliding window
  // (config) is written into the spec.
  at::Tensor layer_forward(int64_t l, const at::Tensor& x, const attention::LayerSpec& spec,
                           int64_t pos0 = 0) const;  // [T, hidden] -> [T, hidden]
  at::Tensor final_norm(const at::Tensor& x) const;  // [T, hidden] -> [T, hidden]
  at::Tensor lm_head(const at::Tensor& h) const;     // [T, hidden] -> [T, vocab] (float32)
  // Final normed hidden state (before the LM head).
  at::Tensor hidden(const at::Tensor& ids, const AttentionPlan& plan = {}) const;  // [T] -> [T, hidden]
  // lm_head(hidden(ids, plan)).
  at::Tensor logits(const at::Tensor& ids, const AttentionPlan& plan = {}) const;  // [T] -> [T, vocab]

  // Pieces of layer l for a cached decoder.
  at::Tensor attn_norm(int64_t l, const at::Tensor& x) const;  // input_layernorm, [T, hidden]
  struct QKV {
    at::Tensor q;  // [Hq, T, D], RoPE applied
    at::Tensor k;  // [Hkv, T, D], RoPE applied
    at::Tensor v;  // [Hkv, T, D]
  };
  QKV qkv(int64_t l, const at::Tensor& h, const at::Tensor& positions /*[T] int64 absolute*/) const;
  at::Tensor attn_out(int64_t l, const at::Tensor& o /*[Hq, T, D]*/) const;  // o_proj -> [T, hidden]
  at::Tensor mlp_block(int64_t l, const at::Tensor& x) const;  // post_attention_layernorm + MLP, no residual
  // The model's sliding window for layer l written into a copy of `spec`.
  attention::LayerSpec layer_spec(int64_t l, const attention::LayerSpec& spec) const;

  // The tensors of layer l, for the runtime's one-token step (runtime/row_step.h), which runs them
  // on duo's own kernels. Undefined where the config has none (biases, the qwen3 q/k norms).
  struct LayerWeights {
    at::Tensor attn_norm, mlp_norm;             // [hidden]
    at::Tensor q, k, v, o;                      // [Hq*D, hidden], [Hkv*D, hidden] x2, [hidden, Hq*D]
    at::Tensor q_bias, k_bias, v_bias, o_bias;  // [out] or undefined
    at::Tensor q_norm, k_norm;                  // [D] or undefined
    at::Tensor gate, up, down;                  // [inter, hidden] x2, [hidden, inter]
    at::Tensor gate_bias, up_bias, down_bias;   // [out] or undefined
    double eps = 0.0;                           // every RMSNorm's epsilon
  };
  LayerWeights layer_weights(int64_t l) const;

  // RoPE cos/sin tables [T, D] in the compute dtype for absolute positions [T] int64.
  std::pair<at::Tensor, at::Tensor> rope_tables(const at::Tensor& positions) const;

  // Parameters under their Hugging Face names, in registration order (for writing checkpoints).
  std::vector<std::pair<std::string, at::Tensor>> named_weights() const;

  struct State;  // defined in model.cpp

 private:
  explicit Model(std::shared_ptr<State> state) : s_(std::move(state)) {}
  QKV qkv_with(int64_t l, const at::Tensor& h, const at::Tensor& cos, const at::Tensor& sin) const;
  at::Tensor layer_with(int64_t l, const at::Tensor& x, const attention::LayerSpec& spec, const at::Tensor& cos,
                        const at::Tensor& sin) const;
  std::shared_ptr<State> s_;
};

// The tensors a checkpoint for `cfg` must hold: Hugging Face names and shapes, in the model's
// registration order (built on the meta device: no memory for weights).
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensors(const ModelConfig& cfg);
// Validates the checkpoint in `dir` against `cfg` without reading weights (every expected tensor
// present with its exact shape and a float dtype, no unused tensor) and reports what it holds.
// Throws what Model::load would throw.
LoadInfo inspect_checkpoint(const std::filesystem::path& dir, const ModelConfig& cfg);

// The dtype every weight matrix (linear layers, embedding) of the checkpoint in `dir` is stored
// in, or Undefined when they differ (names only; no weight is read).
at::ScalarType checkpoint_matrix_dtype(const std::filesystem::path& dir, const ModelConfig& cfg);

// Parses "fp32" / "float32" / "bf16" / "bfloat16" / "fp16" / "float16"; throws naming `what`.
at::ScalarType parse_dtype(const std::string& name, const std::string& what = "--dtype");
// "float32", "bfloat16", "float16" (the config.json spelling).
std::string dtype_name(at::ScalarType dtype);

}  // namespace duo::model
