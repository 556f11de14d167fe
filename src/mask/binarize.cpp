// Gate binarization by sparsity (deterministic quantile rule) or by threshold.
#include "mask/binarize.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace duo::mask {
namespace {

double sparsity_of(const GateTable& mask) {
  int64_t streaming = 0;
  for (double v : mask.values) streaming += v == 0.0;
  return mask.size() ? static_cast<double>(streaming) / static_cast<double>(mask.size()) : 0.0;
}

}  // namespace

double linear_quantile(std::vector<double> values, double q) {
  DUO_CHECK(!values.empty(), "quantile of no values");
  DUO_CHECK(q >= 0.0 && q <= 1.0, "quantile: expected q in [0, 1]; got {}", q);
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return values[lo] + frac * (values[hi] - values[lo]);
}

Binarized binarize_by_sparsity(const GateTable& gates, double sparsity) {
  // A fraction of heads: outside [0, 1] it is a typo (-0.1 for 0.1), not "all" or "none".
  DUO_CHECK(std::isfinite(sparsity) && sparsity >= 0.0 && sparsity <= 1.0,
            "sparsity must be a fraction of heads in [0, 1]; got {}", sparsity);
  Binarized out;
  out.requested_sparsity = sparsity;
  out.mask = gates;
  const int64_t n = gates.size();
  int64_t n_streaming;
  if (sparsity >= 1.0) {
    n_streaming = n;
    out.threshold = 2.0;  // as the official code: above any gate
  } else if (sparsity <= 0.0) {
    n_streaming = 0;
    out.threshold = -1.0;
  } else {
    n_streaming = static_cast<int64_t>(std::ceil(sparsity * static_cast<double>(n - 1) - 1e-12));
    out.threshold = linear_quantile(gates.values, sparsity);
  }
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return gates.values[a] < gates.values[b]; });
  for (int64_t r = 0; r < n; ++r) out.mask.values[order[r]] = r < n_streaming ? 0.0 : 1.0;
  out.actual_sparsity = sparsity_of(out.mask);
  return out;
}

Binarized binarize_by_threshold(const GateTable& gates, double threshold) {
  DUO_CHECK(std::isfinite(threshold), "threshold must be a finite number; got {}", threshold);
  Binarized out;
  out.threshold = threshold;
  out.mask = gates;
  for (double& v : out.mask.values) v = v >= threshold ? 1.0 : 0.0;
  out.actual_sparsity = sparsity_of(out.mask);
  return out;
}

}  // namespace duo::mask
