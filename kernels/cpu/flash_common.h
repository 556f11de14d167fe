// Helpers shared by the CPU attention kernels (internal to kernels/cpu): the grouped layout
// that puts the G query heads of a KV head side by side, dtype rules, and the per-element mask
// of a boundary tile.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>

#include <cmath>
#include <cstdint>
#include <limits>

#include "core/error.h"
#include "kernels/attention_mask.h"
#include "kernels/cpu/flash_attention.h"

namespace duo::kernels::cpu {

// The kernels' preconditions (src/attention validates user input with messages; this only asserts).
inline void assert_attention_inputs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    const AttentionParams& p) {
  DUO_ASSERT(q.dim() == 3 && k.dim() == 3 && k.sizes() == v.sizes());
  DUO_ASSERT(q.size(1) == k.size(1) && q.size(2) == k.size(2) && k.size(0) > 0 && q.size(0) % k.size(0) == 0);
  DUO_ASSERT(q.scalar_type() == k.scalar_type() && q.scalar_type() == v.scalar_type());
  DUO_ASSERT(q.device().is_cpu() && k.device().is_cpu() && v.device().is_cpu());
  DUO_ASSERT(p.streaming.empty() || static_cast<int64_t>(p.streaming.size()) == k.size(0));
  DUO_ASSERT(p.sliding_window >= 0 && p.q_rows >= 1 && p.stream_q_rows >= 1 && p.k_block >= 1);
}

// fp64 stays fp64; fp32 and bf16 compute in fp32.
inline at::ScalarType compute_dtype(at::ScalarType t) { return t == at::kDouble ? at::kDouble : at::kFloat; }

inline double resolve_scale(double scale, int64_t head_dim) {
  return scale > 0 ? scale : 1.0 / std::sqrt(static_cast<double>(head_dim));
}

// x [Hq, T, D] -> [Hkv, T * G, D] (row t * G + g is query head kv * G + g at time t), contiguous,
// in `dtype`, multiplied by `factor` (the softmax scale for q, 1 otherwise).
inline at::Tensor to_grouped(const at::Tensor& x, int64_t hkv, at::ScalarType dtype, double factor = 1.0) {
  const int64_t hq = x.size(0), t = x.size(1), d = x.size(2), g = hq / hkv;
  if (g == 1 && factor == 1.0) return x.to(dtype).contiguous();  // already grouped: no copy when possible
  at::Tensor out = at::empty({hkv, t, g, d}, x.options().dtype(dtype));
  out.copy_(x.view({hkv, g, t, d}).transpose(1, 2));
  if (factor != 1.0) out.mul_(factor);
  return out.view({hkv, t * g, d});
}

// y [Hkv, T * G, D] -> [Hq, T, D] in `dtype`, contiguous.
inline at::Tensor from_grouped(const at::Tensor& y, int64_t g, at::ScalarType dtype) {
  const int64_t hkv = y.size(0), t = y.size(1) / g, d = y.size(2);
  if (g == 1) return y.to(dtype).contiguous();
  at::Tensor out = at::empty({hkv, g, t, d}, y.options().dtype(dtype));
  out.copy_(y.view({hkv, t, g, d}).transpose(1, 2));
  return out.view({hkv * g, t, d});
}

// Row statistics [Hq, T] <-> [Hkv, T * G].
inline at::Tensor rows_to_grouped(const at::Tensor& x, int64_t hkv, at::ScalarType dtype) {
  const int64_t hq = x.size(0), t = x.size(1), g = hq / hkv;
  return x.view({hkv, g, t}).transpose(1, 2).to(dtype).contiguous().view({hkv, t * g});
}
inline at::Tensor rows_from_grouped(const at::Tensor& y, int64_t g) {
  const int64_t hkv = y.size(0), t = y.size(1) / g;
  return y.view({hkv, t, g}).transpose(1, 2).contiguous().view({hkv * g, t});
}

// Sets masked scores of a tile to -inf. s [M, n] row-major, row r is query q0 + r / g, column c
// is key k0 + c. Works per row on the (at most two) visible key runs, not per element.
template <typename T>
void mask_tile(T* s, int64_t rows, int64_t n, int64_t g, int64_t q0, int64_t k0, const HeadMask& m) {
  const T neg_inf = -std::numeric_limits<T>::infinity();
  for (int64_t r = 0; r < rows; ++r) {
    T* row = s + r * n;
    Span runs[2];
    const int count = m.visible_runs(q0 + r / g, runs);
    int64_t c = 0;  // first column not yet handled
    for (int x = 0; x < count; ++x) {
      const int64_t b = std::clamp<int64_t>(runs[x].begin - k0, 0, n);
      const int64_t e = std::clamp<int64_t>(runs[x].end - k0, 0, n);
      if (e <= b) continue;
      std::fill(row + c, row + std::max(c, b), neg_inf);
      c = std::max(c, e);
    }
    std::fill(row + c, row + n, neg_inf);
  }
}

// A contiguous [rows, cols] view of the front of a flat scratch buffer.
inline at::Tensor scratch_view(const at::Tensor& flat, int64_t rows, int64_t cols) {
  return flat.narrow(0, 0, rows * cols).view({rows, cols});
}

}  // namespace duo::kernels::cpu
