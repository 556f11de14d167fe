// SHA-256 (FIPS 180-4), small and dependency-free: used to fingerprint the tokenizer.json a
// dataset was generated with, so a trainer can refuse a dataset made for another vocabulary.
//
//   duo::core::Sha256 h; h.update(bytes); h.update(more); std::string hex = h.hex_digest();
//   duo::core::sha256_hex(bytes)        // one shot
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace duo::core {

class Sha256 {
 public:
  Sha256();
  // Feeds more bytes; may be called any number of times before digest().
  void update(std::string_view bytes);
  // Finishes the hash (the object is then spent; call reset() to reuse it).
  std::array<uint8_t, 32> digest();
  // digest() as 64 lowercase hex characters.
  std::string hex_digest();
  void reset();

 private:
  void compress(const uint8_t* block);  // one 64-byte block
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_;
  size_t buffered_ = 0;      // bytes waiting in buffer_
  uint64_t total_bytes_ = 0;  // message length so far
};

// SHA-256 of `bytes` as lowercase hex.
std::string sha256_hex(std::string_view bytes);
// SHA-256 of a whole file's bytes as lowercase hex; throws duo::Error naming the file.
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace duo::core
