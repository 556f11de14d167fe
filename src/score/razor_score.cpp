// The razor scorer (see razor_score.h).
#include "score/razor_score.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

#include "core/error.h"
#include "core/progress.h"
#include "score/attention_stats.h"

namespace duo::score {

std::vector<int64_t> razor_sequence(const std::vector<int64_t>& allowed, int64_t length, int64_t copies, uint64_t seed,
                                    int64_t bos) {
  DUO_CHECK(!allowed.empty(), "razor score: no token ids to draw from; expected a vocabulary with non-special tokens");
  DUO_CHECK(length >= 1 && copies >= 2, "razor score: expected length >= 1 and copies >= 2; got {} and {}", length,
            copies);
  std::mt19937_64 rng(seed);
  std::vector<int64_t> pool, one;
  while (static_cast<int64_t>(one.size()) < length) {
    if (pool.empty()) {
      pool = allowed;
      std::shuffle(pool.begin(), pool.end(), rng);
    }
    one.push_back(pool.back());
    pool.pop_back();
  }
  std::vector<int64_t> seq;
  if (bos >= 0) seq.push_back(bos);
  for (int64_t c = 0; c < copies; ++c) seq.insert(seq.end(), one.begin(), one.end());
  return seq;
}

RazorStats razor_stats(const QkSource& src, const std::vector<std::vector<int64_t>>& sequences, int64_t length,
                       int64_t offset, int64_t block, bool quiet) {
  DUO_CHECK(!sequences.empty(), "razor score: no probe sequences");
  const auto dopt = at::TensorOptions().dtype(at::kDouble);
  auto echo = at::zeros({src.n_layers, src.n_heads}, dopt), induction = at::zeros({src.n_layers, src.n_heads}, dopt);
  int64_t count = 0, done = 0;  // queries measured, probes run
  core::Progress progress("score razor", static_cast<int64_t>(sequences.size()), quiet);
  for (const auto& seq : sequences) {
    const auto t = static_cast<int64_t>(seq.size());
    DUO_CHECK(t >= offset + 2 * length, "razor score: a probe of {} tokens holds no repeat of {} tokens after offset {}",
              t, length, offset);
    const int64_t first = offset + length, n = t - first;  // queries of copies 1.. : positions first .. t - 1
    auto q_pos = at::arange(first, t, at::TensorOptions().dtype(at::kLong));  // [n]
    auto echo_pos = q_pos - length;                                          // [n] previous occurrence
    auto ind_pos = echo_pos + 1;                                             // [n] the token after it
    src.run(seq, [&](int64_t l, const at::Tensor& q, const at::Tensor& k, int64_t sliding_window) {
      StatsSpec spec;
      spec.block = block;
      spec.sliding_window = sliding_window;
      auto lse = row_logsumexp(q, k, spec).all.narrow(1, first, n);  // [Hq, n]
      auto rows = q.narrow(1, first, n);                              // [Hq, n, D]
      // A key outside the model's own sliding window gets no attention: mask those pairs.
      auto e = echo_pos, d = ind_pos;
      if (sliding_window > 0) {
        e = at::where(q_pos - e < sliding_window, e, at::full_like(e, -1));
        d = at::where(q_pos - d < sliding_window, d, at::full_like(d, -1));
      }
      echo[l].add_(prob_at(rows, lse, k, e, spec).to(at::kDouble).sum(1));
      induction[l].add_(prob_at(rows, lse, k, d, spec).to(at::kDouble).sum(1));
    });
    count += n;
    progress.update(++done, fmt::format("{} tokens", t));
  }
  progress.finish();
  auto to_table = [&](const at::Tensor& s) {
    auto m = (s / static_cast<double>(count)).contiguous();
    mask::GateTable g{src.n_layers, src.n_heads, {}};
    g.values.assign(m.data_ptr<double>(), m.data_ptr<double>() + m.numel());
    return g;
  };
  return {to_table(echo), to_table(induction)};
}

namespace {

// Rank of every head by value, 0 = highest; ties by index.
std::vector<int64_t> ranks_desc(const std::vector<double>& v) {
  std::vector<int64_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return v[a] > v[b]; });
  std::vector<int64_t> rank(v.size());
  for (size_t r = 0; r < order.size(); ++r) rank[static_cast<size_t>(order[r])] = static_cast<int64_t>(r);
  return rank;
}

}  // namespace

mask::GateTable razor_combine(const mask::GateTable& echo, const mask::GateTable& induction, double echo_share,
                              double induction_share) {
  DUO_CHECK(echo.n_layers == induction.n_layers && echo.n_kv_heads == induction.n_kv_heads,
            "razor score: echo {} and induction {} tables differ in shape", echo.shape_string(),
            induction.shape_string());
  DUO_CHECK(echo_share >= 0 && induction_share >= 0 && echo_share + induction_share > 0,
            "razor score: expected shares >= 0, not both 0; got echo {} and induction {}", echo_share, induction_share);
  const size_t n = echo.values.size();
  const auto re = ranks_desc(echo.values), ri = ranks_desc(induction.values);
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> prio(n);
  for (size_t h = 0; h < n; ++h) {
    const double pe = echo_share > 0 ? static_cast<double>(re[h]) / echo_share : inf;
    const double pi = induction_share > 0 ? static_cast<double>(ri[h]) / induction_share : inf;
    prio[h] = std::min(pe, pi);
  }
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    if (prio[a] != prio[b]) return prio[a] < prio[b];
    if (ri[a] != ri[b]) return ri[a] < ri[b];
    return a < b;
  });
  mask::GateTable out{echo.n_layers, echo.n_kv_heads, std::vector<double>(n, 1.0)};
  for (size_t k = 0; k < n; ++k)
    out.values[static_cast<size_t>(order[k])] = n > 1 ? 1.0 - static_cast<double>(k) / static_cast<double>(n - 1) : 1.0;
  return out;
}

}  // namespace duo::score
