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
#include "kernels/cpu/half_rows.h"

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

// ---- One query position on raw rows (the runtime's one-token path) ----
//
// For one decoded token, decode_attention's tensor work per call (grouping the queries, gathering
// a head kind's heads, the split states and their merge: about a hundred small LibTorch ops per
// layer) costs more than its arithmetic at short and medium contexts. decode_rows computes the
// same attention for ONE query position with no tensor op: raw rows in, raw rows out, the cache
// read in place. Unlike decode_attention, the cache must ALREADY hold the query's own key and
// value (the runtime appends first; for a ring this is the same: after gaining position p it
// holds exactly the keys p may see).

// One group of cached heads (one head kind of one layer). Slot j of the group's head i is the D
// elements at k + (i * head_stride + j * D) (same for v), in `type`.
struct RowGroup {
  const void* k = nullptr;
  const void* v = nullptr;
  RowType type = RowType::kF32;
  int64_t heads = 0;              // heads in the group
  int64_t slots = 0;              // slots visited per head
  int64_t head_stride = 0;        // elements between consecutive heads
  const int64_t* pos = nullptr;   // [slots] absolute position of each slot, -1 = empty
  bool contiguous = false;        // pos[j] == j for every slot (a full store): masks per block only
  const int64_t* kv_heads = nullptr;  // [heads] the layer's KV head index of the group's head i
  HeadMask mask;                  // kind, window, sliding window of the group's heads
};

// q [Hkv, G, D] fp32 rows of the layer's every KV head (G query heads each, unscaled) at position
// p; writes the rows of out [Hkv, G, D] that belong to the groups' heads. params.scale and
// params.min_split as for decode_attention (params.mask is unused: each group has its own).
void decode_rows(const float* q, int64_t g, int64_t d, int64_t p, const RowGroup* groups, int64_t n_groups,
                 const DecodeParams& params, float* out);

}  // namespace duo::kernels::cpu
