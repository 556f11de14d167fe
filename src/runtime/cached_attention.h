// Attention of a chunk of queries over cached keys at explicit absolute positions: the decode /
// chunked-prefill counterpart of attention::attend (which assumes queries and keys both start
// at position 0).
//
// Layout (batch 1): q [Hq, C, D] holds C queries at absolute positions p0 .. p0 + C - 1;
// k, v [Hk, n, D] hold n keys whose absolute positions are given separately; Hq = G * Hk and
// query head h uses key head h / G (GQA). Key j is visible from query i iff (DESIGN.md section 1)
//   pos(j) >= 0 (a filled slot) && pos(j) <= i
//   && (window == 0 || i - pos(j) < window)                  (the model's own sliding window)
//   && (!streaming || pos(j) < sink || i - pos(j) < recent)
// Every query must see at least one key (its own, in practice). Scores and softmax are computed
// in fp32 (bf16 inputs are widened); the output has q's dtype.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace duo::runtime {

struct KeyMask {
  bool streaming = false;  // apply the sink / recent rule
  int64_t sink = 0;        // streaming: leading positions always visible
  int64_t recent = 1;      // streaming: window of recent positions (query included)
  int64_t window = 0;      // the model's sliding window; 0 = none
  double scale = 0.0;      // softmax scale; 0 = 1/sqrt(D)
};

// Keys at consecutive positions k0 .. k0 + n - 1 (the full cache, k0 = 0). Needs no mask when
// every key is visible from every query (plain decoding), and then skips building one.
at::Tensor attend_contiguous(const at::Tensor& q, int64_t p0, const at::Tensor& k, const at::Tensor& v, int64_t k0,
                             const KeyMask& m);  // -> [Hq, C, D]

// Keys at explicit positions key_pos [n] (-1 = empty slot; any order, e.g. a ring).
at::Tensor attend_positions(const at::Tensor& q, int64_t p0, const at::Tensor& k, const at::Tensor& v,
                            const std::vector<int64_t>& key_pos, const KeyMask& m);  // -> [Hq, C, D]

// The plain reference: element loops in double, for tests (small sizes only).
at::Tensor attend_positions_reference(const at::Tensor& q, int64_t p0, const at::Tensor& k, const at::Tensor& v,
                                      const std::vector<int64_t>& key_pos, const KeyMask& m);

}  // namespace duo::runtime
