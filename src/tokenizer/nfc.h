// Unicode Normalization Form C (canonical decomposition, then canonical composition), as the
// NFC normalizer of tokenizer.json needs it. Tables come from nfc_tables.inc (generated from
// Python's unicodedata); Hangul syllables are handled algorithmically.
#pragma once

#include <string>
#include <string_view>

namespace duo::tokenizer {

// NFC of the UTF-8 text `s`. ASCII runs are copied through untouched.
std::string nfc(std::string_view s);

}  // namespace duo::tokenizer
