// razor: RazorAttention's echo and induction scores (Tang et al. 2024, "RazorAttention: Efficient
// KV Cache Compression Through Retrieval Heads", arXiv 2407.15891, Sec. 3.3).
//
// The probe is a sequence of K random tokens repeated `copies` times (after a BOS when the model
// has one): [BOS] x_0 .. x_{K-1} x_0 .. x_{K-1} ... For a query at position i in copy c >= 1 the
// previous occurrence of its own token is e(i) = i - K (the same token one copy back) and the token
// that followed it sits at e(i) + 1 = i - K + 1. Per head:
//   echo      = mean over those queries of the attention probability p(i, i - K)
//   induction = mean over those queries of the attention probability p(i, i - K + 1)
// averaged over `sequences` independent random sequences. The probabilities come from blockwise
// row log-sum-exps (score/attention_stats.h), never a T x T matrix.
//
// Combination, as the paper selects heads: it protects the heads in the top `induction_share`
// (14%) by induction score together with those in the top `echo_share` (1%) by echo score. To give
// every head one score that reproduces that union at the paper's budget and scales it to any
// other sparsity, a head's priority is
//   p(h) = min(rank_echo(h) / echo_share, rank_induction(h) / induction_share)
// (ranks from 0 = highest score, ties by head index; a share of 0 drops that term). Heads ordered
// by (p, rank_induction, index) get scores 1 .. 0 evenly spaced in that order (N heads: 1 - k / (N - 1)),
// so keeping the top fraction f of the scores keeps the heads with p below about f * N: the top
// f * 14/15 by induction with the top f * 1/15 by echo, both shares scaled alike. GQA: echo and
// induction are first reduced to KV heads by the max over each group, then combined.
#pragma once

#include <cstdint>
#include <vector>

#include "mask/gate_table.h"
#include "score/layer_trace.h"
#include "score/score_options.h"

namespace duo::score {

// A probe sequence: `length` random ids drawn from `allowed` (a fresh shuffle of `allowed` each time
// it runs out, so no id repeats within a copy while length <= allowed.size()), repeated `copies`
// times, after `bos` when bos >= 0.
std::vector<int64_t> razor_sequence(const std::vector<int64_t>& allowed, int64_t length, int64_t copies, uint64_t seed,
                                    int64_t bos);

struct RazorStats {
  mask::GateTable echo;       // [L, Hq] mean attention to the previous occurrence of the query's token
  mask::GateTable induction;  // [L, Hq] mean attention to the token after it
};

// Echo and induction per query head over probe sequences of `length` random tokens per copy
// starting at position `offset` (1 after a BOS, else 0).
RazorStats razor_stats(const QkSource& src, const std::vector<std::vector<int64_t>>& sequences, int64_t length,
                       int64_t offset, int64_t block, bool quiet = true);

// The combined score (see the file comment) of each head of two tables of one shape.
mask::GateTable razor_combine(const mask::GateTable& echo, const mask::GateTable& induction, double echo_share,
                              double induction_share);

}  // namespace duo::score
