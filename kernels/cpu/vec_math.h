// Row primitives of the attention kernels: max and exp-with-shift over a contiguous row.
//
// exp dominates the non-matmul work of attention (one exp per score against 4 * head_dim
// flops of matmul), and LibTorch 1.13 from Debian runs at::exp at ~7 ns per element here, so
// these use an AVX2/FMA polynomial exp (relative error < 2e-7) chosen at run time, with a
// scalar fallback on CPUs without AVX2. exp(-inf) is exactly 0 (masked scores).
#pragma once

#include <cstdint>

namespace duo::kernels::cpu {

// max over x[0, n); -inf when n == 0 or every entry is -inf.
float row_max(const float* x, int64_t n);
double row_max(const double* x, int64_t n);

// y[j] = exp(x[j] - shift) for j in [0, n); returns the sum of y. x may equal y.
float exp_shift_sum(float* y, const float* x, int64_t n, float shift);
double exp_shift_sum(double* y, const double* x, int64_t n, double shift);

// Few-row products for decode, where BLAS packing costs as much as the memory read itself:
// s[r * n + j] = dot(q[r * d ..], k[j * ldk ..]) for r < m, j < n   (q [m, d], k rows of d floats)
// o[r * d + c] += sum_j p[r * n + j] * v[j * ldv + c]                 (p [m, n], o [m, d])
// Each key and value row is read once for all m query rows.
void dot_rows(const float* q, int64_t m, const float* k, int64_t n, int64_t d, int64_t ldk, float* s);
void accumulate_rows(const float* p, int64_t m, const float* v, int64_t n, int64_t d, int64_t ldv, float* o);

// True when the AVX2 path is in use (reported by the benchmark).
bool vec_math_uses_avx2();

}  // namespace duo::kernels::cpu
