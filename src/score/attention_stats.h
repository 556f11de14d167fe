// Blockwise per-head attention statistics for the training-free head scorers (score/*.h).
//
// Layout as in attention/attention.h: q [Hq, T, D], k [Hkv, T, D] for one layer, query i and key j
// at absolute positions i and j, Hq = G * Hkv (query head h reads KV head h / G). Visibility is
// full causal attention (j <= i) with the model's own sliding window when `sliding_window` > 0
// (i - j < sliding_window); scale 0 means 1/sqrt(D).
//
// None of these functions materializes a T x T matrix: queries are cut into blocks of `block`
// rows and keys into blocks of `block` columns, each tile [Hq, block, block] is reduced at once
// (running log-sum-exp, running max), so memory is O(Hq * block^2 + Hq * T), linear in T.
// Every reduction runs in float32 (float64 for float64 inputs). The dense references these are
// tested against materialize the softmax (tests/score/attention_stats_test.cpp).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

#include "core/stream_window.h"

namespace duo::score {

struct StatsSpec {
  int64_t sliding_window = 0;  // the model's own window for this layer; 0 = none
  double scale = 0.0;          // softmax scale; 0 = 1/sqrt(D)
  int64_t block = 256;         // rows / columns of one tile (>= 1)
};

struct RowLse {
  at::Tensor all;      // [Hq, T] log-sum-exp of the scaled logits over every visible key
  at::Tensor outside;  // [Hq, T] the same over the visible keys a streaming head with `window`
                       // drops (j >= sink and i - j >= recent); -inf where there are none.
                       // Undefined when no window was given.
};

// Row log-sum-exps of one layer's attention logits (and, with `outside`, of the part outside the
// sink + recent window). The probability mass query i pays outside the window is
// exp(outside[i] - all[i]).
RowLse row_logsumexp(const at::Tensor& q, const at::Tensor& k, const StatsSpec& spec,
                     const std::optional<StreamWindow>& outside = std::nullopt);

// Top-1 attended key of selected queries: q_rows [Hq, R, D] at absolute positions q_pos [R]
// (int64, each < T) against every key k [Hkv, T, D]. Returns [Hq, R] int64 key positions; ties
// go to the smallest position (torch.topk(1) on a row gives the first maximum as well).
at::Tensor row_argmax(const at::Tensor& q_rows, const at::Tensor& q_pos, const at::Tensor& k, const StatsSpec& spec);

// Attention probabilities at given (query, key) pairs: for query rows q_rows [Hq, R, D] whose row
// log-sum-exps are lse [Hq, R] (from row_logsumexp), and key positions k_pos [R] (int64, one key
// per row, -1 = none), returns p [Hq, R] = exp(scale * q . k[k_pos] - lse), 0 where k_pos is -1.
// The caller guarantees each key is visible from its query.
at::Tensor prob_at(const at::Tensor& q_rows, const at::Tensor& lse, const at::Tensor& k, const at::Tensor& k_pos,
                   const StatsSpec& spec);

}  // namespace duo::score
