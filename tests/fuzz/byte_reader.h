// Reads typed values off a fuzz input, front to back; past the end every read gives 0. The
// structured targets (targets_items.cpp) decode their inputs with it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace duo::fuzz {

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}

  uint8_t byte() { return p_ < end_ ? *p_++ : 0; }
  bool bit() { return (byte() & 1) != 0; }
  // A small signed value: one byte as int8 (-128..127).
  int64_t small() { return static_cast<int8_t>(byte()); }
  // Raw little-endian bytes of T (zero-filled past the end).
  template <class T>
  T raw() {
    unsigned char buf[sizeof(T)] = {};
    for (auto& b : buf) b = byte();
    T v;
    std::memcpy(&v, buf, sizeof v);
    return v;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace duo::fuzz
