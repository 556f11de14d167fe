// Attention front end: the seam between the model and the kernels.
//
// Layout (batch 1 everywhere in duo): q [Hq, T, D], k and v [Hkv, T, D], output [Hq, T, D];
// Hq = G * Hkv (GQA: query head h uses KV head h / G). Query i and key j sit at absolute
// positions i and j (decode.h handles queries at other offsets). Scale defaults to 1/sqrt(D).
//
// Mask (DESIGN.md section 1; the predicate is kernels::HeadMask::visible): key j is visible from
// query i iff
//   j <= i                                                  (causal)
//   && (sliding_window == 0 || i - j < sliding_window)      (the model's own window, e.g. Mistral v0.1)
//   && for a streaming head: (j < window.sink || i - j < window.recent)
// Gated attention (training): per KV head g, out = a * full + (1 - a) * streaming with
// a = clamp(alpha[g], 0, 1); gradients reach alpha, q, k and v.
//
// Like CTranslate2's ops, each public function validates its inputs once (duo::Error with what /
// expected / got) and then dispatches by device to a backend (backends.h): *_cpu runs the
// kernels of kernels/cpu; a device without a backend in this build is refused. Kernels only
// assert. The plain reference lives in reference.h.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "core/stream_window.h"

namespace duo::attention {

enum class HeadKind : uint8_t { kFull = 0, kStreaming = 1 };
inline constexpr HeadKind kHeadKinds[] = {HeadKind::kFull, HeadKind::kStreaming};

// The kernel results of one gated layer, kept by a forward without autograd so that a later
// forward with autograd over the same q, k, v (the trainer's per-layer recompute) skips both
// attention kernels. Memory 2 * Hq * T * (D + 1) values per layer, linear in T.
struct GatedSaved {
  at::Tensor full_out, full_lse;      // [Hq, T, D] in q's dtype; [Hq, T] fp32 (fp64 for fp64 inputs)
  at::Tensor stream_out, stream_lse;  // the same for the streaming branch
  bool filled() const { return full_out.defined(); }
};

// How one layer's heads attend.
struct LayerSpec {
  std::vector<HeadKind> kinds;  // [Hkv]; empty means every head full
  StreamWindow window;          // streaming heads (and the streaming branch of gated heads)
  int64_t sliding_window = 0;   // the model's window for every head; 0 = none
  at::Tensor alpha;             // [Hkv] gates; when defined the layer is gated (kinds ignored)
  double scale = 0.0;           // softmax scale; 0 = 1/sqrt(D)
  // Gated only: when set and empty, the forward stores its kernel results here; when set and
  // filled, the forward reuses them instead of running the kernels. The caller guarantees the
  // same q, k, v (up to rounding: the backward then uses the kept outputs and log-sum-exp rows
  // with the q, k, v of this call).
  std::shared_ptr<GatedSaved> saved;

  bool is_gated() const { return alpha.defined(); }
  bool all_full() const;
  HeadKind kind(int64_t kv_head) const {
    return kinds.empty() ? HeadKind::kFull : kinds[static_cast<size_t>(kv_head)];
  }
};

// Causal attention for a sequence starting at absolute position 0. Never materializes a T x T
// matrix. Differentiable w.r.t. q, k, v (and alpha when gated) through the kernels' backward.
// dtypes: float32, bfloat16 (fp32 accumulation, bf16 out), float64.
at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const LayerSpec& spec);

}  // namespace duo::attention
