// Blockwise (flash-attention style) causal attention on CPU, forward and backward, for full
// and streaming heads in one call (each KV head has its own kind).
//
// Layout (batch 1): q [Hq, T, D], k and v [Hkv, T, D], Hq = G * Hkv; query head h uses KV head
// h / G. The G query heads of a KV head are processed together (rows ordered (t, g)), so each
// K/V block is read once for the group and repeated K/V are never materialized. Scores are
// computed by matrix products (kernels/cpu/gemm.h) on tiles of q_rows x k_block; softmax is
// online (running max and sum) in fp32 (fp64 for double inputs; bf16 inputs are widened to fp32).
// Memory O(T * D) per head.
// Streaming heads visit only the sink keys and the recent band (block-sparse): work
// O(T * (sink + recent + block)). Masks (kernels/attention_mask.h) are applied per element only on
// blocks that cut the mask boundary.
//
// Backward (flash-attention 2, arXiv 2307.08691 section 3.1.2): P is recomputed from q, k and
// the saved log-sum-exp; D_i = rowsum(dO * O). One pass over key blocks computes P once per tile
// for dK, dV and dQ; dQ is summed through per-chunk buffers in a fixed order (no atomics), so
// the gradients are bitwise identical for any thread count. Extra memory O(T * D) per head.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "kernels/attention_mask.h"

namespace duo::kernels::cpu {

struct AttentionParams {
  std::vector<uint8_t> streaming;  // [Hkv], 1 = streaming head; empty = every head full
  StreamWindow window;             // streaming heads: the sink + recent window
  int64_t sliding_window = 0;      // the model's sliding window for every head; 0 = none
  double scale = 0.0;              // softmax scale; 0 = 1/sqrt(D)
  int64_t q_rows = 256;            // query rows (queries x G) per tile, full heads
  int64_t stream_q_rows = 128;     // the same for streaming heads (smaller: less of the band is masked)
  int64_t k_block = 256;           // keys per tile

  HeadMask mask(int64_t kv_head) const {
    const bool s = !streaming.empty() && streaming[kv_head] != 0;
    return HeadMask{s, window, sliding_window};
  }
  // Queries per tile for a head of this mask with G query heads per KV head.
  int64_t query_block(const HeadMask& m, int64_t g) const {
    const int64_t rows = m.streaming ? stream_q_rows : q_rows;
    return rows / g > 1 ? rows / g : 1;
  }
};

// Preconditions (the front end, src/attention, validates user input; the kernels only assert):
// q, k, v on the CPU with one dtype of float32, bfloat16, float64; shapes as above; tile sizes >= 1.
struct ForwardResult {
  at::Tensor out;  // [Hq, T, D], dtype of q
  at::Tensor lse;  // [Hq, T], float (double for double inputs): log-sum-exp of the scaled scores
};

ForwardResult flash_forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const AttentionParams& params);

struct BackwardResult {
  at::Tensor dq;  // [Hq, T, D], dtype of q
  at::Tensor dk;  // [Hkv, T, D]
  at::Tensor dv;  // [Hkv, T, D]
};

// dout [Hq, T, D]; out and lse as returned by flash_forward for the same inputs and params.
BackwardResult flash_backward(const at::Tensor& dout, const at::Tensor& q, const at::Tensor& k,
                              const at::Tensor& v, const at::Tensor& out, const at::Tensor& lse,
                              const AttentionParams& params);

}  // namespace duo::kernels::cpu
