// The DuoAttention training loss (DESIGN.md section 1, official duo_attn/train.py):
//   distill = mean over label tokens of mean over the hidden dim of (h_full - h_gated)^2
//   reg     = mean(|alpha|) over all gates (the official code's mean; the paper writes a sum)
//   loss    = distill + reg_weight * reg
// h is the final hidden state after the last norm (before the LM head), computed in fp32 (fp64 for fp64 inputs).
#pragma once

#include <ATen/core/Tensor.h>

namespace duo::train {

// h_full, h_gated: [T, hidden] (any float dtype; computed in fp32); label_mask: [T] bool.
// Returns a 0-d fp32 (fp64 for fp64 inputs) tensor (differentiable w.r.t. h_gated). Throws if no label is set.
at::Tensor distill_loss(const at::Tensor& h_full, const at::Tensor& h_gated, const at::Tensor& label_mask);
// The same on hidden states already restricted to the label rows: [N_labels, hidden].
at::Tensor distill_loss_rows(const at::Tensor& h_full_rows, const at::Tensor& h_gated_rows);
// alpha: gates of any shape; returns mean(|alpha|) as a 0-d fp32 tensor (differentiable).
at::Tensor reg_loss(const at::Tensor& alpha);

}  // namespace duo::train
