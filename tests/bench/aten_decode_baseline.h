// A baseline for benchmarking only (not used by duo itself): decode / chunked attention over a
// cache written with plain ATen ops (bmm + masked softmax over score tiles of ~64 MiB), the way
// one would write it without a kernel. attention_bench times duo's decode kernel against it in
// the same run. Visibility uses the one mask predicate (kernels::HeadMask::visible).
//
// q [Hq, C, D] at positions p0 .. p0 + C - 1; k, v [Hk, n, D] at positions pos [n] (int64, -1 =
// empty slot). Returns [Hq, C, D] in q's dtype; computes in fp32.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/attention_mask.h"

namespace duo::bench {

inline at::Tensor aten_decode_attention(const at::Tensor& q, int64_t p0, const at::Tensor& k, const at::Tensor& v,
                                        const at::Tensor& pos, const kernels::HeadMask& mask) {
  constexpr int64_t kScoreBudget = int64_t{16} << 20;  // fp32 elements per score tile
  const int64_t hq = q.size(0), c = q.size(1), d = q.size(2);
  const int64_t hk = k.size(0), n = k.size(1), g = hq / hk;
  // Visibility [C, n] through the predicate.
  at::Tensor vis = at::empty({c, n}, at::TensorOptions().dtype(at::kBool));
  const at::Tensor pc = pos.contiguous();
  const int64_t* pp = pc.data_ptr<int64_t>();
  bool* vp = vis.data_ptr<bool>();
  for (int64_t r = 0; r < c; ++r)
    for (int64_t j = 0; j < n; ++j) vp[r * n + j] = mask.visible(p0 + r, pp[j]);
  const at::Tensor kt = k.to(at::kFloat).transpose(1, 2);                                     // [Hk, D, n]
  const at::Tensor vf = v.to(at::kFloat);                                                     // [Hk, n, D]
  const at::Tensor qf = q.to(at::kFloat).mul(1.0 / std::sqrt(double(d))).view({hk, g, c, d});  // [Hk, G, C, D]
  at::Tensor out = at::empty({hk, g, c, d}, at::TensorOptions().dtype(at::kFloat));
  const int64_t rows = std::max<int64_t>(1, kScoreBudget / std::max<int64_t>(1, hk * g * n));
  for (int64_t r0 = 0; r0 < c; r0 += rows) {
    const int64_t cb = std::min(rows, c - r0);
    at::Tensor scores = at::bmm(qf.narrow(2, r0, cb).reshape({hk, g * cb, d}), kt);  // [Hk, G*cb, n]
    scores.view({hk, g, cb, n}).masked_fill_(vis.narrow(0, r0, cb).logical_not(), -std::numeric_limits<float>::infinity());
    out.narrow(2, r0, cb).copy_(at::bmm(at::softmax(scores, -1), vf).view({hk, g, cb, d}));
  }
  return out.view({hq, c, d}).to(q.scalar_type());
}

}  // namespace duo::bench
