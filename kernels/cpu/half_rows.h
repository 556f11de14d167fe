// Few-row products over a half-precision KV cache (bf16 or IEEE f16 keys and values, fp32
// queries, scores and outputs): the decode kernel's inner loop when the cache is stored in 16 bits.
//
// Decode reads every cached key and value once per token, so the bytes of the cache are the cost;
// a 16-bit cache halves them. These functions read the 16-bit rows directly and widen them to fp32
// in registers (bf16: a 16-bit shift into the high half of an fp32; f16: vcvtph2ps), accumulating
// in fp32. The cache is never converted as a whole, not even per block. AVX-512F paths are chosen
// at run time; the scalar functions below are the readable reference and the fallback.
#pragma once

#include <cstdint>

namespace duo::kernels::cpu {

enum class HalfType : uint8_t { kBF16, kF16 };

// One 16-bit value -> fp32 (bf16: exact shift; f16: IEEE half, subnormals and inf/NaN included).
float half_to_float(uint16_t h, HalfType type);

// s[r * n + j] = dot(q[r * d ..], k[j * ldk ..]) for r < m, j < n   (q [m, d] fp32; k rows of d halves)
void dot_rows_half(const float* q, int64_t m, const uint16_t* k, int64_t n, int64_t d, int64_t ldk, float* s,
                   HalfType type);
// o[r * d + c] += sum_j p[r * n + j] * v[j * ldv + c]                  (p [m, n], o [m, d] fp32; v halves)
void accumulate_rows_half(const float* p, int64_t m, const uint16_t* v, int64_t n, int64_t d, int64_t ldv, float* o,
                          HalfType type);

// The scalar references of the two functions above (tests compare the fast paths with them).
void dot_rows_half_reference(const float* q, int64_t m, const uint16_t* k, int64_t n, int64_t d, int64_t ldk,
                             float* s, HalfType type);
void accumulate_rows_half_reference(const float* p, int64_t m, const uint16_t* v, int64_t n, int64_t d, int64_t ldv,
                                    float* o, HalfType type);

// Rows of any of the three element types the runtime streams (KV cache, weight matrices).
enum class RowType : uint8_t { kF32, kBF16, kF16 };

// dot_rows / dot_rows_half and accumulate_rows / accumulate_rows_half by the rows' type: k and v
// point to fp32 rows for kF32, to 16-bit rows otherwise.
void dot_rows_typed(const float* q, int64_t m, const void* k, int64_t n, int64_t d, int64_t ldk, float* s,
                    RowType type);
void accumulate_rows_typed(const float* p, int64_t m, const void* v, int64_t n, int64_t d, int64_t ldv, float* o,
                           RowType type);

// True when the AVX-512 paths are in use (reported by the benchmark; tests say which path ran).
bool half_rows_use_avx512();

}  // namespace duo::kernels::cpu
