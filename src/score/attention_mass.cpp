// The attention-mass scorer (see attention_mass.h).
#include "score/attention_mass.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "core/error.h"
#include "core/progress.h"

namespace duo::score {

MassSums outside_mass_sums(const at::Tensor& q, const at::Tensor& k, StreamWindow window, const StatsSpec& spec) {
  const int64_t t = q.size(1);
  MassSums out;
  const int64_t first = window.slots();  // the first query with a key outside the window
  if (t <= first) {
    out.sum = at::zeros({q.size(0)}, at::TensorOptions().dtype(at::kDouble));
    return out;
  }
  auto lse = row_logsumexp(q, k, spec, window);
  auto mass = at::exp(lse.outside.narrow(1, first, t - first) - lse.all.narrow(1, first, t - first));  // [Hq, T']
  out.sum = mass.to(at::kDouble).sum(1);
  out.count = t - first;
  return out;
}

mask::GateTable attention_mass_scores(const QkSource& src, const std::vector<std::vector<int64_t>>& samples,
                                      StreamWindow window, int64_t block, bool quiet) {
  auto sums = at::zeros({src.n_layers, src.n_heads}, at::TensorOptions().dtype(at::kDouble));
  int64_t count = 0;  // queries counted per layer (the same in every layer)
  core::Progress progress("score attention-mass", static_cast<int64_t>(samples.size()), quiet);
  int64_t done = 0;
  for (const auto& ids : samples) {
    src.run(ids, [&](int64_t l, const at::Tensor& q, const at::Tensor& k, int64_t sliding_window) {
      StatsSpec spec;
      spec.block = block;
      spec.sliding_window = sliding_window;
      auto s = outside_mass_sums(q, k, window, spec);
      sums[l].add_(s.sum);
      if (l == 0) count += s.count;
    });
    progress.update(++done, fmt::format("{} tokens", ids.size()));
  }
  progress.finish();
  DUO_CHECK(count > 0,
            "score attention-mass: every sample is at most sink + recent = {} tokens long, so no query has a key "
            "outside the window; expected longer samples (context_lengths) or a smaller window",
            window.slots());
  auto mean = (sums / static_cast<double>(count)).contiguous();
  mask::GateTable t{src.n_layers, src.n_heads, {}};
  t.values.assign(mean.data_ptr<double>(), mean.data_ptr<double>() + mean.numel());
  return t;
}

}  // namespace duo::score
