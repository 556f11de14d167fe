// Two small open-addressing hash maps for the hot paths of encoding: vocabulary lookups by
// string_view without allocating (StringIdMap) and BPE merge lookups by id pair (PairMap).
// Both are built once at load time and only read afterwards, so concurrent lookups are safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace duo::tokenizer {

inline uint64_t hash_bytes(std::string_view s) {
  // FNV-1a, then a final avalanche so the low bits used for the slot are well mixed.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

// string -> int32 id. Keys live in one arena.
class StringIdMap {
 public:
  void reserve(size_t n);
  // Inserts or overwrites.
  void set(std::string_view key, int32_t id);
  // The id of `key`, or -1.
  int32_t find(std::string_view key) const;
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t offset = 0;
    uint32_t length = 0;
    int32_t id = -1;  // -1: empty
  };
  void grow();
  std::vector<Slot> slots_;
  std::string arena_;
  size_t size_ = 0;
};

// (left id, right id) -> (merge rank, merged id).
class PairMap {
 public:
  struct Value {
    int32_t rank = -1;  // -1: absent
    int32_t id = -1;
  };
  void reserve(size_t n);
  // Keeps the first value set for a pair (the lowest rank when merges are added in order).
  void set_if_absent(int32_t a, int32_t b, Value v);
  Value find(int32_t a, int32_t b) const {
    if (slots_.empty()) return {};
    uint64_t key = pack(a, b);
    size_t mask = slots_.size() - 1;
    for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.value.rank < 0) return {};
      if (s.key == key) return s.value;
    }
  }

 private:
  struct Slot {
    uint64_t key = 0;
    Value value;
  };
  static uint64_t pack(int32_t a, int32_t b) {
    return (uint64_t{static_cast<uint32_t>(a)} << 32) | static_cast<uint32_t>(b);
  }
  static uint64_t mix(uint64_t k) {
    k ^= k >> 31;
    k *= 0x9e3779b97f4a7c15ull;
    k ^= k >> 29;
    return k;
  }
  void grow();
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace duo::tokenizer
