// Row max and shifted exp (see vec_math.h). The AVX2 functions carry a target attribute and
// are only called when the CPU reports AVX2 and FMA, so the rest of the build stays generic.
#include "kernels/cpu/vec_math.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/prefetch.h"

namespace duo::kernels::cpu {
namespace {

bool has_avx2() { return cpu_has_avx2_fma(); }

#if defined(__x86_64__) || defined(__i386__)
// exp on 8 lanes: x = n ln2 + r with |r| <= ln2 / 2, exp(r) by a degree-6 polynomial (Cephes
// expf coefficients), 2^n built in the exponent bits. Inputs below -100 give exactly 0: n is
// clamped to -127, whose exponent field is 0.
__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-100.0f));
  const __m256 magic = _mm256_set1_ps(12582912.0f);  // 1.5 * 2^23: rounds to an integer in the low bits
  __m256 kf = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), magic);
  kf = _mm256_max_ps(kf, _mm256_set1_ps(12582912.0f - 127.0f));
  const __m256 n = _mm256_sub_ps(kf, magic);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e =
      _mm256_slli_epi32(_mm256_sub_epi32(_mm256_castps_si256(kf), _mm256_set1_epi32(0x4B400000 - 127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

__attribute__((target("avx2,fma"))) float exp_shift_sum_avx2(float* y, const float* x, int64_t n, float shift) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), s));
    _mm256_storeu_ps(y + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc);
  float sum = 0.0f;
  for (float lane : lanes) sum += lane;
  for (; j < n; ++j) {
    y[j] = std::exp(x[j] - shift);
    sum += y[j];
  }
  return sum;
}

__attribute__((target("avx2,fma"))) float row_max_avx2(const float* x, int64_t n) {
  __m256 acc = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) acc = _mm256_max_ps(acc, _mm256_loadu_ps(x + j));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc);
  float m = -std::numeric_limits<float>::infinity();
  for (float lane : lanes) m = std::max(m, lane);
  for (; j < n; ++j) m = std::max(m, x[j]);
  return m;
}

__attribute__((target("avx2,fma"))) void dot_rows_avx2(const float* q, int64_t m, const float* k, int64_t n,
                                                        int64_t d, int64_t ldk, float* s) {
  const int64_t ahead = prefetch_rows_ahead(4 * d);
  for (int64_t j = 0; j < n; ++j) {
    const float* kj = k + j * ldk;
    prefetch_row_ahead(k, j, ahead, n, ldk, 4 * d);
    for (int64_t r = 0; r < m; ++r) {
      const float* qr = q + r * d;
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
      int64_t c = 0;
      for (; c + 16 <= d; c += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qr + c), _mm256_loadu_ps(kj + c), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(qr + c + 8), _mm256_loadu_ps(kj + c + 8), a1);
      }
      for (; c + 8 <= d; c += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qr + c), _mm256_loadu_ps(kj + c), a0);
      a0 = _mm256_add_ps(a0, a1);
      __m128 h = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
      h = _mm_add_ps(h, _mm_movehl_ps(h, h));
      h = _mm_add_ss(h, _mm_movehdup_ps(h));
      float dot = _mm_cvtss_f32(h);
      for (; c < d; ++c) dot += qr[c] * kj[c];
      s[r * n + j] = dot;
    }
  }
}

__attribute__((target("avx2,fma"))) void accumulate_rows_avx2(const float* p, int64_t m, const float* v, int64_t n,
                                                               int64_t d, int64_t ldv, float* o) {
  const int64_t ahead = prefetch_rows_ahead(4 * d);
  for (int64_t j = 0; j < n; ++j) {
    const float* vj = v + j * ldv;
    prefetch_row_ahead(v, j, ahead, n, ldv, 4 * d);
    for (int64_t r = 0; r < m; ++r) {
      const float w = p[r * n + j];
      if (w == 0.0f) continue;  // masked keys
      const __m256 wv = _mm256_set1_ps(w);
      float* orow = o + r * d;
      int64_t c = 0;
      for (; c + 8 <= d; c += 8)
        _mm256_storeu_ps(orow + c, _mm256_fmadd_ps(wv, _mm256_loadu_ps(vj + c), _mm256_loadu_ps(orow + c)));
      for (; c < d; ++c) orow[c] += w * vj[c];
    }
  }
}
#endif

template <typename T>
T row_max_scalar(const T* x, int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < n; ++j) m = std::max(m, x[j]);
  return m;
}

template <typename T>
T exp_shift_sum_scalar(T* y, const T* x, int64_t n, T shift) {
  T sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    y[j] = std::exp(x[j] - shift);
    sum += y[j];
  }
  return sum;
}

}  // namespace

float row_max(const float* x, int64_t n) {
#if defined(__x86_64__) || defined(__i386__)
  if (has_avx2()) return row_max_avx2(x, n);
#endif
  return row_max_scalar(x, n);
}

double row_max(const double* x, int64_t n) { return row_max_scalar(x, n); }

float exp_shift_sum(float* y, const float* x, int64_t n, float shift) {
#if defined(__x86_64__) || defined(__i386__)
  if (has_avx2()) return exp_shift_sum_avx2(y, x, n, shift);
#endif
  return exp_shift_sum_scalar(y, x, n, shift);
}

double exp_shift_sum(double* y, const double* x, int64_t n, double shift) { return exp_shift_sum_scalar(y, x, n, shift); }

void dot_rows(const float* q, int64_t m, const float* k, int64_t n, int64_t d, int64_t ldk, float* s) {
#if defined(__x86_64__) || defined(__i386__)
  if (has_avx2()) return dot_rows_avx2(q, m, k, n, d, ldk, s);
#endif
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = 0; r < m; ++r) {
      float dot = 0.0f;
      for (int64_t c = 0; c < d; ++c) dot += q[r * d + c] * k[j * ldk + c];
      s[r * n + j] = dot;
    }
}

void accumulate_rows(const float* p, int64_t m, const float* v, int64_t n, int64_t d, int64_t ldv, float* o) {
#if defined(__x86_64__) || defined(__i386__)
  if (has_avx2()) return accumulate_rows_avx2(p, m, v, n, d, ldv, o);
#endif
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < d; ++c) o[r * d + c] += p[r * n + j] * v[j * ldv + c];
}

bool vec_math_uses_avx2() { return has_avx2(); }

}  // namespace duo::kernels::cpu
