// Few-row products over 16-bit K/V rows (see half_rows.h). The AVX-512 functions carry a target
// attribute and run only when the CPU reports AVX-512F, so the rest of the build stays generic.
#include "kernels/cpu/half_rows.h"

#include <immintrin.h>

#include <cstring>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/prefetch.h"
#include "kernels/cpu/vec_math.h"

// GCC 12 reports the deliberately undefined operand inside its own AVX-512 intrinsics
// (_mm512_undefined_epi32 in _mm512_cvtepu16_epi32 / _mm512_slli_epi32) once they are inlined
// into unrolled loops: a known false positive, not a read of our data.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace duo::kernels::cpu {
namespace {

bool has_avx512() { return cpu_has_avx512f(); }

float bf16_to_float(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// IEEE 754 binary16 -> binary32, exact (normal, subnormal, zero, inf, NaN).
float f16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);  // inf / NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112u) << 23) | (man << 13);  // rebias 15 -> 127
  } else if (man == 0) {
    bits = sign;  // +-0
  } else {
    // Subnormal: value man * 2^-24; normalize the mantissa.
    int e = -1;
    do {
      ++e;
      man <<= 1;
    } while ((man & 0x400u) == 0);
    bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((man & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

#if defined(__x86_64__)
// 16 halves at p -> 16 floats.
template <HalfType kType>
__attribute__((target("avx512f"))) inline __m512 load16(const uint16_t* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  if constexpr (kType == HalfType::kBF16) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  } else {
    return _mm512_cvtph_ps(h);
  }
}

// The first `count` (< 16) halves at p -> floats, the other lanes 0 (no read past p + count).
template <HalfType kType>
__attribute__((target("avx512f"))) inline __m512 load_tail(const uint16_t* p, int64_t count) {
  alignas(32) uint16_t buf[16] = {};
  std::memcpy(buf, p, static_cast<size_t>(count) * sizeof(uint16_t));
  return load16<kType>(buf);
}

template <HalfType kType>
__attribute__((target("avx512f"))) void dot_rows_avx512(const float* q, int64_t m, const uint16_t* k, int64_t n,
                                                        int64_t d, int64_t ldk, float* s, int64_t lds) {
  const int64_t tail = d % 16, body = d - tail;
  const __mmask16 tail_mask = static_cast<__mmask16>((1u << tail) - 1u);
  const int64_t ahead = prefetch_rows_ahead(2 * d);
  for (int64_t j = 0; j < n; ++j) {
    const uint16_t* kj = k + j * ldk;
    prefetch_row_ahead(k, j, ahead, n, ldk, 2 * d);
    for (int64_t r = 0; r < m; ++r) {
      const float* qr = q + r * d;
      __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
      int64_t c = 0;
      for (; c + 32 <= body; c += 32) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(qr + c), load16<kType>(kj + c), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(qr + c + 16), load16<kType>(kj + c + 16), a1);
      }
      if (c < body) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(qr + c), load16<kType>(kj + c), a0);
      if (tail) a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail_mask, qr + body), load_tail<kType>(kj + body, tail), a1);
      s[r * lds + j] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    }
  }
}

// a[0..15] -> one vector whose lane t is the sum of a[t]'s 16 lanes (a transposing tree: 45
// instructions for 16 sums instead of 16 separate horizontal reductions).
__attribute__((target("avx512f"))) inline __m512 reduce16(const __m512* a) {
  __m512 t[8], u[4];
  for (int i = 0; i < 8; ++i)  // per 128-bit lane: [a2i, a2i+1, a2i, a2i+1] partial sums
    t[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
  for (int i = 0; i < 4; ++i)  // per 128-bit lane: [a4i .. a4i+3] partial sums
    u[i] = _mm512_add_ps(_mm512_shuffle_ps(t[2 * i], t[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(t[2 * i], t[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  // Fold the four 128-bit lanes: lanes (0,2) + (1,3), twice.
  const __m512 v0 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x88), _mm512_shuffle_f32x4(u[0], u[1], 0xDD));
  const __m512 v1 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], 0x88), _mm512_shuffle_f32x4(u[2], u[3], 0xDD));
  return _mm512_add_ps(_mm512_shuffle_f32x4(v0, v1, 0x88), _mm512_shuffle_f32x4(v0, v1, 0xDD));
}

// dot_rows for a head dimension of kChunks x 16 (decode: d = 64 or 128): 16 keys at a time, one
// accumulator per key, reduced together (reduce16); the remaining keys by the generic loop.
template <HalfType kType, int kChunks>
__attribute__((target("avx512f"))) void dot_rows_fixed(const float* q, int64_t m, const uint16_t* k, int64_t n,
                                                       int64_t ldk, float* s) {
  constexpr int64_t d = 16 * kChunks;
  const int64_t ahead = prefetch_rows_ahead(2 * d);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const uint16_t* kj = k + j * ldk;
    prefetch_rows(k, j + ahead, 16, ldk, 2 * d);  // prefetch.h
    for (int64_t r = 0; r < m; ++r) {
      const float* qr = q + r * d;
      __m512 qv[kChunks];
#pragma GCC unroll 8
      for (int c = 0; c < kChunks; ++c) qv[c] = _mm512_loadu_ps(qr + 16 * c);
      __m512 acc[16];
#pragma GCC unroll 16
      for (int t = 0; t < 16; ++t) {
        const uint16_t* kt = kj + t * ldk;
        __m512 a = _mm512_mul_ps(qv[0], load16<kType>(kt));
#pragma GCC unroll 8
        for (int c = 1; c < kChunks; ++c) a = _mm512_fmadd_ps(qv[c], load16<kType>(kt + 16 * c), a);
        acc[t] = a;
      }
      _mm512_storeu_ps(s + r * n + j, reduce16(acc));
    }
  }
  if (j < n) dot_rows_avx512<kType>(q, m, k + j * ldk, n - j, d, ldk, s + j, n);
}

// accumulate_rows for a head dimension of kChunks x 16: each output row stays in registers over
// the whole block (two accumulator sets, alternate keys, so that consecutive FMAs are independent)
// instead of a load-FMA-store of the row per key.
template <HalfType kType, int kChunks>
__attribute__((target("avx512f"))) void accumulate_rows_fixed(const float* p, int64_t m, const uint16_t* v, int64_t n,
                                                              int64_t ldv, float* o) {
  constexpr int64_t d = 16 * kChunks;
  const int64_t ahead = prefetch_rows_ahead(2 * d);
  for (int64_t r = 0; r < m; ++r) {
    const float* pr = p + r * n;
    float* orow = o + r * d;
    __m512 a0[kChunks], a1[kChunks];
#pragma GCC unroll 8
    for (int c = 0; c < kChunks; ++c) {
      a0[c] = _mm512_loadu_ps(orow + 16 * c);
      a1[c] = _mm512_setzero_ps();
    }
    int64_t j = 0;
    for (; j + 2 <= n; j += 2) {
      if (r == 0 && j % 16 == 0) prefetch_rows(v, j + ahead, 16, ldv, 2 * d);  // prefetch.h
      const float w0 = pr[j], w1 = pr[j + 1];
      if (w0 == 0.0f && w1 == 0.0f) continue;  // masked keys
      const __m512 x0 = _mm512_set1_ps(w0), x1 = _mm512_set1_ps(w1);
      const uint16_t* v0 = v + j * ldv;
      const uint16_t* v1 = v0 + ldv;
#pragma GCC unroll 8
      for (int c = 0; c < kChunks; ++c) {
        a0[c] = _mm512_fmadd_ps(x0, load16<kType>(v0 + 16 * c), a0[c]);
        a1[c] = _mm512_fmadd_ps(x1, load16<kType>(v1 + 16 * c), a1[c]);
      }
    }
    if (j < n && pr[j] != 0.0f) {
      const __m512 x0 = _mm512_set1_ps(pr[j]);
#pragma GCC unroll 8
      for (int c = 0; c < kChunks; ++c) a0[c] = _mm512_fmadd_ps(x0, load16<kType>(v + j * ldv + 16 * c), a0[c]);
    }
#pragma GCC unroll 8
    for (int c = 0; c < kChunks; ++c) _mm512_storeu_ps(orow + 16 * c, _mm512_add_ps(a0[c], a1[c]));
  }
}

template <HalfType kType>
__attribute__((target("avx512f"))) void accumulate_rows_avx512(const float* p, int64_t m, const uint16_t* v, int64_t n,
                                                               int64_t d, int64_t ldv, float* o) {
  const int64_t tail = d % 16, body = d - tail;
  const __mmask16 tail_mask = static_cast<__mmask16>((1u << tail) - 1u);
  const int64_t ahead = prefetch_rows_ahead(2 * d);
  for (int64_t j = 0; j < n; ++j) {
    const uint16_t* vj = v + j * ldv;
    prefetch_row_ahead(v, j, ahead, n, ldv, 2 * d);
    for (int64_t r = 0; r < m; ++r) {
      const float w = p[r * n + j];
      if (w == 0.0f) continue;  // masked keys
      const __m512 wv = _mm512_set1_ps(w);
      float* orow = o + r * d;
      for (int64_t c = 0; c < body; c += 16)
        _mm512_storeu_ps(orow + c, _mm512_fmadd_ps(wv, load16<kType>(vj + c), _mm512_loadu_ps(orow + c)));
      if (tail) {
        const __m512 acc = _mm512_fmadd_ps(wv, load_tail<kType>(vj + body, tail),
                                           _mm512_maskz_loadu_ps(tail_mask, orow + body));
        _mm512_mask_storeu_ps(orow + body, tail_mask, acc);
      }
    }
  }
}

// The fixed-width kernels for the common head dimensions (64, 128), else the generic loops.
template <HalfType kType>
void dot_rows_dispatch(const float* q, int64_t m, const uint16_t* k, int64_t n, int64_t d, int64_t ldk, float* s) {
  if (d == 64) return dot_rows_fixed<kType, 4>(q, m, k, n, ldk, s);
  if (d == 128) return dot_rows_fixed<kType, 8>(q, m, k, n, ldk, s);
  dot_rows_avx512<kType>(q, m, k, n, d, ldk, s, n);
}

template <HalfType kType>
void accumulate_rows_dispatch(const float* p, int64_t m, const uint16_t* v, int64_t n, int64_t d, int64_t ldv,
                              float* o) {
  if (d == 64) return accumulate_rows_fixed<kType, 4>(p, m, v, n, ldv, o);
  if (d == 128) return accumulate_rows_fixed<kType, 8>(p, m, v, n, ldv, o);
  accumulate_rows_avx512<kType>(p, m, v, n, d, ldv, o);
}
#endif

}  // namespace

float half_to_float(uint16_t h, HalfType type) { return type == HalfType::kBF16 ? bf16_to_float(h) : f16_to_float(h); }

void dot_rows_half_reference(const float* q, int64_t m, const uint16_t* k, int64_t n, int64_t d, int64_t ldk,
                             float* s, HalfType type) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = 0; r < m; ++r) {
      float dot = 0.0f;
      for (int64_t c = 0; c < d; ++c) dot += q[r * d + c] * half_to_float(k[j * ldk + c], type);
      s[r * n + j] = dot;
    }
}

void accumulate_rows_half_reference(const float* p, int64_t m, const uint16_t* v, int64_t n, int64_t d, int64_t ldv,
                                    float* o, HalfType type) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < d; ++c) o[r * d + c] += p[r * n + j] * half_to_float(v[j * ldv + c], type);
}

void dot_rows_half(const float* q, int64_t m, const uint16_t* k, int64_t n, int64_t d, int64_t ldk, float* s,
                   HalfType type) {
#if defined(__x86_64__)
  if (has_avx512()) {
    if (type == HalfType::kBF16) return dot_rows_dispatch<HalfType::kBF16>(q, m, k, n, d, ldk, s);
    return dot_rows_dispatch<HalfType::kF16>(q, m, k, n, d, ldk, s);
  }
#endif
  dot_rows_half_reference(q, m, k, n, d, ldk, s, type);
}

void accumulate_rows_half(const float* p, int64_t m, const uint16_t* v, int64_t n, int64_t d, int64_t ldv, float* o,
                          HalfType type) {
#if defined(__x86_64__)
  if (has_avx512()) {
    if (type == HalfType::kBF16) return accumulate_rows_dispatch<HalfType::kBF16>(p, m, v, n, d, ldv, o);
    return accumulate_rows_dispatch<HalfType::kF16>(p, m, v, n, d, ldv, o);
  }
#endif
  accumulate_rows_half_reference(p, m, v, n, d, ldv, o, type);
}

void dot_rows_typed(const float* q, int64_t m, const void* k, int64_t n, int64_t d, int64_t ldk, float* s,
                    RowType type) {
  if (type == RowType::kF32) return dot_rows(q, m, static_cast<const float*>(k), n, d, ldk, s);
  dot_rows_half(q, m, static_cast<const uint16_t*>(k), n, d, ldk, s,
                type == RowType::kBF16 ? HalfType::kBF16 : HalfType::kF16);
}

void accumulate_rows_typed(const float* p, int64_t m, const void* v, int64_t n, int64_t d, int64_t ldv, float* o,
                           RowType type) {
  if (type == RowType::kF32) return accumulate_rows(p, m, static_cast<const float*>(v), n, d, ldv, o);
  accumulate_rows_half(p, m, static_cast<const uint16_t*>(v), n, d, ldv, o,
                       type == RowType::kBF16 ? HalfType::kBF16 : HalfType::kF16);
}

bool half_rows_use_avx512() { return has_avx512(); }

}  // namespace duo::kernels::cpu
