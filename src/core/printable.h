// Text from a user's file made safe to quote in an error message: a corrupt header or TSV must not
// write raw control bytes or broken UTF-8 to the terminal. printable() keeps printable ASCII and
// valid UTF-8 (so "café" stays "café") and writes everything else as \xNN, byte by byte:
//   printable("ab\xff\x1b[2J") == "ab\\xff\\x1b[2J"
// Backslashes are kept as they are, so printable(printable(s)) == printable(s): main() escapes
// every error message once more before printing it, and library code escapes what it quotes.
// Header-only: the tokenizer library, which does not link duo_core, uses it too.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace duo::core {

// `keep_newlines`: leave '\n' as it is (for messages that are several lines on purpose).
inline std::string printable(std::string_view s, bool keep_newlines = false);

// The byte offset of the first invalid UTF-8 sequence in `s`, or s.size() when it is all valid
// (overlong forms, surrogates and code points past U+10FFFF are invalid).
inline size_t first_invalid_utf8(std::string_view s);
// How many bytes of `s` are not part of a valid UTF-8 sequence (each would decode to U+FFFD).
inline size_t count_invalid_utf8(std::string_view s);

namespace printable_detail {

// Length of the valid UTF-8 sequence starting at s[i] (2..4), or 0 when it is not one.
inline size_t utf8_sequence(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  size_t n = 0;
  uint32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF) return 0;  // overlong, too large
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;                                        // surrogates
  return n;
}

}  // namespace printable_detail

inline size_t first_invalid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = printable_detail::utf8_sequence(s, i);
    if (n == 0) return i;
    i += n;
  }
  return s.size();
}

inline size_t count_invalid_utf8(std::string_view s) {
  size_t bad = 0, i = 0;
  while (i < s.size()) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = printable_detail::utf8_sequence(s, i);
    bad += n == 0;
    i += n == 0 ? 1 : n;
  }
  return bad;
}

inline std::string printable(std::string_view s, bool keep_newlines) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  auto escape = [&](uint8_t c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  };
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      if ((c >= 0x20 && c < 0x7F) || (keep_newlines && c == '\n')) {
        out += static_cast<char>(c);
      } else {
        escape(c);
      }
      ++i;
      continue;
    }
    const size_t n = printable_detail::utf8_sequence(s, i);
    // C1 controls (U+0080..U+009F, encoded C2 80..C2 9F) act on terminals like ESC: escape them too.
    if (n == 0 || (n == 2 && c == 0xC2 && static_cast<uint8_t>(s[i + 1]) < 0xA0)) {
      escape(c);
      ++i;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace duo::core
