// Gates -> binary head mask (DESIGN.md section 1, "Binarizing").
//
// By sparsity s (the fraction of streaming heads): tau is the linearly interpolated quantile of
// all gates at s (numpy's default); a head is full iff alpha >= tau. s = 1 makes every head
// streaming, s = 0 every head full; s outside [0, 1] is an error. Ties are broken deterministically (the official code adds
// random noise): the gates are ordered by (value, flat index) and the first ceil(s * (N - 1)) of
// the N are streaming, which is the count the quantile rule gives whenever values are distinct.
// By threshold t: full iff alpha >= t.
#pragma once

#include <optional>

#include "mask/gate_table.h"

namespace duo::mask {

struct Binarized {
  GateTable mask;               // 1 = full (retrieval) head, 0 = streaming head
  double threshold = 0.0;       // tau actually used (the quantile for sparsity mode)
  double requested_sparsity = -1.0;  // < 0 when binarized by threshold
  double actual_sparsity = 0.0;      // streaming heads / all heads
};

// numpy.quantile(values, q) with the default 'linear' method; q in [0, 1].
double linear_quantile(std::vector<double> values, double q);

Binarized binarize_by_sparsity(const GateTable& gates, double sparsity);
Binarized binarize_by_threshold(const GateTable& gates, double threshold);

}  // namespace duo::mask
