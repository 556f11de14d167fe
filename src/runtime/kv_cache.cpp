// KVStore and SplitKVCache (see kv_cache.h).
#include "runtime/kv_cache.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/error.h"

namespace duo::runtime {

namespace {

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

at::Tensor index_tensor(const std::vector<int64_t>& idx) {
  if (idx.empty()) return {};
  return at::tensor(idx, at::TensorOptions().dtype(at::kLong));
}

}  // namespace

// ---- KVStore ----

KVStore::KVStore(int64_t heads, int64_t head_dim, at::ScalarType dtype, int64_t capacity,
                 std::optional<StreamWindow> ring)
    : heads_(heads), head_dim_(head_dim), capacity_(capacity), dtype_(dtype), ring_(ring) {
  if (capacity_ > 0) reserve(capacity_);
}

void KVStore::reserve(int64_t tokens) {
  if (heads_ == 0) return;
  const int64_t size = k_.defined() ? k_.size(1) : 0;
  // Preallocated stores never grow past their capacity unless asked to hold more tokens.
  const int64_t grown = std::max(tokens, capacity_ > 0 && size == 0 ? capacity_ : 2 * size);
  if (ring_) {
    // While fewer than slots() tokens exist, slot(t) == t, so a grown ring keeps its layout.
    const int64_t slots = ring_->slots();
    if (size >= slots || tokens <= size) return;
    const int64_t new_size = std::min(slots, grown);
    const int64_t keep = std::min(length_, size);
    k_ = regrow(k_, heads_, new_size, head_dim_, dtype_, keep, /*zero=*/true);
    v_ = regrow(v_, heads_, new_size, head_dim_, dtype_, keep, /*zero=*/true);
    at::Tensor pos = at::full({new_size}, -1, at::TensorOptions().dtype(at::kLong));
    if (keep > 0) pos.narrow(0, 0, keep).copy_(pos_.narrow(0, 0, keep));
    pos_ = pos;
    return;
  }
  if (tokens <= size) return;
  k_ = regrow(k_, heads_, grown, head_dim_, dtype_, length_, /*zero=*/false);
  v_ = regrow(v_, heads_, grown, head_dim_, dtype_, length_, /*zero=*/false);
  pos_ = at::arange(grown, at::TensorOptions().dtype(at::kLong));
}

void KVStore::append(const at::Tensor& k, const at::Tensor& v) {
  const int64_t n = k.size(1), p0 = length_, p1 = p0 + n;
  if (heads_ > 0 && n > 0) {
    reserve(p1);
    if (!ring_) {
      k_.narrow(1, p0, n).copy_(k);
      v_.narrow(1, p0, n).copy_(v);
    } else {
      const StreamWindow w = *ring_;
      // Tokens that survive the append: the sink tokens, and the last `recent` tokens past the sink.
      std::vector<int64_t> src;    // index within the chunk
      std::vector<int64_t> slots;  // ring slot
      for (int64_t t = p0; t < std::min(p1, w.sink); ++t) {
        src.push_back(t - p0);
        slots.push_back(t);
      }
      for (int64_t t = std::max({p0, w.sink, p1 - w.recent}); t < p1; ++t) {
        src.push_back(t - p0);
        slots.push_back(w.ring_slot(t));
      }
      if (!src.empty()) {
        const auto src_t = at::tensor(src, at::TensorOptions().dtype(at::kLong));
        const auto slot_t = at::tensor(slots, at::TensorOptions().dtype(at::kLong));
        k_.index_copy_(1, slot_t, k.index_select(1, src_t).to(dtype_));
        v_.index_copy_(1, slot_t, v.index_select(1, src_t).to(dtype_));
        int64_t* pos = pos_.data_ptr<int64_t>();
        for (size_t i = 0; i < slots.size(); ++i) pos[slots[i]] = p0 + src[i];
      }
    }
  }
  length_ = p1;
}

void KVStore::append_row(const float* k, const float* v, const std::vector<int64_t>& kv_heads) {
  const int64_t t = length_;
  if (heads_ > 0) {
    DUO_ASSERT(static_cast<int64_t>(kv_heads.size()) == heads_);
    reserve(t + 1);
    const int64_t slot = ring_ ? ring_->ring_slot(t) : t;  // one token always survives in a ring
    const int64_t d = head_dim_, stride = k_.size(1) * d;
    auto write = [&](at::Tensor& dst, const float* src) {
      for (int64_t i = 0; i < heads_; ++i) {
        const float* row = src + kv_heads[static_cast<size_t>(i)] * d;
        const int64_t off = i * stride + slot * d;
        if (dtype_ == at::kFloat) {
          std::copy(row, row + d, dst.data_ptr<float>() + off);
        } else if (dtype_ == at::kBFloat16) {
          at::BFloat16* out = dst.data_ptr<at::BFloat16>() + off;
          for (int64_t c = 0; c < d; ++c) out[c] = at::BFloat16(row[c]);
        } else {
          DUO_CHECK(dtype_ == at::kHalf, "kv cache: one-token append to a {} store; expected fp32, bf16 or f16",
                    c10::toString(dtype_));
          at::Half* out = dst.data_ptr<at::Half>() + off;
          for (int64_t c = 0; c < d; ++c) out[c] = at::Half(row[c]);
        }
      }
    };
    write(k_, k);
    write(v_, v);
    if (ring_) pos_.data_ptr<int64_t>()[slot] = t;
  }
  length_ = t + 1;
}

kernels::cpu::RowGroup KVStore::row_group() const {
  kernels::cpu::RowGroup g;
  if (heads_ == 0 || !k_.defined()) return g;
  g.k = k_.data_ptr();
  g.v = v_.data_ptr();
  g.type = dtype_ == at::kFloat      ? kernels::cpu::RowType::kF32
           : dtype_ == at::kBFloat16 ? kernels::cpu::RowType::kBF16
                                     : kernels::cpu::RowType::kF16;
  g.heads = heads_;
  g.slots = ring_ ? k_.size(1) : length_;  // a ring: every allocated slot (empty ones at -1)
  g.head_stride = k_.size(1) * head_dim_;
  g.pos = pos_.data_ptr<int64_t>();
  g.contiguous = !ring_;  // the full store's slot j is token j
  return g;
}

attention::CacheView KVStore::view() const {
  if (!k_.defined()) return {};
  if (ring_) return {k_, v_, pos_};  // the ring as allocated, slots in slot order
  return {k_.narrow(1, 0, length_), v_.narrow(1, 0, length_), pos_.narrow(0, 0, length_)};
}

int64_t KVStore::bytes() const { return tensor_bytes(k_) + tensor_bytes(v_); }

int64_t KVStore::used_bytes() const {
  const int64_t tokens = ring_ ? std::min(length_, ring_->slots()) : length_;
  return heads_ * tokens * 2 * head_dim_ * static_cast<int64_t>(c10::elementSize(dtype_));
}

KVStore KVStore::clone() const {
  KVStore out(heads_, head_dim_, dtype_, 0, ring_);
  out.capacity_ = capacity_;
  out.length_ = length_;
  if (k_.defined()) {
    out.k_ = k_.clone();
    out.v_ = v_.clone();
    out.pos_ = pos_.clone();
  }
  return out;
}

// ---- SplitKVCache ----

SplitKVCache::SplitKVCache(HeadLayout layout, int64_t head_dim, at::ScalarType dtype, int64_t capacity)
    : layout_(std::move(layout)), head_dim_(head_dim), dtype_(dtype) {
  DUO_CHECK(head_dim_ > 0, "kv cache: head_dim must be > 0; got {}", head_dim_);
  DUO_CHECK(capacity >= 0, "kv cache: capacity must be >= 0; got {}", capacity);
  DUO_CHECK(static_cast<int64_t>(layout_.full.size()) == layout_.n_layers &&
                static_cast<int64_t>(layout_.stream.size()) == layout_.n_layers,
            "kv cache: head layout lists {} / {} layers; expected {}", layout_.full.size(), layout_.stream.size(),
            layout_.n_layers);
  layers_.resize(static_cast<size_t>(layout_.n_layers));
  for (int64_t l = 0; l < layout_.n_layers; ++l) {
    Layer& c = layers_[static_cast<size_t>(l)];
    const auto& full = layout_.full[static_cast<size_t>(l)];
    const auto& stream = layout_.stream[static_cast<size_t>(l)];
    c.indices[static_cast<size_t>(HeadKind::kFull)] = index_tensor(full);
    c.indices[static_cast<size_t>(HeadKind::kStreaming)] = index_tensor(stream);
    c.stores[static_cast<size_t>(HeadKind::kFull)] =
        KVStore(static_cast<int64_t>(full.size()), head_dim_, dtype_, capacity, std::nullopt);
    c.stores[static_cast<size_t>(HeadKind::kStreaming)] =
        KVStore(static_cast<int64_t>(stream.size()), head_dim_, dtype_, capacity, layout_.window);
  }
}

at::Tensor SplitKVCache::gather(int64_t layer, HeadKind kind, const at::Tensor& x) const {
  const int64_t h = heads(layer, kind), hkv = layout_.n_kv_heads;
  if (h == hkv) return x;
  if (h == 0) return x.narrow(0, 0, 0);  // [0, C, D]: an empty store still counts the tokens
  const int64_t g = x.size(0) / hkv, c = x.size(1), d = x.size(2);
  const at::Tensor& idx = layers_[static_cast<size_t>(layer)].indices[static_cast<size_t>(kind)];
  return x.view({hkv, g, c, d}).index_select(0, idx).reshape({h * g, c, d});
}

void SplitKVCache::scatter(int64_t layer, HeadKind kind, const at::Tensor& part, at::Tensor& out) const {
  const int64_t h = heads(layer, kind), hkv = layout_.n_kv_heads;
  const int64_t g = out.size(0) / hkv, c = out.size(1), d = out.size(2);
  const at::Tensor& idx = layers_[static_cast<size_t>(layer)].indices[static_cast<size_t>(kind)];
  out.view({hkv, g, c, d}).index_copy_(0, idx, part.view({h, g, c, d}));
}

void SplitKVCache::append(int64_t layer, const at::Tensor& k, const at::Tensor& v) {
  DUO_CHECK(layer >= 0 && layer < layout_.n_layers, "kv cache: layer out of range; expected 0 <= l < {}, got {}",
            layout_.n_layers, layer);
  DUO_CHECK(k.dim() == 3 && k.sizes() == v.sizes() && k.size(0) == layout_.n_kv_heads && k.size(2) == head_dim_,
            "kv cache: append expects k and v [{}, C, {}]; got k {} and v {}", layout_.n_kv_heads, head_dim_,
            k.sizes(), v.sizes());
  Layer& c = layers_[static_cast<size_t>(layer)];
  for (HeadKind kind : attention::kHeadKinds) {
    c.stores[static_cast<size_t>(kind)].append(gather(layer, kind, k), gather(layer, kind, v));
  }
  c.length += k.size(1);
}

void SplitKVCache::append_row(int64_t layer, const float* k, const float* v) {
  DUO_ASSERT(layer >= 0 && layer < layout_.n_layers);
  Layer& c = layers_[static_cast<size_t>(layer)];
  c.stores[static_cast<size_t>(HeadKind::kFull)].append_row(k, v, layout_.full[static_cast<size_t>(layer)]);
  c.stores[static_cast<size_t>(HeadKind::kStreaming)].append_row(k, v, layout_.stream[static_cast<size_t>(layer)]);
  c.length += 1;
}

int64_t SplitKVCache::row_groups(int64_t layer, kernels::cpu::RowGroup* groups, HeadKind* kinds) const {
  int64_t n = 0;
  for (HeadKind kind : attention::kHeadKinds) {
    const KVStore& s = store(layer, kind);
    if (s.heads() == 0) continue;
    groups[n] = s.row_group();
    const auto& heads = kind == HeadKind::kFull ? layout_.full : layout_.stream;
    groups[n].kv_heads = heads[static_cast<size_t>(layer)].data();
    kinds[n++] = kind;
  }
  return n;
}

int64_t SplitKVCache::bytes() const {
  int64_t b = 0;
  for (const auto& c : layers_)
    for (const auto& s : c.stores) b += s.bytes();
  return b;
}

int64_t SplitKVCache::used_bytes() const {
  int64_t b = 0;
  for (const auto& c : layers_)
    for (const auto& s : c.stores) b += s.used_bytes();
  return b;
}

SplitKVCache SplitKVCache::clone() const {
  SplitKVCache out(layout_, head_dim_, dtype_, 0);
  for (size_t l = 0; l < layers_.size(); ++l) {
    for (size_t kind = 0; kind < 2; ++kind) out.layers_[l].stores[kind] = layers_[l].stores[kind].clone();
    out.layers_[l].length = layers_[l].length;
  }
  return out;
}

}  // namespace duo::runtime
