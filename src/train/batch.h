// One optimizer step's batch and how the ranks of a multi-process run share it
// (docs/method.md, "Batches and the gradient reduction").
//
// Step s takes the next batch_size indices of the data order (train/data_order.h), which is a
// pure function of the seed: every rank draws all of them, so any world size sees the same
// batches. Batch position k (0-based) is computed by rank k % world, in that rank's slot
// k / world. Each sample's result travels as one float64 row
//   [ d loss_k / d alpha (G = L * Hkv values, row-major) | distill_k | reg_k | seq_len_k | n_labels_k ]
// and after one allgather every rank combines the rows in batch order k = 0, 1, ..., B - 1:
//   grad    = (((g_0 + g_1) + g_2) + ... + g_{B-1}) / B     (float64, then float32)
//   distill = the same fold of distill_k, / B
// so the result is bit for bit the same for every world size (the sum never depends on which
// rank computed a sample). With B = 1 it is the sample's own gradient, unchanged.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "train/two_way.h"

namespace duo::train {

// Columns after the G gradient values: distill, reg, seq_len, n_labels.
inline constexpr int64_t kRowExtras = 4;

// Slots each rank holds per step: ceil(batch / world) (padding rows where batch % world != 0).
int64_t slots_per_rank(int64_t batch, int world);
// The batch positions k that `rank` computes, in slot order: rank, rank + world, ... (< batch).
std::vector<int64_t> rank_positions(int64_t batch, int rank, int world);

// One sample's result as a row [1, G + kRowExtras] float64 (r.grad: [L, Hkv]).
at::Tensor sample_row(const StepResult& r);

// The batch's result from the allgathered rows [world * slots_per_rank, G + kRowExtras] (rank r's
// slots at r * slots_per_rank): grad [L, Hkv] float32 and distill as in the file comment, reg of
// position 0 (mean |alpha| does not depend on the sample), loss = distill + reg_weight * reg,
// seq_len and n_labels summed over the batch.
StepResult combine_rows(const at::Tensor& gathered, int64_t batch, int world, int64_t n_layers, int64_t n_kv_heads,
                        double reg_weight);

}  // namespace duo::train
