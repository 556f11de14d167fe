// Online softmax (Milakov & Gimelshein 2018; flash-attention): fold one tile of scores into a
// running row max m, row sum l and unnormalized output O, so that attention needs only O(rows)
// extra state instead of the full score matrix. Internal to kernels/cpu.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/vec_math.h"

namespace duo::kernels::cpu {

// s [rows, n]: scores of the tile (masked entries -inf), overwritten with P = exp(s - m_new);
// m, l updated and the rows of o [rows, d] rescaled to the new max. The caller then adds P V.
template <typename T>
void online_rescale(T* s, int64_t rows, int64_t n, T* m, T* l, T* op, int64_t d) {
  const T neg_inf = -std::numeric_limits<T>::infinity();
  for (int64_t r = 0; r < rows; ++r) {
    T* row = s + r * n;
    const T m_new = std::max(m[r], row_max(row, n));
    if (m_new == neg_inf) {  // nothing visible yet in this row: the tile contributes zeros
      std::fill(row, row + n, T(0));
      continue;
    }
    const T corr = std::exp(m[r] - m_new);  // 0 when m[r] was -inf
    l[r] = l[r] * corr + exp_shift_sum(row, row, n, m_new);
    if (corr != T(1)) {
      T* orow = op + r * d;
      for (int64_t c = 0; c < d; ++c) orow[c] *= corr;
    }
    m[r] = m_new;
  }
}

// The same for o an at::Tensor [rows, D].
template <typename T>
void online_rescale(T* s, int64_t rows, int64_t n, T* m, T* l, at::Tensor& o) {
  online_rescale<T>(s, rows, n, m, l, o.data_ptr<T>(), o.size(1));
}

// online_rescale, then o += P vb (kernels/cpu/gemm.h). p_view: the memory of s as an at::Tensor
// [rows, n]; vb [n, D].
template <typename T>
void online_update(T* s, int64_t rows, int64_t n, T* m, T* l, at::Tensor& o, const at::Tensor& p_view,
                   const at::Tensor& vb) {
  online_rescale<T>(s, rows, n, m, l, o);
  gemm_out(o, p_view, vb, 1.0f);
}

// O /= l per row; lse = m + log(l).
template <typename T>
void online_finish(int64_t rows, const T* m, const T* l, at::Tensor& o, T* lse) {
  const int64_t d = o.size(1);
  T* op = o.data_ptr<T>();
  for (int64_t r = 0; r < rows; ++r) {
    const T inv = l[r] > 0 ? T(1) / l[r] : T(0);
    T* orow = op + r * d;
    for (int64_t c = 0; c < d; ++c) orow[c] *= inv;
    if (lse) lse[r] = l[r] > 0 ? m[r] + std::log(l[r]) : -std::numeric_limits<T>::infinity();
  }
}

}  // namespace duo::kernels::cpu
