// Unicode helpers for the tokenizer: UTF-8 decoding and encoding, the GPT-2 byte <-> character
// map of byte-level BPE, whitespace as the JavaScript reference defines it, and the code point
// ranges of \p{L}, \p{N} and \s that the regex translation (regex.h) splices into patterns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace duo::tokenizer {

// Decodes the code point starting at s[i] and advances i past it. Invalid or truncated
// sequences decode as U+FFFD and advance one byte (inputs are expected to be valid UTF-8).
uint32_t next_code_point(std::string_view s, size_t& i);
// Byte length of the UTF-8 sequence whose lead byte is `lead` (1 for stray continuation bytes).
inline size_t utf8_length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? (lead >= 0xC0 ? 2 : 1) : lead < 0xF0 ? 3 : 4;
}
// Appends the UTF-8 encoding of `cp` to `out`.
void append_utf8(std::string& out, uint32_t cp);
// Code points of `s`, in order.
std::vector<uint32_t> code_points(std::string_view s);
// True when `s` is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view s);
// Replaces every invalid UTF-8 sequence with U+FFFD, one per maximal invalid subpart (as
// Rust's String::from_utf8_lossy does).
std::string utf8_lossy(std::string_view bytes);

// GPT-2 byte-level alphabet: byte b <-> a printable code point (b itself for most printable
// bytes, 256 + n for the rest).
uint32_t byte_to_char(uint8_t b);
// UTF-8 text of byte_to_char(b), for every byte: a table of 256 short strings.
const std::string& byte_to_utf8(uint8_t b);
// The byte a byte-level character stands for, or -1 when `cp` is not in the alphabet.
int char_to_byte(uint32_t cp);

// Whitespace as JavaScript's \s and String.trim see it (the reference's definition).
bool is_js_whitespace(uint32_t cp);
// Trims JS whitespace at the end / start of s.
std::string_view trim_end_js(std::string_view s);
std::string_view trim_start_js(std::string_view s);

// The code point ranges the reference's /\p{L}/u, /\p{N}/u and /\s/u match.
enum class CharClass { kLetter, kNumber, kSpace };
const std::vector<std::pair<uint32_t, uint32_t>>& class_ranges(CharClass c);
bool in_class(CharClass c, uint32_t cp);

}  // namespace duo::tokenizer
