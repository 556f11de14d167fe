// One gate-training step's forward and backward (DESIGN.md section 1, "Two-way forward"):
// the same sequence runs once with every head full (no autograd: the teacher) and once with
// every head gated, out = a * full + (1 - a) * streaming, a = clamp(alpha, 0, 1), with autograd
// reaching only the gates (model weights are frozen). The loss compares the final normed hidden
// states at the label tokens (train/loss.h).
//
// With `recompute` (activation checkpointing per layer) the gated pass first runs without
// autograd, keeping each layer's input [T, hidden]; the backward then recomputes one layer at a
// time with autograd. With `keep_attention` the first pass also keeps each layer's attention
// kernel results (full and streaming outputs [Hq, T, D] and log-sum-exp rows [Hq, T]), so the
// recompute runs only the projections, norms and MLP, not attention (the costliest part at long
// T). Memory stays linear in T: L * T * hidden values for the inputs, plus L * 2 * T * Hq * D
// for the kept attention results (twice the inputs when Hq * D = hidden), plus one layer's
// activations.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "core/stream_window.h"
#include "model/model.h"

namespace duo::train {

struct TwoWayConfig {
  StreamWindow window = kTrainWindow;  // the training window (official sink 128, recent 256)
  double reg_weight = 0.05;    // weight of mean(|alpha|)
  bool recompute = true;       // per-layer activation checkpointing
  bool keep_attention = true;  // with recompute: keep attention results instead of recomputing them
};

struct StepResult {
  double distill = 0.0;  // distillation loss
  double reg = 0.0;      // mean(|alpha|)
  double loss = 0.0;     // distill + reg_weight * reg
  at::Tensor grad;       // d loss / d alpha, [L, Hkv], same dtype as alpha
  int64_t seq_len = 0;
  int64_t n_labels = 0;
};

// ids: [T] int64; label_mask: [T] bool (true = label token); alpha: [L, Hkv] gates (not modified).
StepResult two_way_step(const model::Model& model, const at::Tensor& ids, const at::Tensor& label_mask,
                        const at::Tensor& alpha, const TwoWayConfig& cfg);

// Final normed hidden states at the label rows with every head full (no autograd): [N, hidden].
at::Tensor teacher_hidden_rows(const model::Model& model, const at::Tensor& ids, const at::Tensor& label_rows);

}  // namespace duo::train
