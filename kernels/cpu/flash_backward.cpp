// Blockwise attention backward (see flash_attention.h). With S = (scale q) k^T, P = exp(S - lse),
// D_i = rowsum(dO * O): dV = P^T dO, dS = P * (dO V^T - D), dQ = scale * dS K, dK = dS^T (scale q).
// Pass 1 accumulates dQ over the key tiles of each query block; pass 2 accumulates dK and dV
// over the query tiles that see each key block. Each pass recomputes P (flash-attention 2).
#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/flash_attention.h"
#include "kernels/cpu/flash_common.h"
#include "kernels/cpu/task_pool.h"
#include "kernels/cpu/vec_math.h"

namespace duo::kernels::cpu {
namespace {

struct Tile {
  int64_t head;
  int64_t b0, b1;  // query positions (pass 1) or key positions (pass 2)
  int64_t cost;
};

void sort_by_cost(std::vector<Tile>& tiles) {
  std::stable_sort(tiles.begin(), tiles.end(), [](const Tile& a, const Tile& b) { return a.cost > b.cost; });
}

// Inputs of both passes in the grouped layout, compute dtype.
struct Grouped {
  at::Tensor q;      // [Hkv, T*G, D], scaled
  at::Tensor k, v;   // [Hkv, T, D]
  at::Tensor dout;   // [Hkv, T*G, D]
  at::Tensor lse;    // [Hkv, T*G]
  at::Tensor delta;  // [Hkv, T*G]: rowsum(dO * O)
  int64_t g;
  int64_t t;
};

// P = exp(S - lse) in place on a tile s [rows, n]; then s = P * (dP - delta) after dp is known.
template <typename T>
void tile_probs(T* s, int64_t rows, int64_t n, const T* lse) {
  for (int64_t r = 0; r < rows; ++r) exp_shift_sum(s + r * n, s + r * n, n, lse[r]);
}
template <typename T>
void tile_dscores(T* s, const T* dp, int64_t rows, int64_t n, const T* delta) {
  for (int64_t r = 0; r < rows; ++r) {
    T* row = s + r * n;
    const T* dprow = dp + r * n;
    const T dl = delta[r];
    for (int64_t c = 0; c < n; ++c) row[c] *= dprow[c] - dl;
  }
}

template <typename T>
void dq_tile(const Tile& tile, const AttentionParams& p, const Grouped& in, const at::Tensor& dqg) {
  const HeadMask mask = p.mask(tile.head);
  const int64_t g = in.g, rows = (tile.b1 - tile.b0) * g, r0 = tile.b0 * g;
  const at::Tensor qb = in.q[tile.head].narrow(0, r0, rows);      // [M, D]
  const at::Tensor dob = in.dout[tile.head].narrow(0, r0, rows);  // [M, D]
  at::Tensor dq = dqg[tile.head].narrow(0, r0, rows);             // [M, D]
  dq.zero_();
  const at::Tensor kh = in.k[tile.head], vh = in.v[tile.head];
  const T* lse = in.lse[tile.head].data_ptr<T>() + r0;
  const T* delta = in.delta[tile.head].data_ptr<T>() + r0;
  const at::Tensor s_buf = at::empty({rows * p.k_block}, qb.options());
  const at::Tensor dp_buf = at::empty({rows * p.k_block}, qb.options());
  for (const Span& span : key_spans(mask, tile.b0, tile.b1)) {
    for (int64_t k0 = span.begin; k0 < span.end; k0 += p.k_block) {
      const int64_t k1 = std::min(span.end, k0 + p.k_block), n = k1 - k0;
      const BlockState state = block_state(mask, tile.b0, tile.b1, k0, k1);
      if (state == BlockState::kEmpty) continue;
      const at::Tensor kb = kh.narrow(0, k0, n), vb = vh.narrow(0, k0, n);
      at::Tensor s = scratch_view(s_buf, rows, n), dp = scratch_view(dp_buf, rows, n);  // [M, n]
      at::mm_out(s, qb, kb.t());
      T* sp = s.data_ptr<T>();
      if (state == BlockState::kPartial) mask_tile(sp, rows, n, g, tile.b0, k0, mask);
      tile_probs(sp, rows, n, lse);
      at::mm_out(dp, dob, vb.t());
      tile_dscores(sp, dp.data_ptr<T>(), rows, n, delta);
      dq.addmm_(s, kb);
    }
  }
}

template <typename T>
void dkv_tile(const Tile& tile, const AttentionParams& p, const Grouped& in, const at::Tensor& dk_all,
              const at::Tensor& dv_all) {
  const HeadMask mask = p.mask(tile.head);
  const int64_t g = in.g, k0 = tile.b0, n = tile.b1 - tile.b0;
  const int64_t bq = p.query_block(mask, g);
  const at::Tensor kb = in.k[tile.head].narrow(0, k0, n), vb = in.v[tile.head].narrow(0, k0, n);  // [n, D]
  at::Tensor dk = dk_all[tile.head].narrow(0, k0, n), dv = dv_all[tile.head].narrow(0, k0, n);    // [n, D]
  dk.zero_();
  dv.zero_();
  const Span qs = query_span(mask, k0, tile.b1, in.t);
  const at::Tensor s_buf = at::empty({bq * g * n}, kb.options());
  const at::Tensor dp_buf = at::empty({bq * g * n}, kb.options());
  for (int64_t q0 = qs.begin; q0 < qs.end; q0 += bq) {
    const int64_t q1 = std::min(qs.end, q0 + bq), rows = (q1 - q0) * g, r0 = q0 * g;
    const BlockState state = block_state(mask, q0, q1, k0, tile.b1);
    if (state == BlockState::kEmpty) continue;
    const at::Tensor qb = in.q[tile.head].narrow(0, r0, rows);      // [M, D]
    const at::Tensor dob = in.dout[tile.head].narrow(0, r0, rows);  // [M, D]
    at::Tensor s = scratch_view(s_buf, rows, n), dp = scratch_view(dp_buf, rows, n);  // [M, n]
    at::mm_out(s, qb, kb.t());
    T* sp = s.data_ptr<T>();
    if (state == BlockState::kPartial) mask_tile(sp, rows, n, g, q0, k0, mask);
    tile_probs(sp, rows, n, in.lse[tile.head].data_ptr<T>() + r0);
    dv.addmm_(s.t(), dob);
    at::mm_out(dp, dob, vb.t());
    tile_dscores(sp, dp.data_ptr<T>(), rows, n, in.delta[tile.head].data_ptr<T>() + r0);
    dk.addmm_(s.t(), qb);
  }
}

}  // namespace

BackwardResult flash_backward(const at::Tensor& dout_in, const at::Tensor& q_in, const at::Tensor& k_in,
                              const at::Tensor& v_in, const at::Tensor& out_in, const at::Tensor& lse_in,
                              const AttentionParams& p) {
  check_attention_inputs(q_in, k_in, v_in, p);
  const at::Tensor q = q_in.detach(), k = k_in.detach(), v = v_in.detach();  // see flash_forward
  const at::Tensor dout = dout_in.detach(), out = out_in.detach(), lse = lse_in.detach();
  DUO_CHECK(dout.sizes() == q.sizes() && out.sizes() == q.sizes(),
            "attention backward: dout and out must have q's shape {}; got dout {}, out {}", q.sizes(), dout.sizes(),
            out.sizes());
  DUO_CHECK(lse.dim() == 2 && lse.size(0) == q.size(0) && lse.size(1) == q.size(1),
            "attention backward: lse must have shape [{}, {}]; got {}", q.size(0), q.size(1), lse.sizes());
  const int64_t hq = q.size(0), t = q.size(1), d = q.size(2), hkv = k.size(0), g = hq / hkv;
  const at::ScalarType ct = compute_dtype(q.scalar_type());
  const double scale = resolve_scale(p.scale, d);
  Grouped in;
  in.g = g;
  in.t = t;
  in.q = to_grouped(q, hkv, ct, scale);
  in.k = k.to(ct).contiguous();
  in.v = v.to(ct).contiguous();
  in.dout = to_grouped(dout, hkv, ct);
  in.lse = rows_to_grouped(lse, hkv, ct);
  in.delta = (in.dout * to_grouped(out, hkv, ct)).sum(-1).contiguous();  // [Hkv, T*G]

  std::vector<Tile> qtiles, ktiles;
  for (int64_t h = 0; h < hkv; ++h) {
    const HeadMask mask = p.mask(h);
    const int64_t bq = p.query_block(mask, g);
    for (int64_t q0 = 0; q0 < t; q0 += bq) {
      const int64_t q1 = std::min(t, q0 + bq);
      int64_t keys = 0;
      for (const Span& s : key_spans(mask, q0, q1)) keys += s.size();
      qtiles.push_back({h, q0, q1, keys * (q1 - q0)});
    }
    for (const Span& kb : key_blocks(mask, t, p.k_block))
      ktiles.push_back({h, kb.begin, kb.end, query_span(mask, kb.begin, kb.end, t).size() * kb.size()});
  }
  sort_by_cost(qtiles);
  sort_by_cost(ktiles);

  at::Tensor dqg = at::empty_like(in.q);
  at::Tensor dk = at::empty_like(in.k), dv = at::empty_like(in.v);
  const bool dbl = ct == at::kDouble;
  run_tasks(static_cast<int64_t>(qtiles.size()), [&](int64_t i) {
    if (dbl)
      dq_tile<double>(qtiles[i], p, in, dqg);
    else
      dq_tile<float>(qtiles[i], p, in, dqg);
  });
  run_tasks(static_cast<int64_t>(ktiles.size()), [&](int64_t i) {
    if (dbl)
      dkv_tile<double>(ktiles[i], p, in, dk, dv);
    else
      dkv_tile<float>(ktiles[i], p, in, dk, dv);
  });
  dqg.mul_(scale);
  const auto dt = q.scalar_type();
  return BackwardResult{from_grouped(dqg, g, dt), dk.to(dt), dv.to(dt)};
}

}  // namespace duo::kernels::cpu
