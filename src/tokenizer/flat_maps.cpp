// StringIdMap and PairMap (see flat_maps.h). Load factor is kept at or below one half.
#include "tokenizer/flat_maps.h"

namespace duo::tokenizer {

void StringIdMap::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  if (cap <= slots_.size()) return;
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(cap, Slot{});
  size_t mask = cap - 1;
  for (const Slot& s : old) {
    if (s.id < 0) continue;
    size_t i = s.hash & mask;
    while (slots_[i].id >= 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void StringIdMap::grow() { reserve(slots_.empty() ? 8 : slots_.size()); }

void StringIdMap::set(std::string_view key, int32_t id) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  uint64_t h = hash_bytes(key);
  size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.id < 0) {
      s.hash = h;
      s.offset = static_cast<uint32_t>(arena_.size());
      s.length = static_cast<uint32_t>(key.size());
      s.id = id;
      arena_.append(key.data(), key.size());
      ++size_;
      return;
    }
    if (s.hash == h && std::string_view(arena_.data() + s.offset, s.length) == key) {
      s.id = id;
      return;
    }
  }
}

int32_t StringIdMap::find(std::string_view key) const {
  if (slots_.empty()) return -1;
  uint64_t h = hash_bytes(key);
  size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.id < 0) return -1;
    if (s.hash == h && std::string_view(arena_.data() + s.offset, s.length) == key) return s.id;
  }
}

void PairMap::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  if (cap <= slots_.size()) return;
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(cap, Slot{});
  size_t mask = cap - 1;
  for (const Slot& s : old) {
    if (s.value.rank < 0) continue;
    size_t i = mix(s.key) & mask;
    while (slots_[i].value.rank >= 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void PairMap::grow() { reserve(slots_.empty() ? 8 : slots_.size()); }

void PairMap::set_if_absent(int32_t a, int32_t b, Value v) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  uint64_t key = pack(a, b);
  size_t mask = slots_.size() - 1;
  for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.value.rank < 0) {
      s.key = key;
      s.value = v;
      ++size_;
      return;
    }
    if (s.key == key) return;
  }
}

}  // namespace duo::tokenizer
