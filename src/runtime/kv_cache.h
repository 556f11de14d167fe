// SplitKVCache: the decoder's per-layer KV cache made of two caches behind one interface (the
// shape of llama.cpp's llama-kv-cache-iswa.h), DESIGN.md section 1 "Runtime semantics":
//   - retrieval (full) heads: a contiguous cache [Hf, capacity, D] holding every token; slot t
//     is token t. Preallocated to a known total length, else grown geometrically (x2).
//   - streaming heads: a ring [Hs, S, D] with S = sink + recent slots (fewer while fewer tokens
//     were appended); token t lives in slot t < sink ? t : sink + (t - sink) % recent, so the
//     ring keeps exactly the sink tokens and the `recent` most recent ones.
// Keys are stored AFTER RoPE, at their absolute positions (as the official runtime does); K and
// V are kept in the model's compute dtype. Memory accounting (bytes()) is the size of the K/V
// buffers actually allocated, so a preallocated cache of T tokens matches mask::kv_cache_bytes.
// Copies are explicit: clone() deep-copies; the class itself is move-only.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <vector>

#include "runtime/head_layout.h"

namespace duo::runtime {

// One layer's two caches.
struct LayerKV {
  at::Tensor full_k;              // [Hf, cap, D]; undefined when the layer has no full head
  at::Tensor full_v;              // [Hf, cap, D]
  at::Tensor ring_k;              // [Hs, S, D]; undefined when the layer has no streaming head
  at::Tensor ring_v;              // [Hs, S, D]
  std::vector<int64_t> ring_pos;  // [S] absolute position held by each slot; -1 = empty
  int64_t length = 0;             // tokens appended so far
};

// The streaming ring's keys and values in slot order, with the position held by each slot.
struct RingView {
  at::Tensor k;                   // [Hs, S, D]
  at::Tensor v;                   // [Hs, S, D]
  const std::vector<int64_t>* pos = nullptr;  // [S]; -1 = empty slot
};

class SplitKVCache {
 public:
  // capacity: total tokens the cache will hold (prompt + generated); 0 = unknown, grow as needed.
  SplitKVCache(HeadLayout layout, int64_t head_dim, at::ScalarType dtype, int64_t capacity = 0);
  SplitKVCache(SplitKVCache&&) = default;
  SplitKVCache& operator=(SplitKVCache&&) = default;
  SplitKVCache(const SplitKVCache&) = delete;
  SplitKVCache& operator=(const SplitKVCache&) = delete;

  // Appends C tokens at positions length(layer) .. length(layer) + C - 1. k, v: [Hkv, C, D] with
  // every KV head of the layer (the cache picks its full and streaming heads). For streaming
  // heads only the tokens that survive in the ring are written.
  void append(int64_t layer, const at::Tensor& k, const at::Tensor& v);

  // Full heads: keys / values of tokens 0 .. length-1, a view into the buffer.
  at::Tensor full_k(int64_t layer) const;  // [Hf, length, D]
  at::Tensor full_v(int64_t layer) const;  // [Hf, length, D]
  // Streaming heads: the ring as allocated (slots in slot order, positions alongside).
  RingView ring(int64_t layer) const;

  int64_t length(int64_t layer) const { return layers_[static_cast<size_t>(layer)].length; }
  const HeadLayout& layout() const { return layout_; }
  int64_t head_dim() const { return head_dim_; }
  at::ScalarType dtype() const { return dtype_; }
  // Bytes of every K and V buffer allocated (capacity, not length).
  int64_t bytes() const;
  // Bytes that hold tokens (full: length, ring: min(length, S)); what decoding reads per step.
  int64_t used_bytes() const;
  // Deep copy (a snapshot to branch from, e.g. one prompt prefix for several questions).
  SplitKVCache clone() const;
  // Ring slot of token t (see the file comment).
  static int64_t ring_slot(int64_t t, int64_t sink, int64_t recent) {
    return t < sink ? t : sink + (t - sink) % recent;
  }

 private:
  void ensure_full_capacity(LayerKV& c, int64_t hf, int64_t needed);
  void ensure_ring_size(LayerKV& c, int64_t hs, int64_t needed);

  HeadLayout layout_;
  int64_t head_dim_;
  at::ScalarType dtype_;
  int64_t capacity_;
  std::vector<LayerKV> layers_;
  std::vector<at::Tensor> full_idx_;    // [L] int64 [Hf] KV head indices (undefined if none)
  std::vector<at::Tensor> stream_idx_;  // [L] int64 [Hs]
};

}  // namespace duo::runtime
