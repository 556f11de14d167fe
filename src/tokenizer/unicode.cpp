// UTF-8, byte-level alphabet and character-class tables (see unicode.h).
#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>

namespace duo::tokenizer {
namespace {

#include "tokenizer/unicode_classes.inc"

struct ByteTables {
  std::array<uint32_t, 256> to_char{};
  std::array<std::string, 256> to_utf8;
  ByteTables() {
    // The printable bytes map to themselves; the other 68 take 256, 257, ... in byte order.
    uint32_t n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_char[b] = printable ? static_cast<uint32_t>(b) : 256 + n++;
      append_utf8(to_utf8[b], to_char[b]);
    }
  }
};

const ByteTables& byte_tables() {
  static const ByteTables t;
  return t;
}

template <size_t N>
std::vector<std::pair<uint32_t, uint32_t>> to_vector(const uint32_t (&t)[N][2]) {
  std::vector<std::pair<uint32_t, uint32_t>> v;
  v.reserve(N);
  for (const auto& r : t) v.emplace_back(r[0], r[1]);
  return v;
}

}  // namespace

uint32_t next_code_point(std::string_view s, size_t& i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  unsigned char c = p[i];
  if (c < 0x80) {
    ++i;
    return c;
  }
  size_t len = utf8_length(c);
  if (len == 1 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  uint32_t cp = len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < len; ++k) {
    if ((p[i + k] & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (p[i + k] & 0x3F);
  }
  i += len;
  return cp;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::vector<uint32_t> code_points(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) out.push_back(next_code_point(s, i));
  return out;
}

// Length of the valid UTF-8 sequence at s[i], or 0 with `bad` set to the length of the
// maximal invalid subpart (at least 1).
static size_t valid_sequence(std::string_view s, size_t i, size_t& bad) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  unsigned char c = p[i];
  bad = 1;
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    if (i + k >= s.size()) return 0;
    unsigned char d = p[i + k];
    if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) return 0;
    bad = k + 1;
  }
  return len;
}

bool is_valid_utf8(std::string_view s) {
  size_t bad = 0;
  for (size_t i = 0; i < s.size();) {
    size_t n = valid_sequence(s, i, bad);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t bad = 0;
  for (size_t i = 0; i < bytes.size();) {
    size_t n = valid_sequence(bytes, i, bad);
    if (n > 0) {
      out.append(bytes.data() + i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      i += bad;
    }
  }
  return out;
}

uint32_t byte_to_char(uint8_t b) { return byte_tables().to_char[b]; }
const std::string& byte_to_utf8(uint8_t b) { return byte_tables().to_utf8[b]; }

int char_to_byte(uint32_t cp) {
  if (cp < 256) {
    return byte_to_char(static_cast<uint8_t>(cp)) == cp ? static_cast<int>(cp) : -1;
  }
  if (cp >= 256 + 68) return -1;
  static const auto inverse = [] {
    std::array<int, 68> inv{};
    for (int b = 0; b < 256; ++b) {
      uint32_t c = byte_to_char(static_cast<uint8_t>(b));
      if (c >= 256) inv[c - 256] = b;
    }
    return inv;
  }();
  return inverse[cp - 256];
}

bool is_js_whitespace(uint32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  return in_class(CharClass::kSpace, cp);
}

std::string_view trim_end_js(std::string_view s) {
  // Walk back over whole code points.
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t i = start;
    if (!is_js_whitespace(next_code_point(s, i))) break;
    end = start;
  }
  return s.substr(0, end);
}

std::string_view trim_start_js(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    if (!is_js_whitespace(next_code_point(s, j))) break;
    i = j;
  }
  return s.substr(i);
}

const std::vector<std::pair<uint32_t, uint32_t>>& class_ranges(CharClass c) {
  static const auto letter = to_vector(kClassLetter);
  static const auto number = to_vector(kClassNumber);
  static const auto space = to_vector(kClassSpace);
  return c == CharClass::kLetter ? letter : c == CharClass::kNumber ? number : space;
}

bool in_class(CharClass c, uint32_t cp) {
  const auto& r = class_ranges(c);
  auto it = std::upper_bound(r.begin(), r.end(), cp,
                             [](uint32_t v, const std::pair<uint32_t, uint32_t>& x) { return v < x.first; });
  return it != r.begin() && cp <= std::prev(it)->second;
}

}  // namespace duo::tokenizer
