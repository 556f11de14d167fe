// SHA-256 against the FIPS 180-4 / NIST example vectors, split updates and a file hash.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"

using duo::core::sha256_hex;

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(sha256_hex("The quick brown fox jumps over the lazy dog"),
            "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592");
}

TEST(Sha256, SplitUpdatesMatchOneShot) {
  std::string msg;
  for (int i = 0; i < 300; ++i) msg += static_cast<char>(i * 7 + 3);
  std::string expected = sha256_hex(msg);
  for (size_t step : {1u, 3u, 55u, 56u, 63u, 64u, 65u, 129u}) {
    duo::core::Sha256 h;
    for (size_t i = 0; i < msg.size(); i += step) h.update(std::string_view(msg).substr(i, step));
    EXPECT_EQ(h.hex_digest(), expected) << "step " << step;
  }
  // Lengths around the padding boundary (55, 56, 64 bytes) take the two-block path.
  EXPECT_EQ(sha256_hex(std::string(55, 'x')).size(), 64u);
  EXPECT_NE(sha256_hex(std::string(55, 'x')), sha256_hex(std::string(56, 'x')));
}

TEST(Sha256, FileHash) {
  auto path = std::filesystem::temp_directory_path() / "duo_sha256_test.txt";
  duo::core::write_file_atomic(path, "abc");
  EXPECT_EQ(duo::core::sha256_file_hex(path), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::filesystem::remove(path);
  EXPECT_THROW(duo::core::sha256_file_hex(path), duo::Error);
}
