// tokenizer.json normalizers: Sequence, Prepend, Replace, NFC. Anything else fails to load
// with a message naming it.
#pragma once

#include "tokenizer/json_fields.h"

#include <memory>
#include <string>

namespace duo::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual std::string normalize(std::string s) const = 0;
};

// The normalizer described by `j` (a JSON object with "type"); `where` names it in errors.
std::unique_ptr<Normalizer> make_normalizer(const Json& j, const std::string& where);

}  // namespace duo::tokenizer
