// SplitKVCache (see kv_cache.h).
#include "runtime/kv_cache.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/error.h"

namespace duo::runtime {

namespace {

at::Tensor index_tensor(const std::vector<int64_t>& idx) {
  if (idx.empty()) return {};
  return at::tensor(idx, at::TensorOptions().dtype(at::kLong));
}

int64_t tensor_bytes(const at::Tensor& t) { return t.defined() ? t.numel() * static_cast<int64_t>(t.element_size()) : 0; }

// Copies the first `keep` slots of `old` into a fresh [H, new_size, D] buffer.
// Ring buffers start zeroed: empty slots are masked, but 0 * NaN from stale memory would not be.
at::Tensor regrow(const at::Tensor& old, int64_t h, int64_t new_size, int64_t d, at::ScalarType dtype, int64_t keep,
                  bool zero) {
  const auto opts = at::TensorOptions().dtype(dtype);
  at::Tensor t = zero ? at::zeros({h, new_size, d}, opts) : at::empty({h, new_size, d}, opts);
  if (old.defined() && keep > 0) t.narrow(1, 0, keep).copy_(old.narrow(1, 0, keep));
  return t;
}

}  // namespace

SplitKVCache::SplitKVCache(HeadLayout layout, int64_t head_dim, at::ScalarType dtype, int64_t capacity)
    : layout_(std::move(layout)), head_dim_(head_dim), dtype_(dtype), capacity_(capacity) {
  DUO_CHECK(head_dim_ > 0, "kv cache: head_dim must be > 0; got {}", head_dim_);
  DUO_CHECK(capacity_ >= 0, "kv cache: capacity must be >= 0; got {}", capacity_);
  DUO_CHECK(static_cast<int64_t>(layout_.full.size()) == layout_.n_layers &&
                static_cast<int64_t>(layout_.stream.size()) == layout_.n_layers,
            "kv cache: head layout lists {} / {} layers; expected {}", layout_.full.size(), layout_.stream.size(),
            layout_.n_layers);
  layers_.resize(static_cast<size_t>(layout_.n_layers));
  for (int64_t l = 0; l < layout_.n_layers; ++l) {
    full_idx_.push_back(index_tensor(layout_.full[static_cast<size_t>(l)]));
    stream_idx_.push_back(index_tensor(layout_.stream[static_cast<size_t>(l)]));
    if (capacity_ > 0) {
      LayerKV& c = layers_[static_cast<size_t>(l)];
      ensure_full_capacity(c, layout_.n_full(l), capacity_);
      ensure_ring_size(c, layout_.n_stream(l), capacity_);
    }
  }
}

void SplitKVCache::ensure_full_capacity(LayerKV& c, int64_t hf, int64_t needed) {
  if (hf == 0) return;
  const int64_t cap = c.full_k.defined() ? c.full_k.size(1) : 0;
  if (needed <= cap) return;
  // Preallocated caches never grow past their capacity unless asked to hold more tokens.
  const int64_t new_cap = std::max(needed, capacity_ > 0 && cap == 0 ? capacity_ : 2 * cap);
  c.full_k = regrow(c.full_k, hf, new_cap, head_dim_, dtype_, c.length, /*zero=*/false);
  c.full_v = regrow(c.full_v, hf, new_cap, head_dim_, dtype_, c.length, /*zero=*/false);
}

void SplitKVCache::ensure_ring_size(LayerKV& c, int64_t hs, int64_t needed) {
  if (hs == 0) return;
  const int64_t max_size = layout_.sink + layout_.recent;
  const int64_t size = c.ring_k.defined() ? c.ring_k.size(1) : 0;
  if (size >= max_size || needed <= size) return;
  // While fewer than sink + recent tokens exist, slot(t) == t, so a grown ring keeps its layout.
  const int64_t new_size = std::min(max_size, std::max(needed, capacity_ > 0 && size == 0 ? capacity_ : 2 * size));
  const int64_t keep = std::min(c.length, size);
  c.ring_k = regrow(c.ring_k, hs, new_size, head_dim_, dtype_, keep, /*zero=*/true);
  c.ring_v = regrow(c.ring_v, hs, new_size, head_dim_, dtype_, keep, /*zero=*/true);
  c.ring_pos.resize(static_cast<size_t>(new_size), -1);
}

void SplitKVCache::append(int64_t layer, const at::Tensor& k, const at::Tensor& v) {
  DUO_CHECK(layer >= 0 && layer < layout_.n_layers, "kv cache: layer out of range; expected 0 <= l < {}, got {}",
            layout_.n_layers, layer);
  DUO_CHECK(k.dim() == 3 && k.sizes() == v.sizes() && k.size(0) == layout_.n_kv_heads && k.size(2) == head_dim_,
            "kv cache: append expects k and v [{}, C, {}]; got k {} and v {}", layout_.n_kv_heads, head_dim_,
            k.sizes(), v.sizes());
  LayerKV& c = layers_[static_cast<size_t>(layer)];
  const int64_t n = k.size(1);
  if (n == 0) return;
  const int64_t p0 = c.length;
  const int64_t p1 = p0 + n;
  const int64_t hf = layout_.n_full(layer);
  const int64_t hs = layout_.n_stream(layer);
  const bool all_full = hs == 0;
  if (hf > 0) {
    ensure_full_capacity(c, hf, p1);
    auto kf = all_full ? k : k.index_select(0, full_idx_[static_cast<size_t>(layer)]);  // [Hf, C, D]
    auto vf = all_full ? v : v.index_select(0, full_idx_[static_cast<size_t>(layer)]);
    c.full_k.narrow(1, p0, n).copy_(kf);
    c.full_v.narrow(1, p0, n).copy_(vf);
  }
  if (hs > 0) {
    ensure_ring_size(c, hs, p1);
    const int64_t sink = layout_.sink;
    const int64_t recent = layout_.recent;
    // Tokens that survive the append: the sink tokens, and the last `recent` tokens past the sink.
    std::vector<int64_t> src;    // index within the chunk
    std::vector<int64_t> slots;  // ring slot
    for (int64_t t = p0; t < std::min(p1, sink); ++t) {
      src.push_back(t - p0);
      slots.push_back(t);
    }
    for (int64_t t = std::max({p0, sink, p1 - recent}); t < p1; ++t) {
      src.push_back(t - p0);
      slots.push_back(ring_slot(t, sink, recent));
    }
    if (!src.empty()) {
      auto src_t = at::tensor(src, at::TensorOptions().dtype(at::kLong));
      auto slot_t = at::tensor(slots, at::TensorOptions().dtype(at::kLong));
      const auto& sidx = stream_idx_[static_cast<size_t>(layer)];
      auto ks = k.index_select(0, sidx).index_select(1, src_t);  // [Hs, n_src, D]
      auto vs = v.index_select(0, sidx).index_select(1, src_t);
      c.ring_k.index_copy_(1, slot_t, ks.to(dtype_));
      c.ring_v.index_copy_(1, slot_t, vs.to(dtype_));
      for (size_t i = 0; i < slots.size(); ++i) c.ring_pos[static_cast<size_t>(slots[i])] = p0 + src[i];
    }
  }
  c.length = p1;
}

at::Tensor SplitKVCache::full_k(int64_t layer) const {
  const LayerKV& c = layers_[static_cast<size_t>(layer)];
  return c.full_k.defined() ? c.full_k.narrow(1, 0, c.length) : at::Tensor();
}

at::Tensor SplitKVCache::full_v(int64_t layer) const {
  const LayerKV& c = layers_[static_cast<size_t>(layer)];
  return c.full_v.defined() ? c.full_v.narrow(1, 0, c.length) : at::Tensor();
}

RingView SplitKVCache::ring(int64_t layer) const {
  const LayerKV& c = layers_[static_cast<size_t>(layer)];
  return RingView{c.ring_k, c.ring_v, &c.ring_pos};
}

int64_t SplitKVCache::bytes() const {
  int64_t b = 0;
  for (const auto& c : layers_) b += tensor_bytes(c.full_k) + tensor_bytes(c.full_v) + tensor_bytes(c.ring_k) + tensor_bytes(c.ring_v);
  return b;
}

int64_t SplitKVCache::used_bytes() const {
  int64_t b = 0;
  const int64_t elem = static_cast<int64_t>(c10::elementSize(dtype_));
  for (int64_t l = 0; l < layout_.n_layers; ++l) {
    const LayerKV& c = layers_[static_cast<size_t>(l)];
    const int64_t ring_tokens = std::min(c.length, layout_.sink + layout_.recent);
    b += (layout_.n_full(l) * c.length + layout_.n_stream(l) * ring_tokens) * 2 * head_dim_ * elem;
  }
  return b;
}

SplitKVCache SplitKVCache::clone() const {
  SplitKVCache out(layout_, head_dim_, dtype_, 0);
  out.capacity_ = capacity_;
  for (size_t l = 0; l < layers_.size(); ++l) {
    const LayerKV& c = layers_[l];
    LayerKV& o = out.layers_[l];
    if (c.full_k.defined()) {
      o.full_k = c.full_k.clone();
      o.full_v = c.full_v.clone();
    }
    if (c.ring_k.defined()) {
      o.ring_k = c.ring_k.clone();
      o.ring_v = c.ring_v.clone();
    }
    o.ring_pos = c.ring_pos;
    o.length = c.length;
  }
  return out;
}

}  // namespace duo::runtime
