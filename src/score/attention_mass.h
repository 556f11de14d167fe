// attention-mass: the share of a head's attention probability that falls outside the sink +
// recent window, averaged over the queries of sample texts (docs/method.md). A streaming head
// with that window loses exactly this mass, so a head with little of it loses little when it
// streams; a head with much of it is retrieval-like.
//
// For query i of a sample the mass is exp(lse_out[i] - lse_all[i]), from the blockwise row
// log-sum-exps of score/attention_stats.h (memory linear in T). The score of a query head is the
// mean of that mass over every query that has at least one key outside the window
// (i >= sink + recent), pooled over the samples; earlier queries lose nothing to any mask and
// are left out.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "core/stream_window.h"
#include "mask/gate_table.h"
#include "score/attention_stats.h"
#include "score/layer_trace.h"

namespace duo::score {

// One layer: per query head, the sum of the outside mass over the queries i >= window.slots()
// (returned [Hq] float64) and the number of those queries.
struct MassSums {
  at::Tensor sum;     // [Hq] float64
  int64_t count = 0;  // queries counted
};
MassSums outside_mass_sums(const at::Tensor& q, const at::Tensor& k, StreamWindow window, const StatsSpec& spec);

// Scores [n_layers, n_heads] (query heads) over the samples; throws when no sample is longer
// than the window (nothing to measure).
mask::GateTable attention_mass_scores(const QkSource& src, const std::vector<std::vector<int64_t>>& samples,
                                      StreamWindow window, int64_t block, bool quiet = true);

}  // namespace duo::score
