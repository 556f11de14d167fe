// Few-row products over 16-bit K/V rows (see half_rows.h). The AVX-512 functions carry a target
// attribute and run only when the CPU reports AVX-512F, so the rest of the build stays generic.
#include "kernels/cpu/half_rows.h"

#include <immintrin.h>

#include <cstring>

#include "kernels/cpu/cpu_features.h"

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
                                                        int64_t d, int64_t ldk, float* s) {
  const int64_t tail = d % 16, body = d - tail;
  const __mmask16 tail_mask = static_cast<__mmask16>((1u << tail) - 1u);
  for (int64_t j = 0; j < n; ++j) {
    const uint16_t* kj = k + j * ldk;
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
      s[r * n + j] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    }
  }
}

template <HalfType kType>
__attribute__((target("avx512f"))) void accumulate_rows_avx512(const float* p, int64_t m, const uint16_t* v, int64_t n,
                                                               int64_t d, int64_t ldv, float* o) {
  const int64_t tail = d % 16, body = d - tail;
  const __mmask16 tail_mask = static_cast<__mmask16>((1u << tail) - 1u);
  for (int64_t j = 0; j < n; ++j) {
    const uint16_t* vj = v + j * ldv;
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
    if (type == HalfType::kBF16) return dot_rows_avx512<HalfType::kBF16>(q, m, k, n, d, ldk, s);
    return dot_rows_avx512<HalfType::kF16>(q, m, k, n, d, ldk, s);
  }
#endif
  dot_rows_half_reference(q, m, k, n, d, ldk, s, type);
}

void accumulate_rows_half(const float* p, int64_t m, const uint16_t* v, int64_t n, int64_t d, int64_t ldv, float* o,
                          HalfType type) {
#if defined(__x86_64__)
  if (has_avx512()) {
    if (type == HalfType::kBF16) return accumulate_rows_avx512<HalfType::kBF16>(p, m, v, n, d, ldv, o);
    return accumulate_rows_avx512<HalfType::kF16>(p, m, v, n, d, ldv, o);
  }
#endif
  accumulate_rows_half_reference(p, m, v, n, d, ldv, o, type);
}

bool half_rows_use_avx512() { return has_avx512(); }

}  // namespace duo::kernels::cpu
