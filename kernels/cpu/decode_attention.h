// Decode / chunked-prefill attention against a split cache (CPU).
//
// n new queries q [Hq, n, D] at absolute positions p0 .. p0 + n - 1 attend over
//   (a) cached keys/values k_cache, v_cache [Hkv, S, D] at absolute positions cache_pos [S]
//       (int64; -1 marks an empty slot), e.g. a contiguous full cache or a sink + recent ring;
//   (b) the chunk's own keys/values k_new, v_new [Hkv, n, D] at positions p0 .. p0 + n - 1,
// under the mask of kernels/attention_mask.h for the heads' kind. The runtime calls this BEFORE
// appending the chunk to its cache, so a ring of sink + recent slots suffices and chunked
// prefill equals one unchunked pass for every chunk size.
//
// Decode is memory-bound: each KV head's cache is read once for all G query heads (rows
// (t, g) of one tile), in contiguous blocks, and the cache is split across threads when there
// are fewer heads than threads (partial softmax states combined at the end, flash-decoding).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "kernels/attention_mask.h"

namespace duo::kernels::cpu {

struct DecodeParams {
  HeadMask mask;             // kind, sink, recent, window of every head in this call
  double scale = 0.0;        // softmax scale; 0 = 1/sqrt(D)
  int64_t k_block = 512;     // keys per tile (at least 2048 when n * G <= 16: the direct path)
  int64_t min_split = 1024;  // fewest cache keys per thread split
};

// Returns [Hq, n, D] in q's dtype. k_cache / v_cache / cache_pos may be undefined or have
// S = 0 (nothing cached yet). Cache dtype may differ from q's (e.g. bf16 cache, fp32 queries).
at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k_new, const at::Tensor& v_new, int64_t p0,
                            const at::Tensor& k_cache, const at::Tensor& v_cache, const at::Tensor& cache_pos,
                            const DecodeParams& params);

}  // namespace duo::kernels::cpu
