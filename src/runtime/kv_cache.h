// The decoder's KV cache, DESIGN.md section 1 "Runtime semantics": per layer, two stores behind
// one interface (the shape of llama.cpp's llama-kv-cache-iswa.h, which holds two llama_kv_cache
// instances):
//   - the full store, for retrieval (full) heads: [Hf, capacity, D] holding every token; slot t
//     is token t. Preallocated to a known total length, else grown geometrically (x2).
//   - the ring store, for streaming heads: [Hs, S, D] with S = window.slots() (fewer while fewer
//     tokens were appended); token t lives in slot window.ring_slot(t), so the ring keeps exactly
//     the sink tokens and the `recent` most recent ones.
// The cache owns the head split: which KV heads of a layer are full and which stream (from a
// HeadLayout), and it gathers a head kind's rows out of a tensor over every head and scatters
// results back. The decoder asks it for a view per head kind and loops over the two kinds.
//
// Keys are stored AFTER RoPE, at their absolute positions (as the official runtime does); K and
// V are kept in the cache's dtype (the model's compute dtype, or a 16-bit KV dtype: bf16 / f16,
// which the decode kernel reads directly, widening to fp32 in registers). Memory accounting (bytes()) is the size of the K/V
// buffers actually allocated, so a preallocated cache of T tokens matches mask::kv_cache_bytes.
// Copies are explicit: clone() deep-copies; the classes themselves are move-only.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "attention/attention.h"
#include "attention/decode.h"
#include "kernels/cpu/decode_attention.h"
#include "runtime/head_layout.h"

namespace duo::runtime {

using attention::HeadKind;

// The K/V of one head kind of one layer: a contiguous store (no window) or a ring (a window).
class KVStore {
 public:
  KVStore() = default;
  // heads: KV heads held (0 = an empty store); ring: the streaming window, or none for the full store.
  KVStore(int64_t heads, int64_t head_dim, at::ScalarType dtype, int64_t capacity, std::optional<StreamWindow> ring);
  KVStore(KVStore&&) = default;
  KVStore& operator=(KVStore&&) = default;
  KVStore(const KVStore&) = delete;
  KVStore& operator=(const KVStore&) = delete;

  // Appends tokens p0 .. p0 + C - 1 (p0 = length()); k, v [heads, C, D]. A ring writes only the
  // tokens that survive.
  void append(const at::Tensor& k, const at::Tensor& v);
  // The cached keys and values with each slot's absolute position (-1 = empty ring slot).
  attention::CacheView view() const;
  // The one-token path (decoding): appends token length() from k, v [Hkv, D] fp32 rows of every
  // KV head of the layer, this store's heads being `kv_heads` (rounded to the store's dtype as
  // append's conversion rounds: to nearest, ties to even).
  void append_row(const float* k, const float* v, const std::vector<int64_t>& kv_heads);
  // The store's rows in place, for attention::attend_rows (kernels::cpu::RowGroup; kv_heads and
  // the mask are the caller's). Valid until the next append.
  kernels::cpu::RowGroup row_group() const;

  int64_t heads() const { return heads_; }
  int64_t length() const { return length_; }
  bool is_ring() const { return ring_.has_value(); }
  int64_t bytes() const;       // K and V buffers allocated
  int64_t used_bytes() const;  // K and V slots holding tokens
  KVStore clone() const;

 private:
  void reserve(int64_t tokens);  // grows the buffers to hold `tokens` tokens (a ring: up to its slots)

  int64_t heads_ = 0, head_dim_ = 0, capacity_ = 0, length_ = 0;
  at::ScalarType dtype_ = at::kFloat;
  std::optional<StreamWindow> ring_;
  at::Tensor k_, v_;  // [heads, allocated, D]
  at::Tensor pos_;    // [allocated] int64: the ring's slot positions (-1 = empty); the full store's 0, 1, 2, ...
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
  // every KV head of the layer (the cache routes each head to its store).
  void append(int64_t layer, const at::Tensor& k, const at::Tensor& v);
  // The one-token path: appends one token from k, v [Hkv, D] fp32 rows (no tensor op), and gives
  // the layer's stores as row groups for attention::attend_rows: groups[i] holds kinds[i]'s heads;
  // returns how many kinds have heads (0 to 2).
  void append_row(int64_t layer, const float* k, const float* v);
  int64_t row_groups(int64_t layer, kernels::cpu::RowGroup* groups, HeadKind* kinds) const;

  // Heads of one kind in a layer, and their store's view (cached K/V and slot positions).
  int64_t heads(int64_t layer, HeadKind kind) const { return store(layer, kind).heads(); }
  attention::CacheView view(int64_t layer, HeadKind kind) const { return store(layer, kind).view(); }
  // x [Hkv * G, C, D] over every KV head (G rows per head: G = 1 for keys, the GQA group for
  // queries) -> [H_kind * G, C, D], the rows of this kind's heads (x itself when all heads are it).
  at::Tensor gather(int64_t layer, HeadKind kind, const at::Tensor& x) const;
  // Writes part [H_kind * G, C, D] into out [Hkv * G, C, D] at this kind's heads.
  void scatter(int64_t layer, HeadKind kind, const at::Tensor& part, at::Tensor& out) const;

  int64_t length(int64_t layer) const { return layers_[static_cast<size_t>(layer)].length; }
  const HeadLayout& layout() const { return layout_; }
  int64_t head_dim() const { return head_dim_; }
  at::ScalarType dtype() const { return dtype_; }
  // Bytes of every K and V buffer allocated (capacity, not length).
  int64_t bytes() const;
  // Bytes that hold tokens (full: length, ring: min(length, slots)); what decoding reads per step.
  int64_t used_bytes() const;
  // Deep copy (a snapshot to branch from, e.g. one prompt prefix for several questions).
  SplitKVCache clone() const;

 private:
  struct Layer {
    std::array<KVStore, 2> stores;      // indexed by HeadKind
    std::array<at::Tensor, 2> indices;  // [H_kind] int64 KV head indices (undefined when H_kind is 0)
    int64_t length = 0;                 // tokens appended so far
  };
  const KVStore& store(int64_t layer, HeadKind kind) const {
    return layers_[static_cast<size_t>(layer)].stores[static_cast<size_t>(kind)];
  }

  HeadLayout layout_;
  int64_t head_dim_;
  at::ScalarType dtype_;
  std::vector<Layer> layers_;
};

}  // namespace duo::runtime
