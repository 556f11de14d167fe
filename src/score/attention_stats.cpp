// Blockwise attention statistics (see attention_stats.h).
#include "score/attention_stats.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace duo::score {

namespace {

at::ScalarType acc_type(const at::Tensor& t) { return t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat; }

double scale_of(const StatsSpec& spec, int64_t d) {
  return spec.scale > 0.0 ? spec.scale : 1.0 / std::sqrt(static_cast<double>(d));
}

void check_qk(const at::Tensor& q, const at::Tensor& k, const StatsSpec& spec, const char* what) {
  DUO_CHECK(q.dim() == 3 && k.dim() == 3 && q.size(2) == k.size(2) && k.size(0) > 0 && q.size(0) % k.size(0) == 0,
            "{}: expected q [Hq, T, D] and k [Hkv, T, D] with Hq a multiple of Hkv; got [{}, {}, {}] and [{}, {}, {}]",
            what, q.dim() > 0 ? q.size(0) : 0, q.dim() > 1 ? q.size(1) : 0, q.dim() > 2 ? q.size(2) : 0,
            k.dim() > 0 ? k.size(0) : 0, k.dim() > 1 ? k.size(1) : 0, k.dim() > 2 ? k.size(2) : 0);
  DUO_CHECK(spec.block >= 1, "{}: block must be >= 1; got {}", what, spec.block);
  DUO_CHECK(spec.sliding_window >= 0, "{}: sliding_window must be >= 0; got {}", what, spec.sliding_window);
}

// Logits of one tile: q_blk [Hq, Bq, D] against k_blk [Hkv, Bk, D] -> [Hq, Bq, Bk] (scaled).
at::Tensor tile_logits(const at::Tensor& q_blk, const at::Tensor& k_blk, double scale) {
  const int64_t hq = q_blk.size(0), bq = q_blk.size(1), d = q_blk.size(2);
  const int64_t hkv = k_blk.size(0), bk = k_blk.size(1), g = hq / hkv;
  auto qg = q_blk.reshape({hkv, g * bq, d});                   // [Hkv, G*Bq, D]
  auto s = at::matmul(qg, k_blk.transpose(1, 2)).mul_(scale);  // [Hkv, G*Bq, Bk]
  return s.view({hq, bq, bk});
}

// Visibility [Bq, Bk] of keys k0.. from queries at positions qp [Bq] (causal + sliding window).
at::Tensor tile_visible(const at::Tensor& qp, int64_t k0, int64_t bk, int64_t sliding_window) {
  auto kp = at::arange(k0, k0 + bk, qp.options()).unsqueeze(0);  // [1, Bk]
  auto qi = qp.unsqueeze(1);                                      // [Bq, 1]
  auto vis = kp.le(qi);
  if (sliding_window > 0) vis = vis.logical_and(qi.sub(kp).lt(sliding_window));
  return vis;
}

}  // namespace

RowLse row_logsumexp(const at::Tensor& q_in, const at::Tensor& k_in, const StatsSpec& spec,
                     const std::optional<StreamWindow>& outside) {
  check_qk(q_in, k_in, spec, "row_logsumexp");
  DUO_CHECK(q_in.size(1) == k_in.size(1), "row_logsumexp: q and k must cover the same T positions; got {} and {}",
            q_in.size(1), k_in.size(1));
  const auto acc = acc_type(q_in);
  auto q = q_in.to(acc).contiguous();  // [Hq, T, D]
  auto k = k_in.to(acc).contiguous();  // [Hkv, T, D]
  const int64_t hq = q.size(0), t = q.size(1), b = spec.block;
  const double scale = scale_of(spec, q.size(2));
  const double ninf = -std::numeric_limits<double>::infinity();
  RowLse out;
  out.all = at::full({hq, t}, ninf, q.options());
  if (outside) out.outside = at::full({hq, t}, ninf, q.options());
  const auto pos_opts = at::TensorOptions().dtype(at::kLong);
  for (int64_t q0 = 0; q0 < t; q0 += b) {
    const int64_t q1 = std::min(t, q0 + b), bq = q1 - q0;
    auto q_blk = q.narrow(1, q0, bq);                     // [Hq, Bq, D]
    auto qp = at::arange(q0, q1, pos_opts);               // [Bq]
    at::Tensor lse_all = out.all.narrow(1, q0, bq);       // [Hq, Bq] views into the outputs
    at::Tensor lse_out = outside ? out.outside.narrow(1, q0, bq) : at::Tensor();
    for (int64_t k0 = 0; k0 < q1; k0 += b) {  // causal: no key after the last query of the block
      const int64_t k1 = std::min(t, k0 + b), bk = k1 - k0;
      const int64_t sw = spec.sliding_window;
      if (sw > 0 && q0 - (k1 - 1) >= sw) continue;  // wholly outside the model's window
      auto s = tile_logits(q_blk, k.narrow(1, k0, bk), scale);  // [Hq, Bq, Bk]
      // Tiles below the diagonal (and inside the model's window) need no mask.
      const bool all_visible = k1 - 1 <= q0 && (sw == 0 || (q1 - 1) - k0 < sw);
      at::Tensor vis;
      if (!all_visible) {
        vis = tile_visible(qp, k0, bk, sw);  // [Bq, Bk]
        s.masked_fill_(vis.logical_not(), ninf);
      }
      // One exp per logit serves both sums: e = exp(s - m) with m the row max over the tile.
      auto m = std::get<0>(s.max(-1, /*keepdim=*/true));   // [Hq, Bq, 1]
      m.masked_fill_(at::isinf(m), 0.0);                    // rows that see no key of this tile
      auto e = s.sub_(m).exp_();                            // [Hq, Bq, Bk], 0 where not visible
      auto m2 = m.squeeze(-1);                              // [Hq, Bq]
      lse_all.copy_(at::logaddexp(lse_all, m2 + at::log(e.sum(-1))));
      if (!outside) continue;
      // Keys a streaming head drops: j >= sink and i - j >= recent. Skip tiles holding none;
      // a tile wholly in that region needs no mask.
      const int64_t sink = outside->sink, recent = outside->recent;
      if (k1 - 1 < sink || std::max(k0, sink) > (q1 - 1) - recent) continue;
      at::Tensor sum_out;
      if (all_visible && k0 >= sink && q0 - (k1 - 1) >= recent) {
        sum_out = e.sum(-1);
      } else {
        auto kp = at::arange(k0, k1, pos_opts).unsqueeze(0);  // [1, Bk]
        auto drop = kp.ge(sink).logical_and(qp.unsqueeze(1).sub(kp).ge(recent));  // [Bq, Bk]
        if (vis.defined()) drop = drop.logical_and(vis);
        sum_out = (e * drop).sum(-1);
      }
      lse_out.copy_(at::logaddexp(lse_out, m2 + at::log(sum_out)));
    }
  }
  return out;
}

at::Tensor row_argmax(const at::Tensor& q_rows_in, const at::Tensor& q_pos, const at::Tensor& k_in,
                      const StatsSpec& spec) {
  check_qk(q_rows_in, k_in, spec, "row_argmax");
  DUO_CHECK(q_pos.dim() == 1 && q_pos.size(0) == q_rows_in.size(1) && q_pos.scalar_type() == at::kLong,
            "row_argmax: expected q_pos [{}] int64; got {} values", q_rows_in.size(1), q_pos.numel());
  const auto acc = acc_type(q_rows_in);
  auto q = q_rows_in.to(acc).contiguous();  // [Hq, R, D]
  auto k = k_in.to(acc).contiguous();       // [Hkv, T, D]
  auto qp = q_pos.to(at::kCPU).contiguous();
  const int64_t hq = q.size(0), r = q.size(1), t = k.size(1), b = spec.block;
  if (r > 0) {
    const int64_t max_pos = qp.max().item<int64_t>();
    DUO_CHECK(qp.min().item<int64_t>() >= 0 && max_pos < t, "row_argmax: query positions must lie in [0, {}); got up to {}",
              t, max_pos);
  }
  const double scale = scale_of(spec, q.size(2));
  auto best = at::full({hq, r}, -std::numeric_limits<double>::infinity(), q.options());
  auto best_pos = at::zeros({hq, r}, at::TensorOptions().dtype(at::kLong));
  const int64_t last = r > 0 ? qp.max().item<int64_t>() : -1;
  for (int64_t k0 = 0; k0 <= last; k0 += b) {
    const int64_t k1 = std::min(t, k0 + b), bk = k1 - k0;
    auto s = tile_logits(q, k.narrow(1, k0, bk), scale);  // [Hq, R, Bk]
    auto vis = tile_visible(qp, k0, bk, spec.sliding_window);
    auto [mx, idx] = s.masked_fill(vis.logical_not(), -std::numeric_limits<double>::infinity()).max(-1);
    auto better = mx.gt(best);  // strict: the earlier block keeps a tie
    best = at::where(better, mx, best);
    best_pos = at::where(better, idx.add(k0), best_pos);
  }
  return best_pos;
}

at::Tensor prob_at(const at::Tensor& q_rows_in, const at::Tensor& lse, const at::Tensor& k_in, const at::Tensor& k_pos,
                   const StatsSpec& spec) {
  check_qk(q_rows_in, k_in, spec, "prob_at");
  const int64_t hq = q_rows_in.size(0), r = q_rows_in.size(1), t = k_in.size(1);
  DUO_CHECK(lse.dim() == 2 && lse.size(0) == hq && lse.size(1) == r && k_pos.dim() == 1 && k_pos.size(0) == r &&
                k_pos.scalar_type() == at::kLong,
            "prob_at: expected lse [{}, {}] and k_pos [{}] int64; got {} and {} values", hq, r, r, lse.numel(),
            k_pos.numel());
  const auto acc = acc_type(q_rows_in);
  auto q = q_rows_in.to(acc);  // [Hq, R, D]
  auto kp = k_pos.to(at::kCPU);
  if (r > 0) DUO_CHECK(kp.max().item<int64_t>() < t, "prob_at: key positions must be < {}", t);
  const int64_t g = hq / k_in.size(0);
  auto ksel = k_in.to(acc).index_select(1, kp.clamp_min(0));  // [Hkv, R, D]
  ksel = ksel.repeat_interleave(g, 0);                          // [Hq, R, D]
  auto logit = (q * ksel).sum(-1).mul_(scale_of(spec, q.size(2)));  // [Hq, R]
  auto p = at::exp(logit - lse.to(acc));
  return p.masked_fill(kp.lt(0).unsqueeze(0), 0.0);
}

}  // namespace duo::score
